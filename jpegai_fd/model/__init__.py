"""The trained detector as a product: what a job saves, how new images are scored.

:mod:`.detector` (what produced the latents, the estimator, the fingerprint check),
:mod:`.decision` (per-sample scores -> P(fake) and label), :mod:`.pyfunc` (the MLflow model).
"""

from jpegai_fd.model.decision import Decision

__all__ = ["Decision"]
