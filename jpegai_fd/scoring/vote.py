"""The multi-patch vote with validation-chosen cuts.

At test time every latent position of an image is classified. A patch votes fake when its P(fake) is
>= the **patch cut**; the image's score is the **share of its patches voting fake**, and the image
is called fake when that share is >= the **share cut**. The fixed rule
(:func:`jpegai_fd.features.vote.majority_vote`) uses 0.5 for both. A classifier trained on a few
positions and applied to all of them can shift every patch's score (the case issue 13 measured: all
test images in one class, AUC 0.63): then no share cut helps if every patch already votes the same
way, so both cuts are chosen on the validation images:

1. the patch cut on the validation patches, each labelled with its image's class, by balanced
   accuracy (or kept fixed when given);
2. the share cut on the validation images' shares, by the threshold rule (balanced accuracy or a
   target false-alarm rate on real images, :mod:`jpegai_fd.scoring.threshold`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jpegai_fd.errors import UserError
from jpegai_fd.scoring.labels import is_fake
from jpegai_fd.scoring.threshold import Threshold, choose_threshold


@dataclass(frozen=True)
class VoteThreshold:
    """The two cuts of the vote: patches with P(fake) >= ``patch_cut`` vote fake; images whose
    share of fake votes is >= ``share.value`` are called fake."""

    patch_cut: float
    share: Threshold

    def as_dict(self) -> dict:
        return {"patch_cut": self.patch_cut, **{f"share_{k}": v for k, v in self.share.as_dict().items()}}


def fake_vote_share(p_fake: np.ndarray, groups: np.ndarray, n_images: int, patch_cut: float = 0.5) -> np.ndarray:
    """Per image (0..n_images-1), the share of its samples with P(fake) >= ``patch_cut``.

    ``p_fake``: P(fake) per sample; ``groups``: the image index of each sample (as in FeatureSet)."""
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
    """Both cuts chosen on validation images from their patch scores.

    ``y_true``: labels of the validation images (1 real, 0 fake); ``p_fake``/``groups``: P(fake)
    and image index per patch. ``patch_cut`` None: chosen on the patches (balanced accuracy);
    a number: kept. Returns the cuts and the validation images' shares at the patch cut.
    """
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
