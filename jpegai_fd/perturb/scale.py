"""Down- or up-scaling by a factor and back to the nominal size: the detail lost (or the
interpolation traces added) by a resize on the way to the analyst, at the size the detector expects."""

from __future__ import annotations

from dataclasses import dataclass

from jpegai_fd.errors import UserError
from jpegai_fd.perturb.base import Perturbation, in_range
from jpegai_fd.perturb.resample import FILTERS, resize


@dataclass(frozen=True)
class Rescale(Perturbation):
    """Resize H x W to round(factor*H) x round(factor*W) (at least 1 pixel), then back to H x W,
    both with ``method`` (Pillow; bicubic by default, anti-aliased when shrinking)."""

    factor: float = 0.5
    method: str = "bicubic"
    name = "scale"

    def __post_init__(self):
        self._normalise("factor", in_range(self.factor, "factor", "scale", 0.05, 8.0))
        if self.method not in FILTERS:
            raise UserError(f"invalid value for 'scale.method': {self.method!r}; allowed values: {', '.join(FILTERS)}")

    def key_params(self):
        return [("f", self.factor)]

    def apply(self, image, image_id):
        h, w = image.shape[:2]
        small = resize(image, max(1, round(self.factor * h)), max(1, round(self.factor * w)), self.method)
        return resize(small, h, w, self.method)
