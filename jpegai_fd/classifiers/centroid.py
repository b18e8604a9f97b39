"""A training-free latent baseline: each latent channel averaged over the grid, standardised, and compared by cosine
similarity with each class's mean (or its ``n_neighbors`` most similar training images); P(class) is the softmax of
the similarities, so P(fake) follows their difference."""

from numbers import Integral

import numpy as np
from scipy.special import softmax
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from jpegai_fd.classifiers.backend import ProbaClassifier
from jpegai_fd.errors import UserError


class CentroidClassifier(ProbaClassifier):
    """``grid`` = (H, W) of the flattened (C, H, W) latents (default (1, 1): each feature is a channel)."""

    needs_whole_latents = True  # pools whole latents (preprocess=flatten)
    _parameter_constraints: dict = {"grid": ["array-like"], "n_neighbors": [Interval(Integral, 0, None, closed="left")]}

    def __init__(self, grid: tuple[int, int] = (1, 1), n_neighbors: int = 0):
        self.grid, self.n_neighbors = grid, n_neighbors

    def _standard(self, X) -> np.ndarray:
        """Each image's channel means, standardised with the training images' statistics, at unit length."""
        positions = int(np.prod(self.grid))
        if X.shape[1] % positions:
            raise UserError(
                f"classifier.estimator.grid={list(self.grid)} does not divide the {X.shape[1]} features per image; "
                "set it to the latent grid (image side / 16)"
            )
        pooled = X.reshape(len(X), -1, positions).mean(axis=2)
        if not hasattr(self, "mean_"):
            self.mean_, std = pooled.mean(axis=0), pooled.std(axis=0)
            self.scale_ = np.where(std > 0, std, 1.0)
        return _unit((pooled - self.mean_) / self.scale_)

    def fit(self, X, y):
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, y = np.unique(y, return_inverse=True)
        vars(self).pop("mean_", None)  # a refit standardises afresh
        self.train_, self.train_class_ = self._standard(X), y
        self.centroids_ = _unit(np.stack([self.train_[y == k].mean(axis=0) for k in range(len(self.classes_))]))
        return self

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self)
        U = self._standard(validate_data(self, X, dtype=np.float64, reset=False))
        if not self.n_neighbors:
            return softmax(U @ self.centroids_.T, axis=1)
        S, sims = U @ self.train_.T, []
        for k in range(len(self.classes_)):
            of_class = S[:, self.train_class_ == k]
            k_nearest = min(self.n_neighbors, of_class.shape[1])
            sims.append(-np.partition(-of_class, k_nearest - 1, axis=1)[:, :k_nearest].mean(axis=1))
        return softmax(np.column_stack(sims), axis=1)


def _unit(V: np.ndarray) -> np.ndarray:
    return V / np.maximum(np.linalg.norm(V, axis=1, keepdims=True), 1e-12)
