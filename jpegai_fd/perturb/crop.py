"""Centre crop: the framing lost when an image is cropped before it is shared."""

from __future__ import annotations

from dataclasses import dataclass

from jpegai_fd.errors import UserError
from jpegai_fd.perturb.base import Perturbation, in_range
from jpegai_fd.perturb.resample import FILTERS, resize


@dataclass(frozen=True)
class CenterCrop(Perturbation):
    """Keep the central round(fraction*H) x round(fraction*W) pixels (offsets floored), resized back to
    H x W with ``method`` when ``resize_back`` (the nominal size, as ``size_policy=resize`` gives)."""

    fraction: float = 0.9
    resize_back: bool = True
    method: str = "bicubic"
    name = "crop"

    def __post_init__(self):
        self._normalise("fraction", in_range(self.fraction, "fraction", "crop", 0.05, 1.0))
        if not isinstance(self.resize_back, bool):
            raise UserError(f"invalid value for 'crop.resize_back': {self.resize_back!r}; use true or false")
        if self.method not in FILTERS:
            raise UserError(f"invalid value for 'crop.method': {self.method!r}; allowed values: {', '.join(FILTERS)}")

    def key_params(self):
        return [("f", self.fraction)]

    def key(self) -> str:
        return super().key() + ("" if self.resize_back else "_keep")

    def output_shape(self, height, width):
        if self.resize_back:
            return height, width
        return max(1, round(self.fraction * height)), max(1, round(self.fraction * width))

    def apply(self, image, image_id):
        h, w = image.shape[:2]
        ch, cw = max(1, round(self.fraction * h)), max(1, round(self.fraction * w))
        top, left = (h - ch) // 2, (w - cw) // 2
        crop = image[top : top + ch, left : left + cw]
        return resize(crop, h, w, self.method) if self.resize_back else crop
