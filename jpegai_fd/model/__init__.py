"""The trained detector as a product: what a job saves, how new images are scored.

:mod:`.detector` (what produced the latents, the estimator, the fingerprint check),
:mod:`.decision` (per-sample scores -> P(fake) and label), :mod:`.pyfunc` (the MLflow model).
"""

from jpegai_fd.model.decision import Decision, choose_decision
from jpegai_fd.model.detector import Detector, Predictor, check_fingerprint

__all__ = ["Decision", "Detector", "Predictor", "check_fingerprint", "choose_decision"]
