"""Bootstrap intervals and the paired AUC test: vectorised versus a scikit-learn loop, side by side.

For N test images (default 3,000, the thesis's test set; half fake) with continuous scores, times
``bootstrap_intervals`` (accuracy, ROC AUC and AP with 1,000 resamples) and
``paired_auc_bootstrap`` against the obvious loop that materialises each resample and calls
``roc_auc_score`` / ``average_precision_score``, on the same resamples, alternating, and checks that
both give the same intervals. Single-threaded BLAS is not needed: no matrix product is involved.

    python benchmarks/bench_scoring.py --images 3000 --resamples 1000 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
from bench_common import RESULTS
from sklearn.metrics import average_precision_score, roc_auc_score

from jpegai_fd.scoring.bootstrap import bootstrap_intervals, resample_draws
from jpegai_fd.scoring.labels import decide
from jpegai_fd.scoring.paired import paired_auc_bootstrap


def loop_intervals(y, p_fake, n_resamples, seed):
    """The same percentile intervals, one materialised resample at a time."""
    correct = decide(p_fake) == y
    acc, auc, ap = [], [], []
    for drawn in resample_draws(y, n_resamples, seed):
        acc.append(correct[drawn].mean())
        auc.append(roc_auc_score(y[drawn] == 0, p_fake[drawn]))
        ap.append(average_precision_score(y[drawn] == 0, p_fake[drawn]))
    return {
        name: tuple(np.percentile(v, [2.5, 97.5]))
        for name, v in (("accuracy", acc), ("roc_auc", auc), ("average_precision", ap))
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=3000)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], args.images // 2)
    logits = rng.normal(0, 1, len(y)) + (y == 0)
    p_fake, p_other = 1 / (1 + np.exp(-logits)), 1 / (1 + np.exp(-(logits + rng.normal(0, 0.5, len(y)))))
    times = {"vectorised_s": [], "loop_s": [], "paired_vectorised_s": []}
    for r in range(args.repeats):  # alternating, so load changes hit both alike
        start = time.perf_counter()
        fast = bootstrap_intervals(y, p_fake, n_resamples=args.resamples, seed=r)
        times["vectorised_s"].append(time.perf_counter() - start)
        start = time.perf_counter()
        slow = loop_intervals(y, p_fake, args.resamples, r)
        times["loop_s"].append(time.perf_counter() - start)
        start = time.perf_counter()
        paired_auc_bootstrap(y, p_fake, p_other, n_resamples=args.resamples, seed=r)
        times["paired_vectorised_s"].append(time.perf_counter() - start)
        for name, (low, high) in slow.items():
            assert abs(fast[name].low - low) < 1e-9 and abs(fast[name].high - high) < 1e-9, name
    result = {
        "images": len(y),
        "resamples": args.resamples,
        "repeats": args.repeats,
        **{k: statistics.median(v) for k, v in times.items()},
    }
    result["loop_over_vectorised"] = result["loop_s"] / result["vectorised_s"]
    print(json.dumps(result, indent=2))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bench_scoring.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
