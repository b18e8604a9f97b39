"""A warning before a fit that will not fit in memory, from the peaks measured in ``benchmarks/``:
HistGradientBoosting on flatten latents copies the matrix to float64 and keeps per-node histograms of
every feature; hours of tuning ending in an out-of-memory kill are worse than a line at the start."""

import numpy as np
import psutil

from jpegai_fd.classifiers.spec import Classifier

# Memory a fit adds on top of the float32 feature matrix, per byte of matrix (the slope between two
# sizes in benchmarks/bench_grid_costs.py, flatten YUV; a lower bound, so the warning is no false alarm).
# Keyed by estimator class name: scikit-learn's classes live in private modules.
EXTRA_PER_MATRIX_BYTE = {"HistGradientBoostingClassifier": 12.0, "RandomForestClassifier": 0.4, "LGBMClassifier": 0.4}


def memory_warning(classifier: Classifier, X, available: int | None = None) -> str | None:
    """One line when fitting ``classifier`` on ``X`` needs more than ``available`` bytes (default: MemAvailable)."""
    per_byte = EXTRA_PER_MATRIX_BYTE.get(classifier.estimator_class.__name__)
    if per_byte is None or not isinstance(X, np.ndarray):
        return None
    available = psutil.virtual_memory().available if available is None else available  # Linux: MemAvailable
    if (need := X.nbytes * per_byte) <= available:
        return None
    return (
        f"classifier={classifier.name} needs about {need / 1e9:.1f} GB on top of the {X.nbytes / 1e9:.1f} GB "
        f"feature matrix (measured in benchmarks/) but {available / 1e9:.1f} GB is available: it will likely "
        f"be killed; use classifier=lgbm, fewer images or a larger machine"
    )
