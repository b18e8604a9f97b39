"""LightGBM for wide float32 feature matrices (flatten: ~10^5 features), fast where scikit-learn's HistGradientBoosting
is slow; the matrix binned once for a whole study (:class:`LGBMFolds`): docs/how-to/thesis-scale.md."""

import logging
from functools import lru_cache
from numbers import Integral, Real
from typing import Annotated

import lightgbm as lgb
import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from jpegai_fd.classifiers.backend import COUNT, FRACTION, MINUS_ONE, NON_NEGATIVE, EstimatorFolds, estimator
from jpegai_fd.classifiers.backend import ProbaClassifier, holdout_split
from jpegai_fd.features.matrix import FeatureSet

log = logging.getLogger(__name__)
DEVICES = ("cpu", "gpu", "cuda")


@lru_cache(maxsize=None)
def device_available(device: str) -> bool:
    """Whether this LightGBM build can train on ``device`` here (one tiny round is tried)."""
    if device == "cpu":
        return True
    X = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
    try:
        data = lgb.Dataset(X, label=(X[:, 0] > 0).astype(np.float32), params={"verbose": -1})
        lgb.train({"objective": "binary", "device_type": device, "verbose": -1}, data, num_boost_round=1)
        return True
    except lgb.basic.LightGBMError:
        return False


def resolve_device(device: str) -> str:
    if device_available(device):  # a bad name is refused by the "device" constraint when the option is built
        return device
    log.warning("lightgbm: device '%s' is not available in this build or machine; training on cpu", device)
    return "cpu"


@estimator
class LGBMClassifier(ProbaClassifier):
    """Binary LightGBM trees, scikit-learn style, early stopping on held-out images. After fit: ``booster_``,
    ``best_iteration_``, ``curves_`` (train/val log-loss per round), ``classes_``."""

    n_estimators: Annotated[int, COUNT] = 1000
    learning_rate: Annotated[float, Interval(Real, 0, None, closed="neither")] = 0.1
    num_leaves: Annotated[int, Interval(Integral, 2, None, closed="left")] = 31
    max_depth: Annotated[int, MINUS_ONE, COUNT] = -1
    min_child_samples: Annotated[int, NON_NEGATIVE] = 20
    colsample_bytree: Annotated[float, Interval(Real, 0, 1, closed="right")] = 0.2
    subsample: Annotated[float, Interval(Real, 0, 1, closed="right")] = 1.0
    reg_lambda: Annotated[float, Interval(Real, 0, None, closed="left")] = 0.0
    max_bin: Annotated[int, Interval(Integral, 2, None, closed="left")] = 63
    bin_construct_sample_cnt: Annotated[int, COUNT] = 2000
    early_stopping_rounds: Annotated[int, NON_NEGATIVE] = 30
    validation_fraction: Annotated[float, FRACTION] = 0.1
    device: Annotated[str, StrOptions(set(DEVICES))] = "cpu"
    n_jobs: Annotated[int, MINUS_ONE, COUNT] = 2
    random_state: Annotated[int, NON_NEGATIVE] = 0

    def dataset_params(self) -> dict:
        """Parameters fixed when the matrix is binned; fits that share a binned dataset share these."""
        params = dict(max_bin=int(self.max_bin), bin_construct_sample_cnt=int(self.bin_construct_sample_cnt))
        params |= dict(data_random_seed=int(self.random_state), num_threads=int(self.n_jobs), verbose=-1)
        # Keep every feature at binning time so min_child_samples can be tuned on one dataset.
        return params | dict(feature_pre_filter=False)

    def train_params(self) -> dict:
        params = self.dataset_params() | dict(objective="binary", metric="binary_logloss", seed=int(self.random_state))
        params |= dict(learning_rate=float(self.learning_rate), num_leaves=int(self.num_leaves))
        params |= dict(max_depth=int(self.max_depth), min_data_in_leaf=int(self.min_child_samples), deterministic=True)
        params |= dict(feature_fraction=float(self.colsample_bytree), lambda_l2=float(self.reg_lambda))
        params |= dict(bagging_fraction=float(self.subsample), bagging_freq=int(self.subsample < 1))
        # Wide and short matrices: column-wise histograms; skips LightGBM's timing probe.
        return params | dict(force_col_wise=True, device_type=resolve_device(self.device))

    def bin(self, X: np.ndarray, y01: np.ndarray) -> lgb.Dataset:
        """The binned dataset of all rows of ``X`` (one byte per value), labels ``y01`` in {0, 1}."""
        # A no-op for the job's float32 matrices; LightGBM copies otherwise.
        X = np.ascontiguousarray(X, dtype=X.dtype if X.dtype in (np.float32, np.float64) else np.float32)
        return lgb.Dataset(
            X, label=y01.astype(np.float32), params=self.dataset_params(), free_raw_data=True
        ).construct()

    def fit(self, X: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None) -> "LGBMClassifier":
        self.classes_ = np.unique(y)
        if len(self.classes_) != 2:
            raise ValueError(f"LGBMClassifier needs two classes, got {self.classes_}")
        return self.fit_binned(self.bin(X, np.searchsorted(self.classes_, y)), np.arange(len(y)), groups, self.classes_)

    def fit_binned(
        self, binned: lgb.Dataset, rows: np.ndarray, groups: np.ndarray | None, classes: np.ndarray
    ) -> "LGBMClassifier":
        """Train on ``rows`` of a :meth:`bin` dataset whose labels index ``classes``; ``groups`` (per row
        of ``binned``) keeps an image's rows on one side of the early-stopping split."""
        self.classes_ = classes
        params = self.train_params()
        self.device_ = params["device_type"]  # where it trained (a configured GPU may be absent)
        rows = np.asarray(rows)
        curves: dict = {}
        callbacks = [lgb.record_evaluation(curves)]
        if self.early_stopping_rounds > 0:
            holdout = (self.validation_fraction, self.random_state)
            fit_rows, self.validation_rows_ = holdout_split(binned.get_label(), groups, rows, *holdout)  # watched rows
            train_set = binned.subset(fit_rows.tolist())
            valid_sets = [train_set, binned.subset(self.validation_rows_.tolist())]
            callbacks.append(lgb.early_stopping(int(self.early_stopping_rounds), verbose=False))
        else:
            self.validation_rows_ = rows[:0]
            train_set = binned if len(rows) == binned.num_data() else binned.subset(rows.tolist())
            valid_sets = [train_set]
        names = ["train", "val"][: len(valid_sets)]
        rounds = int(self.n_estimators)
        self.booster_ = lgb.train(params, train_set, rounds, valid_sets, names, callbacks=callbacks)
        self.best_iteration_ = int(self.booster_.best_iteration or self.booster_.current_iteration())
        self.curves_ = {f"{name}_logloss": list(values["binary_logloss"]) for name, values in curves.items()}
        return self

    @property
    def feature_importances_(self) -> np.ndarray:
        """Total split gain per feature over the kept rounds (read by the job's importance maps)."""
        return self.booster_.feature_importance("gain", iteration=self.best_iteration_)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        p1 = self.booster_.predict(X, num_iteration=self.best_iteration_)
        return np.column_stack([1 - p1, p1])


class LGBMFolds(EstimatorFolds):
    """Tuning backend: bins the matrix once per binning setting, then fits every fold on row subsets."""

    def __init__(self, classifier, features: FeatureSet, scoring: str):
        super().__init__(classifier, features, scoring)
        self.classes = np.unique(features.y)
        self.binned: dict[tuple, lgb.Dataset] = {}

    def __call__(self, params: dict, fit_idx, val_idx) -> float:
        model = self.classifier.make(params)
        key = tuple(sorted(model.dataset_params().items()))
        if key not in self.binned:
            self.binned[key] = model.bin(self.features.X, np.searchsorted(self.classes, self.features.y))
        model.fit_binned(self.binned[key], np.asarray(fit_idx), self.features.groups, self.classes)
        X, y = self.features.X, self.features.y
        return float(self.scorer(model, X[val_idx], y[val_idx]))
