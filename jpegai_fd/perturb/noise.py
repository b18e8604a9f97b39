"""Additive Gaussian noise, seeded per image so that reruns give the same bytes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from jpegai_fd.perturb.base import Perturbation, in_range, to_uint8


def image_rng(seed: int, image_id: str) -> np.random.Generator:
    """A generator that depends only on (seed, image id): not on batch, order, shard or machine."""
    digest = hashlib.blake2b(f"{int(seed)}\0{image_id}".encode(), digest_size=16).digest()
    return np.random.default_rng(np.frombuffer(digest, dtype=np.uint32).tolist())


@dataclass(frozen=True)
class GaussianNoise(Perturbation):
    """Add i.i.d. N(0, sigma^2) noise (sigma on the 0-255 scale) to every sample, round, clip."""

    sigma: float = 5.0
    seed: int = 0
    name = "noise"

    def __post_init__(self):
        self._normalise("sigma", in_range(self.sigma, "sigma", "noise", 0.01, 255.0))
        self._normalise("seed", in_range(self.seed, "seed", "noise", 0, 2**63 - 1, integer=True))

    def key_params(self):
        return [("s", self.sigma)]  # the seed is in describe(): it keys the cache, not the metric name

    def apply(self, image, image_id):
        noise = image_rng(self.seed, image_id).standard_normal(image.shape)
        return to_uint8(image.astype(np.float64) + self.sigma * noise)
