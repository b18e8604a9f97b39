"""The trained detector as a product: what a job saves (:mod:`.pyfunc`), how new images are scored."""

from jpegai_fd.model.decision import Decision

__all__ = ["Decision"]
