"""How a job chooses its decision rule and reports its scores: the ``scoring`` keys, as plain values."""

from __future__ import annotations

from dataclasses import dataclass

from jpegai_fd.errors import UserError

# Light on purpose (the command line checks these before scikit-learn loads); threshold.py and
# calibration.py take their names from here.
RULES = ("balanced_accuracy", "target_fpr")
METHODS = ("sigmoid", "isotonic")
CALIBRATIONS = (*METHODS, "none")


@dataclass(frozen=True)
class ScoringSettings:
    """``threshold_rule``: how the validation images choose the cut (``balanced_accuracy`` or
    ``target_fpr``: at most ``target_fpr`` of real images called fake); ``calibration``: ``sigmoid``
    (Platt), ``isotonic`` or ``none``, fitted on the validation scores; ``bootstrap_resamples`` and
    ``ci_level``: the intervals of accuracy, AUC and AP (0 resamples: none); ``seed``: the resampling
    seed; ``audit`` and ``audit_max_auc``: the shortcut audit of the files before training."""

    threshold_rule: str = "balanced_accuracy"
    target_fpr: float = 0.01
    calibration: str = "sigmoid"
    bootstrap_resamples: int = 1000
    ci_level: float = 0.95
    seed: int = 0
    audit: bool = True
    audit_max_auc: float = 0.75

    def __post_init__(self) -> None:
        if self.threshold_rule not in RULES:
            raise UserError(
                f"invalid value for 'scoring.threshold_rule': {self.threshold_rule!r}; allowed values: {', '.join(RULES)}"
            )
        if self.calibration not in CALIBRATIONS:
            raise UserError(
                f"invalid value for 'scoring.calibration': {self.calibration!r}; allowed values: {', '.join(CALIBRATIONS)}"
            )
        if not 0 <= float(self.target_fpr) < 1:
            raise UserError(f"invalid value for 'scoring.target_fpr': {self.target_fpr!r}; use a number in [0, 1)")
        if not 0.5 < float(self.audit_max_auc) <= 1:
            raise UserError(
                f"invalid value for 'scoring.audit_max_auc': {self.audit_max_auc!r}; use a number in (0.5, 1]"
            )
        n = self.bootstrap_resamples
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise UserError(
                f"invalid value for 'scoring.bootstrap_resamples': {n!r}; use an integer >= 0 (0: no intervals)"
            )
        if not 0 < float(self.ci_level) < 1:
            raise UserError(
                f"invalid value for 'scoring.ci_level': {self.ci_level!r}; use a number in (0, 1), e.g. 0.95"
            )
