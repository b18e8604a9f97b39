"""Components defined outside the package, as a user would add them (see docs/how-to/extending.md): an
encoder, a dataset layout and a preprocessing method, each reached by ``_target_`` alone."""

from __future__ import annotations

import numpy as np

from jpegai_fd.datasets import DatasetSplit, ImageDataset
from jpegai_fd.encoders.color import rgb_to_yuv709
from jpegai_fd.features import Patches


class BlockMeanEncoder:
    """Latents of 16x16 block means: model_y the luma mean, model_uv the U and V means; y_hat rounds
    them to ``levels`` steps (finer with more bits per pixel)."""

    def __init__(self, name: str, levels: int):
        self.name, self.levels = name, int(levels)

    def fingerprint(self) -> dict:
        return {"encoder": self.name, "levels": self.levels}

    def latent_shapes(self, height: int, width: int) -> dict[str, tuple[int, int, int]]:
        h, w = -(-height // 16), -(-width // 16)
        return {"model_y": (1, h, w), "model_uv": (2, h, w)}

    def encode(self, images: np.ndarray, bpp: int):
        n, height, width, _ = images.shape
        yuv = rgb_to_yuv709(images)
        blocks = yuv.reshape(n, height // 16, 16, width // 16, 16, 3).mean(axis=(2, 4)).transpose(0, 3, 1, 2)
        y = {"model_y": blocks[:, :1].astype(np.float32), "model_uv": blocks[:, 1:].astype(np.float32)}
        step = 1.0 / (self.levels * bpp)
        return {"y": y, "y_hat": {k: (np.rint(v / step) * step).astype(np.float32) for k, v in y.items()}}


class PrefixedFolder(ImageDataset):
    """All images in ``root``, named ``<split>_<real|fake>_<n>.png``."""

    def listing(self, split: str) -> DatasetSplit:
        files = sorted(self.root.glob(f"{split}_*.png"))
        labels = np.array([1 if f.name.split("_")[1] == "real" else 0 for f in files], dtype=np.int8)
        return DatasetSplit(self.name, split, np.array([f.stem for f in files]), tuple(files), labels, self.root)


class CornerPatch(Patches):
    """All channels at the top-left latent position."""

    def __init__(self, name: str):
        self.name = name

    def positions(self, grid, train):
        return [(0, 0)]
