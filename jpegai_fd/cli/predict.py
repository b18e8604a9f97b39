"""Scores image files (PATH: files or folders, recursive, sorted) with a trained detector (URI:
``runs:/<run_id>/model``, ``models:/<name>@<alias>`` or a model folder). Writes ``path,p_fake,label,status``
per file (status ``ok`` or why it was skipped: a bad image never stops it) and prints one summary line.
``--encoder KEY=VALUE`` replaces a recorded encoder key; a fingerprint that no longer matches is refused."""

import argparse
import csv
import logging
import os
import sys
import time
from collections import Counter
from pathlib import Path

import yaml

from jpegai_fd.errors import UserError
from jpegai_fd.progress import progress
from jpegai_fd.tracking.connection import add_tracking_uri, check_tracking_uri

log = logging.getLogger("jpegai_fd.cli.predict")
COLUMNS = ("path", "p_fake", "label", "status")


def list_images(paths: list[str]) -> list[Path]:
    """The files named and every file under the folders named (sorted); non-images too (they get a skip reason)."""
    out: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*") if not p.is_dir() and not p.name.startswith(".")))
        elif path.exists() or path.is_symlink():
            out.append(path)
        else:
            raise UserError(f"PATH '{name}' does not exist; give image files or folders")
    return out


def parse_overrides(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UserError(f"invalid --encoder {item!r}; use KEY=VALUE, e.g. --encoder root=/opt/jpegai")
        out[key] = yaml.safe_load(value)
    return out


def load_model(uri: str, encoder_overrides: dict):
    """The pyfunc model at ``uri``; its Predictor (the fingerprint check) runs here, before any image."""
    import mlflow.pyfunc
    from mlflow.exceptions import MlflowException

    try:
        return mlflow.pyfunc.load_model(uri, model_config={"encoder": encoder_overrides} if encoder_overrides else None)
    except MlflowException as exc:
        raise UserError(
            f"cannot load model '{uri}': {str(exc).splitlines()[0]}; use runs:/<run_id>/model, "
            f"models:/<name>@<alias> or a model folder (--tracking-uri names the store that holds it)"
        ) from exc


def predict_files(model, files: list[Path], out: Path, batch_size: int) -> dict[str, int]:
    """Score ``files`` in batches, writing each batch's rows to ``out`` as it is done; returns status counts."""
    import pandas as pd

    counts: Counter[str] = Counter()
    with progress("predict", len(files), "img", log) as bar, open(out, "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        for start in range(0, len(files), batch_size):
            batch = [str(p) for p in files[start : start + batch_size]]
            result = model.predict(pd.DataFrame({"path": batch}))
            for path, p, label, status in zip(batch, result["p_fake"], result["label"], result["status"]):
                writer.writerow((path, "" if p is None else f"{p:.6f}", label, status))
                counts[label if status == "ok" else status.split(":")[0]] += 1
            handle.flush()
            bar.update(len(batch))
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jpegai_fd.cli.predict", description=__doc__)
    add = parser.add_argument
    add("--model", required=True, help="runs:/<run_id>/model, models:/<name>@<alias> or a folder")
    add("paths", nargs="+", metavar="PATH", help="image files or folders (recursive)")
    add("--out", default="predictions.csv", help="CSV to write (default: predictions.csv)")
    add("--batch-size", type=int, default=32, help="images encoded together (default: 32)")
    encoder_help = "replace a recorded encoder key, e.g. root=/opt/jpegai (repeatable)"
    add("--encoder", action="append", default=[], metavar="KEY=VALUE", help=encoder_help)
    uri_help = "store of runs:/ and models:/ URIs (default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db)"
    add_tracking_uri(parser, uri_help)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s][%(levelname)s] - %(message)s")
    for name in ("mlflow", "alembic", "urllib3"):
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        if args.batch_size < 1:
            raise UserError(f"invalid --batch-size {args.batch_size}; it must be an integer >= 1")
        files = list_images(args.paths)
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        import mlflow

        mlflow.set_tracking_uri(args.tracking_uri)
        if args.model.startswith(("runs:/", "models:/")):
            check_tracking_uri(args.tracking_uri)  # a server that does not answer: one line, before any work
        start = time.perf_counter()
        model = load_model(args.model, parse_overrides(args.encoder))
        loaded = time.perf_counter()
        try:
            counts = predict_files(model, files, Path(args.out), args.batch_size)
        finally:  # the JPEG AI encoder's worker processes end with it
            model.unwrap_python_model().predictor.close()
    except UserError as exc:
        print(f"jpegai_fd.cli.predict: error: {exc}", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - loaded
    skipped = {k: v for k, v in sorted(counts.items()) if k not in ("fake", "real")}
    why = f" ({', '.join(f'{v} {k}' for k, v in skipped.items())})" if skipped else ""
    print(
        f"predicted {len(files)} images in {seconds:.1f}s ({len(files) / max(seconds, 1e-9):.1f} img/s, model "
        f"loaded in {loaded - start:.1f}s): {counts['fake']} fake, {counts['real']} real, "
        f"{sum(skipped.values())} skipped{why} -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
