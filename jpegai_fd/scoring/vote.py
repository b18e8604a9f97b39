"""Image decisions from per-sample scores: the fixed majority vote at 0.5 and the vote with valid-chosen cuts. A
classifier trained on a few positions and applied to all can shift every patch's score (measured: all test images in
one class, AUC 0.63), so the patch cut is chosen too (balanced accuracy on the patches), then the share cut."""

from dataclasses import dataclass

import numpy as np

from jpegai_fd.errors import UserError
from jpegai_fd.scoring.labels import FAKE, is_fake
from jpegai_fd.scoring.threshold import Threshold, choose_threshold


def majority_vote(scores: np.ndarray, groups: np.ndarray, n_images: int) -> tuple[np.ndarray, np.ndarray]:
    """(label, mean score) per image: a sample votes 1 above 0.5; a tie goes to 1 when the mean is above 0.5."""
    counts = np.bincount(groups, minlength=n_images)
    ones = np.bincount(groups, weights=(scores > 0.5).astype(np.float64), minlength=n_images)
    mean = np.bincount(groups, weights=scores, minlength=n_images) / np.maximum(counts, 1)
    labels = np.where(2 * ones > counts, 1, np.where(2 * ones < counts, 0, (mean > 0.5).astype(int)))
    return labels.astype(np.int8), mean


def fixed_rule(p_real: np.ndarray, groups: np.ndarray, n_images: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean P(fake), fake) per image under the fixed rule, from P(real) per sample."""
    labels, mean_real = majority_vote(np.asarray(p_real, dtype=np.float64), groups, n_images)
    return 1.0 - mean_real, labels == FAKE


@dataclass(frozen=True)
class VoteThreshold:
    """Patches with P(fake) >= ``patch_cut`` vote fake; images with a share >= ``share.value`` are fake."""

    patch_cut: float
    share: Threshold

    def as_dict(self) -> dict:
        return {"patch_cut": self.patch_cut, **{f"share_{k}": v for k, v in self.share.as_dict().items()}}


def fake_vote_share(p_fake: np.ndarray, groups: np.ndarray, n_images: int, patch_cut: float = 0.5) -> np.ndarray:
    """Per image, the share of its samples with P(fake) >= ``patch_cut``."""
    counts = np.bincount(groups, minlength=n_images)
    votes = np.bincount(groups, weights=(np.asarray(p_fake) >= patch_cut).astype(np.float64), minlength=n_images)
    return votes / np.maximum(counts, 1)


def choose_vote_threshold(
    y_true: np.ndarray,
    p_fake: np.ndarray,
    groups: np.ndarray,
    n_images: int,
    rule: str = "balanced_accuracy",
    target_fpr: float = 0.01,
    patch_cut: float | None = None,
) -> tuple[VoteThreshold, np.ndarray]:
    """Both cuts and the validation images' shares at the patch cut; ``patch_cut`` None: chosen here."""
    y_true = np.asarray(y_true)
    if patch_cut is None:
        if not (is_fake(y_true).any() and (~is_fake(y_true)).any()):
            raise UserError(
                "choosing the vote's patch cut needs real and fake validation images; with a "
                "one-class validation split pass a fixed patch_cut (0.5 is the majority vote's)"
            )
        patch_cut = choose_threshold(y_true[groups], p_fake).value
    shares = fake_vote_share(p_fake, groups, n_images, patch_cut)
    return VoteThreshold(float(patch_cut), choose_threshold(y_true, shares, rule, target_fpr)), shares
