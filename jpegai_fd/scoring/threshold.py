"""The decision threshold on a score (higher = more fake) chosen on validation by ``balanced_accuracy`` or
``target_fpr``, halfway between the two validation scores it separates (an equal test score falls on its side)."""

from dataclasses import asdict, dataclass

import numpy as np

from jpegai_fd.errors import UserError
from jpegai_fd.scoring.labels import is_fake
from jpegai_fd.scoring.settings import RULES


@dataclass(frozen=True)
class Threshold:
    """Images with score >= ``value`` are fake; ``valid_*``: what it achieved where chosen (optimistic)."""

    value: float
    rule: str
    target_fpr: float | None
    valid_balanced_accuracy: float | None
    valid_false_alarm_rate: float | None
    valid_detection_rate: float | None
    n_valid: int

    def as_dict(self) -> dict:
        return asdict(self)


def choose_threshold(
    y_true: np.ndarray, scores: np.ndarray, rule: str = "balanced_accuracy", target_fpr: float = 0.01
) -> Threshold:
    y_true, scores = np.asarray(y_true), np.asarray(scores, dtype=np.float64)
    if rule not in RULES:
        raise UserError(f"invalid threshold rule {rule!r}; allowed values: {', '.join(RULES)}")
    if not 0 <= target_fpr < 1:
        raise UserError(f"invalid target FPR {target_fpr!r}; use a number in [0, 1), e.g. 0.01 for 1% false alarms")
    if len(scores) == 0 or y_true.shape != scores.shape or not np.isfinite(scores).all():
        raise UserError(
            f"threshold: need one finite score per validation image ({len(y_true)} labels, {len(scores)} scores)"
        )
    fake = is_fake(y_true)
    n_fake, n_real = int(fake.sum()), int((~fake).sum())
    if n_real == 0 or (rule == "balanced_accuracy" and n_fake == 0):
        need = "real and fake images" if rule == "balanced_accuracy" else "real images"
        raise UserError(
            f"threshold rule {rule!r} needs validation {need}; the validation split has "
            f"{n_real} real and {n_fake} fake images"
        )
    # Cuts: above the maximum, halfway between neighbours (float rounding: else at the higher), at the minimum.
    distinct = np.unique(scores)[::-1]
    high, low = distinct[:-1], distinct[1:]
    mid = (high + low) / 2
    between = np.where((low < mid) & (mid <= high), mid, high)
    cuts = np.concatenate([[np.nextafter(distinct[0], np.inf)], between, [distinct[-1]]])
    # Images called fake at cut k (k = 0: none) = those with score >= distinct[k-1]: cumulative counts.
    where = np.searchsorted(-distinct, -scores)  # position of each score among the distinct ones
    fakes_at = np.concatenate([[0], np.cumsum(np.bincount(where[fake], minlength=len(distinct)))])
    reals_at = np.concatenate([[0], np.cumsum(np.bincount(where[~fake], minlength=len(distinct)))])
    fpr = reals_at / n_real
    tpr = fakes_at / n_fake if n_fake else np.full(len(cuts), np.nan)
    if rule == "balanced_accuracy":
        bal = (tpr + 1 - fpr) / 2
        best = np.flatnonzero(bal >= bal.max() - 1e-12)
        k = int(best[len(best) // 2])  # the middle of a tied plateau: the widest margin either way
    else:
        k = int(np.flatnonzero(fpr <= target_fpr + 1e-12)[-1])  # lowest cut within the false-alarm budget
    bal_k, tpr_k = (float((tpr[k] + 1 - fpr[k]) / 2), float(tpr[k])) if n_fake else (None, None)
    chosen_fpr = target_fpr if rule == "target_fpr" else None
    return Threshold(float(cuts[k]), rule, chosen_fpr, bal_k, float(fpr[k]), tpr_k, len(scores))
