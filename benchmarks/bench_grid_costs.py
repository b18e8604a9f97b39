"""Per-job costs of every cell of the thesis grid on 2 cores, and the projected wall time of its 48
jobs at 30,000 train / 3,000 test images, per classifier.

A cell is (preprocess, component, classifier); bpp and latent do not change a job's shape, so each
cell stands for 4 jobs of the grid (bpp 6/12 x y/y_hat), measured at bpp 12 on ``y_hat``. Every
cell is measured at two training sizes, each fit in a fresh worker process (one model's freed
memory cannot hide another's peak): fit seconds, predict seconds on the test images (multiple
patches: all 256 positions of each, then the majority vote), peak memory over the feature matrix,
and image-level test accuracy.

Classifiers as the thesis tuned them (docs/thesis.md): ``rf`` = RandomForest(463 trees, depth 30,
sqrt features, min 2 per leaf, out-of-bag score) measured with ``--rf-trees`` trees and scaled
linearly to 463 (trees are independent); ``hgb`` = HistGradientBoosting(lr 0.1297, up to 596
rounds, 117 leaves, ...) with early stopping on, as scikit-learn's "auto" does above 10,000 samples;
``lgbm`` and ``cnn`` with this project's default configs, except that every classifier here trains
on the in-memory feature matrix (cnn's default reads batches from the cache instead: same work per
epoch within a few %, memory flat; see bench_flatten_classifiers.py's cnn / cnn_matrix). hgb on flatten costs ~9 s per round per
2,000 images here, so its flatten cells fit ``--hgb-flatten-rounds`` rounds: binning and per-round
seconds are measured and projected to the 596 rounds of the thesis (an upper bound: early stopping
may end sooner).

Data: the demo dataset's train split (``--images`` images, DCT encoder, bpp 12), split by row into
a test set (the last ``--test`` images, balanced) and training sets of the first images of each
class. Give ``--root``/``--cache`` to reuse a dataset and cache made by ``bench_extract.py``.

    python benchmarks/bench_grid_costs.py --images 10000 --workdir /tmp/grid
    python benchmarks/bench_grid_costs.py --root /tmp/bex10k/faces_10000 --cache /tmp/bex10k/cache_1.zarr
    python benchmarks/bench_grid_costs.py --project benchmarks/results/grid_costs.json
    # on a GPU machine: the GPU paths, into their own results file
    python benchmarks/bench_grid_costs.py --only flatten:y:cnn flatten:yuv:cnn \
        --override classifier.estimator.device=cuda --results benchmarks/results/grid_costs_cuda.json
    python benchmarks/bench_grid_costs.py --only flatten:y:lgbm flatten:yuv:lgbm multi:yuv:lgbm \
        --override classifier.estimator.device=gpu --results benchmarks/results/grid_costs_lgbm_gpu.json

The results file is written after every worker; a rerun with the same settings measures only the
cells it lacks. Projection: fit(N) = fit(n2) * (N / n2) ** b, with b the exponent measured between the
two sizes (at least 1); predict scales linearly in test images.
"""

from __future__ import annotations

import argparse
import json
import math
import pickle
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_common import RESULTS as RESULTS_DIR
from bench_common import THESIS_HGB, THESIS_RF, compose_cfg, hgb_binning_s, measure_fit, run_worker

RESULTS = RESULTS_DIR / "grid_costs.json"
PREPROCESS = ("flatten", "single", "multi")
COMPONENTS = ("y", "yuv")
# Which classifier takes which preprocessing (cnn reads the latent tensors: flatten only).
CELLS = {"rf": PREPROCESS, "hgb": PREPROCESS, "lgbm": PREPROCESS, "cnn": ("flatten",)}
THESIS_TRAIN, THESIS_TEST = 30000, 3000
JOBS_PER_CELL = 4  # bpp 6, 12 x latent y, y_hat


def overrides(args, preprocess: str = "flatten", component: str = "yuv", classifier: str = "rf") -> list[str]:
    return [
        f"dataset.root={args.root}",
        "dataset=faces140k",
        "dataset.image_size=256",
        "dataset.test_split=train",
        f"paths.cache={args.cache}",
        "encoder=dct",
        "bpp=12",
        "latent=y_hat",
        f"component={component}",
        f"preprocess={preprocess}",
        f"classifier={classifier}",
        f"n_jobs={args.n_jobs}",
        "seed=42",
        *args.override,
    ]


def prepare(args) -> dict:
    """Generate the demo images (unless --root) and extract their latents into the cache."""
    from jfd_testing import cached_latents
    from jfd_testing import load_splits
    from jpegai_fd.datasets.synthetic import generate
    from jfd_testing import build_encoder

    start = time.perf_counter()
    if not (Path(args.root) / "train.csv").exists():
        generate(Path(args.root), 0, 256, {"train": args.images // 2, "valid": 0, "test": 0})
    generated = time.perf_counter() - start
    cfg = compose_cfg(overrides(args))
    train, _ = load_splits(cfg)
    _, stats = cached_latents(cfg, train, build_encoder(cfg))
    return {
        "images": len(train),
        "generate_s": generated,
        "extract_s": time.perf_counter() - start - generated,
        "images_extracted": stats.extracted,
    }


def split_rows(labels: np.ndarray, n_train: int, n_test: int) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, test rows), sorted and balanced: the test set is the last n_test/2 images of
    each class, the training set the first n_train/2 of each class among the others."""
    train, test = [], []
    for label in (0, 1):
        rows = np.flatnonzero(labels == label)
        test.append(rows[len(rows) - n_test // 2 :])
        pool = rows[: len(rows) - n_test // 2]
        if len(pool) < n_train // 2:
            sys.exit(
                f"--sizes: {n_train} training images need {n_train // 2} per class; "
                f"the dataset has {len(pool)} besides the test images (raise --images)"
            )
        train.append(pool[: n_train // 2])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def estimator(classifier: str, cfg, args):
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier

    from jfd_testing import build_group

    if classifier == "rf":
        return RandomForestClassifier(**{**THESIS_RF, "n_estimators": args.rf_trees}, n_jobs=args.n_jobs)
    if classifier == "hgb":
        rounds = args.hgb_flatten_rounds if cfg.preprocess.name == "flatten" else THESIS_HGB["max_iter"]
        return HistGradientBoostingClassifier(**{**THESIS_HGB, "max_iter": rounds}, verbose=1)
    return build_group(cfg, "classifier").make()


def worker(args) -> dict:
    """One cell at one size: fit (timed, peak memory), predict the test images, score them."""
    from jfd_testing import build_encoder, build_features, cached_latents, load_splits
    from jpegai_fd.scoring.vote import majority_vote

    preprocess, component, classifier, size = args.worker.split(":")
    matrix = ["classifier.stream_from_cache=false"] if classifier == "cnn" else []  # every cell from the matrix
    cfg = compose_cfg([*overrides(args, preprocess, component, classifier), *matrix])
    train, _ = load_splits(cfg)
    group, stats = cached_latents(cfg, train, build_encoder(cfg))
    assert stats.extracted == 0, "the parent process fills the cache"
    train_rows, test_rows = split_rows(group.labels, int(size), args.test)
    model = estimator(classifier, cfg, args)
    out, printed = measure_fit(model, lambda: build_features(cfg, group, train=True, rows=train_rows))
    test = build_features(cfg, group, train=False, rows=test_rows)
    start = time.perf_counter()
    p_real = model.predict_proba(test.X)[:, list(model.classes_).index(1)]
    labels, _ = majority_vote(p_real, test.groups, test.n_images)
    out.update(
        predict_s=time.perf_counter() - start,
        test_samples=len(test.y),
        test_accuracy=float(np.mean(labels == group.labels[test_rows])),
    )
    if classifier == "rf":
        out["trees"] = args.rf_trees
        out["model_mib"] = len(pickle.dumps(model, protocol=5)) / 2**20
    elif classifier == "hgb":
        out["rounds"], out["setup_s"] = int(model.n_iter_), hgb_binning_s(printed) or 0.0
    elif classifier == "lgbm":
        out["rounds"] = int(model.best_iteration_)
    else:
        out["epochs"] = len(model.curves_["val_loss"])
    return out


def run_cell(args, key: str) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        key,
        *sum(
            (
                ["--" + k.replace("_", "-"), str(getattr(args, k))]
                for k in ("root", "cache", "test", "rf_trees", "n_jobs")
            ),
            [],
        ),
    ]
    cmd += ["--hgb-flatten-rounds", str(args.hgb_flatten_rounds)]
    for extra in args.override:
        cmd += ["--override", extra]
    return run_worker(cmd, key)


# --- projection --------------------------------------------------------------------------------------
UNITS = {"rf": "trees", "hgb": "rounds", "lgbm": "rounds", "cnn": "epochs"}


def scaled(cell: dict, sizes: list[int], classifier: str, test: int, flatten: bool) -> dict:
    """One job of a cell at the thesis's sizes: fit + predict seconds, growth exponent, peak GB.

    Fit time is modelled per unit (tree, boosting round, epoch): per-unit seconds grow as
    (N / n) ** exponent between the two measured sizes; the number of units is the thesis's 463
    trees for rf, the thesis's 596 rounds for hgb on flatten (measured with a few), and for the
    other early-stopped models what the larger measured size stopped at (hgb also at its cap). Peak memory above the process's resident size before the
    matrix is fitted as a + b * matrix bytes through the two sizes (b >= 1: the matrix itself)."""
    unit = UNITS[classifier]
    small, large = (cell[str(n)] for n in sizes)
    per_unit = [(r["fit_s"] - r.get("setup_s", 0.0)) / r[unit] for r in (small, large)]  # setup: hgb's binning
    exponent = max(1.0, math.log(per_unit[1] / per_unit[0]) / math.log(sizes[1] / sizes[0]))
    growth = THESIS_TRAIN / sizes[1]
    units = {"rf": THESIS_RF["n_estimators"], "hgb": THESIS_HGB["max_iter"] if flatten else large[unit]}.get(
        classifier, large[unit]
    )
    fit = large.get("setup_s", 0.0) * growth + per_unit[1] * growth**exponent * units
    predict = large["predict_s"] * THESIS_TEST / test * units / large[unit]  # trees/rounds each cost a pass
    extra = [r["peak_over_matrix"] * r["matrix_mib"] * 2**20 for r in (small, large)]
    matrix = [r["matrix_mib"] * 2**20 for r in (small, large)]
    slope = max(1.0, (extra[1] - extra[0]) / (matrix[1] - matrix[0]))
    peak = extra[1] + slope * matrix[1] * (growth - 1)
    if classifier == "rf":  # the forest: linear in trees and (about) in samples
        peak += large["model_mib"] * 2**20 * (units / large[unit] * growth - 1)
    out = {
        "fit_s": fit,
        "predict_s": predict,
        "job_s": fit + predict,
        "exponent": exponent,
        unit: units,
        "peak_gb": peak / 1e9,
        "matrix_gb": matrix[1] * growth / 1e9,
        "test_accuracy": large["test_accuracy"],
    }
    if classifier == "hgb":
        out["job_s_at_596_rounds"] = fit + per_unit[1] * growth**exponent * (THESIS_HGB["max_iter"] - units) + predict
    return out


def projection(results: dict) -> dict:
    """{classifier: {preprocess: {component: one job}}, plus each classifier's 24-job total."""
    setup = results["setup"]
    out: dict = {}
    for classifier, kinds in CELLS.items():
        per = out.setdefault(classifier, {"cells": {}, "jobs": 0, "total_s": 0.0})
        for preprocess in kinds:
            sizes = setup["flatten_sizes"] if preprocess == "flatten" else setup["patch_sizes"]
            for component in COMPONENTS:
                key = f"{preprocess}:{component}:{classifier}"
                if not all(str(n) in results["cells"].get(key, {}) for n in sizes):
                    continue
                job = scaled(results["cells"][key], sizes, classifier, setup["test"], preprocess == "flatten")
                per["cells"][key] = job
                per["jobs"] += JOBS_PER_CELL
                per["total_s"] += JOBS_PER_CELL * job["job_s"]
    return out


def print_projection(results: dict) -> None:
    proj = results["projection"] = projection(results)
    print(
        f"projection at {THESIS_TRAIN:,} train / {THESIS_TEST:,} test images, 2 cores, fit + predict, no tuning;"
        f" each line is one job (x{JOBS_PER_CELL} for bpp x latent):"
    )
    for classifier, per in proj.items():
        for key, job in per["cells"].items():
            unit = UNITS[classifier]
            print(
                f"  {key:22} {job['job_s'] / 3600:9.2f} h  {unit} {job[unit]:4d}  exponent {job['exponent']:4.2f}"
                f"  peak {job['peak_gb']:6.1f} GB (matrix {job['matrix_gb']:5.1f})  acc@measured {job['test_accuracy']:.3f}"
            )
        print(f"  {classifier}: {per['jobs']} jobs, {per['total_s'] / 3600:.1f} h")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10000, help="demo images to generate (train split, both classes)")
    parser.add_argument("--workdir", default=None, help="folder for the generated dataset and cache (default: temp)")
    parser.add_argument("--root", default=None, help="an existing dataset root in the Kaggle layout (train.csv)")
    parser.add_argument("--cache", default=None, help="its latent cache (default: <workdir>/cache.zarr)")
    parser.add_argument("--test", type=int, default=1000, help="test images held out of the train split")
    parser.add_argument("--patch-sizes", type=int, nargs=2, default=[4000, 8000], help="training images, single/multi")
    parser.add_argument("--flatten-sizes", type=int, nargs=2, default=[1000, 2000], help="training images, flatten")
    parser.add_argument("--rf-trees", type=int, default=24, help="trees measured (scaled to the thesis's 463)")
    parser.add_argument(
        "--hgb-flatten-rounds", type=int, default=3, help="hgb rounds measured on flatten (scaled to 596)"
    )
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--only", nargs="*", default=None, help="cells to measure, e.g. multi:yuv:rf")
    parser.add_argument(
        "--override",
        action="append",
        default=[],
        help="a config override for every job, e.g. classifier.estimator.device=cuda",
    )
    parser.add_argument("--results", default=str(RESULTS), help="results file (written after every worker)")
    parser.add_argument("--project", default=None, help="only print the projection of a results file")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.project:
        print_projection(json.loads(Path(args.project).read_text()))
        return
    if args.worker:
        print("RESULT " + json.dumps(worker(args)))
        return
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench_grid_"))
    args.root = str(Path(args.root or workdir / "data"))
    args.cache = str(Path(args.cache or workdir / "cache.zarr"))
    setting = {
        k: getattr(args, k)
        for k in (
            "root",
            "cache",
            "test",
            "patch_sizes",
            "flatten_sizes",
            "rf_trees",
            "hgb_flatten_rounds",
            "n_jobs",
            "override",
        )
    }
    results = {"setup": setting, "cells": {}}
    out = Path(args.results)
    if out.exists():
        earlier = json.loads(out.read_text())
        if {k: earlier["setup"].get(k) for k in setting} == setting:
            results = earlier  # same settings: keep what was measured, measure only the rest
    results["setup"].update(prepare(args))
    print(json.dumps(results["setup"]), flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    cells = [
        (f"{preprocess}:{component}:{classifier}", args.flatten_sizes if preprocess == "flatten" else args.patch_sizes)
        for classifier, kinds in CELLS.items()
        for preprocess in kinds
        for component in COMPONENTS
    ]
    for cell, sizes in [(c, s) for c, s in cells if not args.only or c in args.only]:
        done = results["cells"].setdefault(cell, {})
        for size in sizes:
            if str(size) not in done:  # measured in an earlier run with the same settings: kept
                done[str(size)] = run_cell(args, f"{cell}:{size}")
                print(cell, size, json.dumps(done[str(size)]), flush=True)
                out.write_text(json.dumps(results, indent=2))
    print_projection(results)
    out.write_text(json.dumps(results, indent=2))
    print(f"written {out}")


if __name__ == "__main__":
    main()
