"""Throughput of ``python -m jpegai_fd.cli.predict`` with the DCT encoder, and where the time goes.

Trains one small job (synthetic demo faces at --size px, rf on --preprocess, tiny tuning) into a
temporary folder, then scores --images images (the demo's test images, repeated) twice:

* end to end: the real command line in a subprocess (model loading reported apart from scoring);
* by stage, in process, on the same model: decoding files, encoding (DCT + per-image rate search),
  features, the estimator's predict_proba, the decision rule.

    python benchmarks/bench_predict.py [--size 256] [--images 256] [--batch-size 32] [--preprocess flatten]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def train(tmp: Path, size: int, preprocess: str) -> str:
    """Run one tiny job at ``size`` px; returns its run id."""
    args = [
        "debug=tiny",
        f"dataset.image_size={size}",
        f"preprocess={preprocess}",
        f"paths.data_dir={tmp}/data",
        f"paths.cache={tmp}/cache.zarr",
        f"tracking.uri=sqlite:///{tmp}/mlflow.db",
        f"hydra.run.dir={tmp}/run",
    ]
    proc = subprocess.run([sys.executable, "-m", "jpegai_fd", *args], cwd=tmp, capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"training failed:\n{proc.stderr[-3000:]}")
    return json.loads((tmp / "run" / "results.json").read_text())["run_id"]


def image_files(tmp: Path, n: int) -> list[Path]:
    """``n`` files: the demo's test images copied round-robin into one folder."""
    source = sorted((tmp / "data").rglob("test/*/*.*"))
    folder = tmp / "incoming"
    folder.mkdir()
    out = []
    for i in range(n):
        src = source[i % len(source)]
        out.append(folder / f"{i:05d}{src.suffix}")
        shutil.copyfile(src, out[-1])
    return out


def end_to_end(tmp: Path, uri: str, folder: Path, batch: int) -> dict:
    start = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "jpegai_fd.cli.predict",
            "--tracking-uri",
            f"sqlite:///{tmp}/mlflow.db",
            "--model",
            uri,
            str(folder),
            "--out",
            str(tmp / "p.csv"),
            "--batch-size",
            str(batch),
        ],
        cwd=tmp,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    if proc.returncode:
        sys.exit(f"predict failed:\n{proc.stderr[-3000:]}")
    line = proc.stdout.strip().splitlines()[-1]
    m = re.search(r"predicted (\d+) images in ([\d.]+)s \(([\d.]+) img/s, model loaded in ([\d.]+)s", line)
    return {
        "process_wall_s": wall,
        "images": int(m[1]),
        "scoring_s": float(m[2]),
        "img_per_s": float(m[3]),
        "model_load_s": float(m[4]),
        "summary": line,
    }


def by_stage(tmp: Path, uri: str, files: list[Path], batch: int) -> dict:
    import mlflow

    from jpegai_fd.features import COMPONENT_ARRAYS
    from jpegai_fd.model.detector import _memory_array

    mlflow.set_tracking_uri(f"sqlite:///{tmp}/mlflow.db")
    predictor = mlflow.pyfunc.load_model(uri).unwrap_python_model().predictor
    d = predictor.detector
    t = dict.fromkeys(("read_s", "encode_s", "features_s", "predict_proba_s", "decision_s"), 0.0)
    for start in range(0, len(files), batch):
        c0 = time.perf_counter()
        images = np.stack([predictor.read(p)[0] for p in files[start : start + batch]])
        c1 = time.perf_counter()
        latents = predictor.encoder.encode(images, d.bpp)[d.latent]
        c2 = time.perf_counter()
        arrays = [_memory_array(np.asarray(latents[k], dtype=np.float32)) for k in COMPONENT_ARRAYS[d.component]]
        fs = predictor.preprocess.features(arrays, np.zeros(len(images), dtype=np.int8), None, False)
        c3 = time.perf_counter()
        p_real = d.estimator.predict_proba(fs.X)[:, predictor._real_col]  # noqa: SLF001  (stage timed alone)
        c4 = time.perf_counter()
        d.decision.apply(p_real, fs.groups, fs.n_images)
        c5 = time.perf_counter()
        for key, a, b in zip(t, (c0, c1, c2, c3, c4), (c1, c2, c3, c4, c5)):
            t[key] += b - a
    total = sum(t.values())
    return {
        **t,
        "total_s": total,
        "img_per_s": len(files) / total,
        "shares": {k: round(v / total, 3) for k, v in t.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--preprocess", default="flatten")
    args = parser.parse_args()
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    tmp = Path(tempfile.mkdtemp(prefix="bench_predict_"))
    try:
        uri = f"runs:/{train(tmp, args.size, args.preprocess)}/model"
        files = image_files(tmp, args.images)
        result = {
            "size": args.size,
            "preprocess": args.preprocess,
            "batch_size": args.batch_size,
            "cpus": os.cpu_count(),
            "end_to_end": end_to_end(tmp, uri, files[0].parent, args.batch_size),
            "in_process": by_stage(tmp, uri, files, args.batch_size),
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
