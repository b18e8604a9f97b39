"""Gaussian blur: the low-pass of a defocused re-capture or a smoothing filter."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from jpegai_fd.perturb.base import Perturbation, in_range, to_uint8


@dataclass(frozen=True)
class GaussianBlur(Perturbation):
    """Gaussian filter of standard deviation ``sigma`` pixels on each channel (edges mirrored,
    kernel cut at 4 sigma), rounded back to 8 bits."""

    sigma: float = 1.0
    name = "blur"

    def __post_init__(self):
        self._normalise("sigma", in_range(self.sigma, "sigma", "blur", 0.01, 64.0))

    def key_params(self):
        return [("s", self.sigma)]

    def apply(self, image, image_id):
        # float64 throughout: the filter's result must not depend on a float32 accumulation order.
        blurred = ndimage.gaussian_filter(
            image.astype(np.float64), sigma=(self.sigma, self.sigma, 0), mode="mirror", truncate=4.0
        )
        return to_uint8(blurred)
