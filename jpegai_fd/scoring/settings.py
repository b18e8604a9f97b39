"""The ``scoring`` keys: how a job chooses its decision rule and reports its scores."""

from typing import Annotated, Literal, get_args

from pydantic import Field
from pydantic.dataclasses import dataclass

ThresholdRule = Literal["balanced_accuracy", "target_fpr"]
Calibration = Literal["sigmoid", "isotonic", "none"]
RULES = get_args(ThresholdRule)
METHODS = get_args(Calibration)[:-1]  # the calibrators ("none": no calibration)


@dataclass(frozen=True)
class ScoringSettings:
    """The ``scoring.*`` keys (conf/config.yaml): threshold rule, calibration, bootstrap intervals, the audit."""

    threshold_rule: ThresholdRule = "balanced_accuracy"
    target_fpr: Annotated[float, Field(ge=0, le=0.5)] = 0.01
    calibration: Calibration = "sigmoid"
    bootstrap_resamples: Annotated[int, Field(ge=0, strict=True)] = 1000
    ci_level: Annotated[float, Field(ge=0.5, le=0.999)] = 0.95
    seed: Annotated[int, Field(ge=0, strict=True)] = 0
    audit: Annotated[bool, Field(strict=True)] = True
    audit_max_auc: Annotated[float, Field(ge=0.5, le=1.0)] = 0.75
