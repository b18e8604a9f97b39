"""Beyond the training distribution, measured through the real main command: the demo's 3x3
cross-generator table and the robustness curves (every standard condition, two other rates) of the
default detector.

    python benchmarks/bench_beyond.py                  # default demo size (256 px, 150/25/50 per class)
    python benchmarks/bench_beyond.py --tiny           # toy size (debug=tiny), a quick check of the script

1. ``python -m jpegai_fd -m dataset.generator=transposed_conv,bilinear_noise,diffusion`` with the three
   generators' demo sets as extra test sets (``'+dataset@eval.<g>=synthetic' eval.<g>.generator=<g>``):
   3 jobs, each scored on every generator's test split (its own is its test split).
2. ``python -m jpegai_fd +robustness=standard eval_bpp=[6,25]``: the default detector (demo generator
   ``legacy``) under the 17 standard perturbations and at two other rates.

Prints Markdown tables (accuracy at the validation-chosen cut / ROC AUC, bootstrap 95% intervals)
and writes them with the raw metrics to benchmarks/results/beyond.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_common import RESULTS

GENERATORS = ("transposed_conv", "bilinear_noise", "diffusion")


def cli(folder: Path, args: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "jpegai_fd", *args], cwd=folder, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"command failed ({proc.returncode}): {' '.join(args)}\n{proc.stderr[-3000:]}")
    return time.perf_counter() - start


def size_overrides(prefix: str, size: int | None, per_class: list[int] | None) -> list[str]:
    out = [f"{prefix}.image_size={size}"] if size else []
    if per_class:
        out += [f"{prefix}.num_per_class.{s}={n}" for s, n in zip(("train", "valid", "test"), per_class)]
    return out


def cell(m: dict, prefix: str, name: str) -> str:
    value = m.get(f"{prefix}/{name}")
    if value is None:
        return "-"
    low, high = m.get(f"{prefix}/{name}_ci_low"), m.get(f"{prefix}/{name}_ci_high")
    return f"{value:.3f}" + (f" [{low:.2f}, {high:.2f}]" if low is not None else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="debug=tiny (64 px, 12/6/6 per class)")
    parser.add_argument("--size", type=int, default=None, help="dataset.image_size (default: the demo's 256)")
    parser.add_argument("--per-class", type=int, nargs=3, default=None, metavar=("TRAIN", "VALID", "TEST"))
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--extra", nargs="*", default=[], help="more overrides for both commands")
    args = parser.parse_args()
    size = args.size or (64 if args.tiny else None)
    per_class = args.per_class or ([12, 6, 6] if args.tiny else None)
    folder = args.workdir or Path(tempfile.mkdtemp(prefix="bench_beyond_"))
    folder.mkdir(parents=True, exist_ok=True)
    base = [*(["debug=tiny"] if args.tiny else []), *size_overrides("dataset", size, per_class), *args.extra]
    sets = []
    for g in GENERATORS:  # the same sizes as the training set, so eval.<g> of job <g> is its own test split
        sets += [
            f"+dataset@eval.{g}=synthetic",
            f"eval.{g}.generator={g}",
            *size_overrides(f"eval.{g}", size, per_class),
        ]
    cross_s = cli(
        folder,
        ["-m", f"dataset.generator={','.join(GENERATORS)}", *base, *sets, f"hydra.sweep.dir={folder}/cross"],
    )
    robust_s = cli(folder, [*base, "+robustness=standard", "eval_bpp=[6,25]", f"hydra.run.dir={folder}/robust"])

    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{folder}/mlflow.db")
    exp = client.get_experiment_by_name("jpegai_fd")
    runs = client.search_runs(
        [exp.experiment_id], "tags.`jpegai_fd.role` = 'job'", order_by=["attributes.start_time ASC"]
    )
    cross = {r.data.params["dataset.generator"]: r.data.metrics for r in runs[:3]}
    robust = runs[3].data.metrics
    lines = ["Cross-generator (rows: trained on; columns: tested on): accuracy at the valid cut / ROC AUC", ""]
    lines += ["| trained on | " + " | ".join(GENERATORS) + " |", "|---|" + "---|" * len(GENERATORS)]
    for g in GENERATORS:
        m = cross[g]
        lines.append(
            f"| {g} | "
            + " | ".join(f"{m[f'eval/{t}/accuracy_at_valid']:.3f} / {m[f'eval/{t}/roc_auc']:.3f}" for t in GENERATORS)
            + " |"
        )
    import yaml

    names = list(
        yaml.safe_load((Path(__file__).parent.parent / "conf/robustness/standard.yaml").read_text())["conditions"]
    )
    lines += ["", "Default detector under each condition and rate", "", "| set | accuracy | ROC AUC |", "|---|---|---|"]
    lines.append(
        f"| test (clean, bpp=12) | {cell(robust, 'test', 'accuracy_at_valid')} | {cell(robust, 'test', 'roc_auc')} |"
    )
    for prefix in [f"robust/{n}" for n in names] + ["rate/6", "rate/25"]:
        lines.append(f"| {prefix} | {cell(robust, prefix, 'accuracy_at_valid')} | {cell(robust, prefix, 'roc_auc')} |")
    text = "\n".join(lines)
    print(text)
    print(f"\ncross-generator sweep {cross_s:.0f}s, robustness job {robust_s:.0f}s, folder {folder}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / ("beyond_tiny.json" if args.tiny else "beyond.json")).write_text(
        json.dumps(
            {"cross": cross, "robust": robust, "cross_s": cross_s, "robust_s": robust_s, "table": text}, indent=1
        )
    )


if __name__ == "__main__":
    main()
