"""Flatten at scale: fit time, peak memory and test accuracy of hgb (the thesis's tuned parameters),
lgbm and cnn, side by side on the same data in one run.

Data: the demo dataset with --train/--test images per class, DCT encoder, bpp 12, latent y_hat,
flatten YUV (98,304 float32 features per image). The dataset and the latent cache are built once by
this process; each classifier then runs in its own fresh worker process (so one model's freed memory
cannot hide another's peak) that builds the matrix from the cache, fits with the classifier's
default config (no tuning), and predicts the test split.

Peak memory: the worker resets the kernel's high-water mark (/proc/self/clear_refs) right before
``fit`` and reads VmHWM after it; "peak / matrix" is (that peak - the resident size before the
matrix was built) / the matrix's bytes, so the matrix itself counts as 1.

    python benchmarks/bench_flatten_classifiers.py --train 1000 --test 250 --hgb-max-iter 40

The projection of these costs to the thesis's grid at 30,000 / 3,000 images is
``bench_grid_costs.py``'s job (it measures each cell at two sizes).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from bench_common import RESULTS as RESULTS_DIR
from bench_common import THESIS_HGB, compose_cfg, hgb_binning_s, measure_fit, run_worker

RESULTS = RESULTS_DIR / "flatten_classifiers.json"


def overrides(args) -> list[str]:
    return [
        f"paths.data_dir={args.workdir}/data",
        f"paths.cache={args.workdir}/cache.zarr",
        f"dataset.num_per_class.train={args.train}",
        "dataset.num_per_class.valid=2",
        f"dataset.num_per_class.test={args.test}",
        "encoder=dct",
        "bpp=12",
        "component=yuv",
        "latent=y_hat",
        "preprocess=flatten",
        f"n_jobs={args.n_jobs}",
        "seed=42",
    ]


def prepare(args) -> dict:
    """Generate the dataset and extract the latents of both splits into the cache."""
    from jfd_testing import cached_latents
    from jfd_testing import load_splits
    from jfd_testing import build_encoder

    cfg = compose_cfg(overrides(args))
    start = time.perf_counter()
    train, test = load_splits(cfg)
    generated = time.perf_counter() - start
    encoder = build_encoder(cfg)
    cached_latents(cfg, train, encoder)
    cached_latents(cfg, test, encoder)
    return {
        "train_images": len(train),
        "test_images": len(test),
        "dataset_s": generated,
        "extract_s": time.perf_counter() - start - generated,
    }


def estimator(name: str, cfg, hgb_max_iter: int):
    from sklearn.ensemble import HistGradientBoostingClassifier

    from jfd_testing import build_group

    if name == "hgb":
        return HistGradientBoostingClassifier(**{**THESIS_HGB, "max_iter": hgb_max_iter}, verbose=1)
    return build_group(cfg, "classifier").make()


def worker(args) -> dict:
    """One classifier: matrix from the cache, fit (timed, peak memory), predict the test split."""
    from jfd_testing import build_encoder, build_features, cached_latents, load_splits
    from jpegai_fd.scoring.metrics import split_metrics

    # cnn streams its batches from the cache (its default); cnn_matrix trains on the flatten matrix.
    chosen = (
        ["classifier=cnn", "classifier.stream_from_cache=false"]
        if args.worker == "cnn_matrix"
        else [f"classifier={args.worker}"]
    )
    cfg = compose_cfg([*overrides(args), *chosen])
    train, test = load_splits(cfg)
    encoder = build_encoder(cfg)
    train_group, stats = cached_latents(cfg, train, encoder)
    test_group, _ = cached_latents(cfg, test, encoder)
    assert stats.extracted == 0, "the parent process fills the cache"
    model = estimator(args.worker, cfg, args.hgb_max_iter)
    out, printed = measure_fit(model, lambda: build_features(cfg, train_group, train=True))
    test_fs = build_features(cfg, test_group, train=False)
    start = time.perf_counter()
    p_real = model.predict_proba(test_fs.X)[:, list(model.classes_).index(1)]
    out["predict_s"] = time.perf_counter() - start
    metrics = split_metrics(test_group.labels, 1 - p_real)
    out.update(test_accuracy=metrics["accuracy"], test_roc_auc=metrics["roc_auc"])
    if args.worker == "hgb":
        out["rounds"], out["binning_s"] = int(model.n_iter_), hgb_binning_s(printed)
    elif args.worker == "lgbm":
        out["rounds"], out["binning_s"] = model.best_iteration_, None
        out["rounds_trained"] = len(model.curves_["train_logloss"])
    else:
        out["epochs_trained"], out["best_epoch"] = len(model.curves_["val_loss"]), model.best_epoch_ + 1
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=1000, help="train images per class")
    parser.add_argument("--test", type=int, default=250, help="test images per class")
    parser.add_argument(
        "--hgb-max-iter",
        type=int,
        default=40,
        help="rounds for hgb (thesis: 596 at 30,000 images; default scales it to 2,000)",
    )
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--classifiers", nargs="*", default=["hgb", "lgbm", "cnn", "cnn_matrix"])
    parser.add_argument("--workdir", default=None, help="dataset and cache folder (default: a new temp folder)")
    parser.add_argument(
        "--reuse",
        default=None,
        help="a results file of an earlier run on the same --workdir "
        "and sizes: its classifiers are kept, not rerun (hgb takes ~20 min at the defaults)",
    )
    parser.add_argument("--results", default=str(RESULTS), help="where to write the results")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print("RESULT " + json.dumps(worker(args)))
        return
    args.workdir = args.workdir or tempfile.mkdtemp(prefix="bench_flatten_")
    results = {"setup": {**vars(args), **prepare(args)}, "classifiers": {}}
    print(json.dumps(results["setup"]), flush=True)
    if args.reuse:
        earlier = json.loads(Path(args.reuse).read_text())
        same = ("train", "test", "hgb_max_iter", "n_jobs", "workdir")
        if any(earlier["setup"][k] != results["setup"][k] for k in same):
            sys.exit(f"--reuse {args.reuse}: measured with other settings ({', '.join(same)} must match)")
        results["reused"] = sorted(earlier["classifiers"])
        results["classifiers"].update(earlier["classifiers"])
    for name in args.classifiers:
        if name in results["classifiers"]:
            continue
        cmd = [
            sys.executable,
            __file__,
            "--worker",
            name,
            "--train",
            str(args.train),
            "--test",
            str(args.test),
            "--hgb-max-iter",
            str(args.hgb_max_iter),
            "--n-jobs",
            str(args.n_jobs),
            "--workdir",
            args.workdir,
        ]
        results["classifiers"][name] = run_worker(cmd, name)
        print(name, json.dumps(results["classifiers"][name]), flush=True)
    base = results["classifiers"].get("hgb")
    if base:
        for name, r in results["classifiers"].items():
            r["speedup_vs_hgb"] = base["fit_s"] / r["fit_s"]
            r["accuracy_minus_hgb"] = r["test_accuracy"] - base["test_accuracy"]
            r["peak_vs_hgb"] = r["peak_over_matrix"] / base["peak_over_matrix"]
    out = Path(args.results)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"{'classifier':10} {'fit s':>8} {'x faster':>8} {'peak/matrix':>11} {'test acc':>8} {'d acc':>6}")
    for name, r in results["classifiers"].items():
        print(
            f"{name:10} {r['fit_s']:8.1f} {r.get('speedup_vs_hgb', float('nan')):8.2f} "
            f"{r['peak_over_matrix']:11.2f} {r['test_accuracy']:8.3f} {r.get('accuracy_minus_hgb', float('nan')):+6.3f}"
        )
    print(f"written {out}")


if __name__ == "__main__":
    main()
