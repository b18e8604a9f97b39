"""Decode image files into (H, W, 3) uint8 RGB, the same way for every dataset (rules: docs/how-to/own-dataset.md);
16-bit samples keep their high byte because Pillow's own ``I;16``/``I`` conversion would clip to 255."""

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from jpegai_fd.errors import UserError

SIZE_POLICIES = ("keep", "center_crop", "resize", "reject")
READER_VERSION = 1  # bump when the conversion rules above change: it is part of the cache key


class BadImage(Exception):
    """The file is not a usable image; ``str(exc)`` is the reason (one line)."""


def to_rgb8(image: Image.Image) -> np.ndarray:
    """Pixels of a decoded Pillow image as (H, W, 3) uint8 RGB, by the rules of the module docstring."""
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        values = np.asarray(image, dtype=np.float64 if mode == "F" else np.int64)
        gray = np.clip(np.rint(values), 0, 255) if mode == "F" else np.clip(values, 0, 65535) >> 8
        return np.repeat(gray.astype(np.uint8)[..., None], 3, axis=2)
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


@dataclass(frozen=True)
class ImageReader:
    """Reads one image file to (size, size, 3) uint8 RGB under ``size_policy`` (``dataset.size_policy``)."""

    size: int
    size_policy: str = "keep"

    def __post_init__(self):
        if self.size_policy not in SIZE_POLICIES:
            raise UserError(
                f"invalid value for 'dataset.size_policy': {self.size_policy!r}; "
                f"allowed values: {', '.join(SIZE_POLICIES)}"
            )

    def settings(self) -> dict:
        """What changes the pixels handed to the encoder: part of the cache key."""
        return {"reader_version": READER_VERSION, "image_size": self.size, "size_policy": self.size_policy}

    def read(self, path: Path) -> np.ndarray:
        """Decode ``path``; raises BadImage (reason) for unreadable files or a size the policy skips."""
        header = None  # (w, h) when the header alone refuses the image: a huge one is never decoded
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)  # a reason, not a printed warning
                image = Image.open(path)
            with image:
                if self.size_policy in ("keep", "reject") and image.size != (self.size, self.size):
                    header = image.size
                else:
                    image.load()  # decode now: truncated or corrupt data fails here, inside the try
                    pixels = to_rgb8(ImageOps.exif_transpose(image))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise BadImage(f"too large ({exc})") from exc
        except Exception as exc:
            unknown = isinstance(exc, Image.UnidentifiedImageError)
            kind = "unrecognised format (not an image, or a corrupt header)" if unknown else "corrupt or truncated"
            raise BadImage(f"{kind}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from exc
        return self.fit(np.empty((header[1], header[0], 0), np.uint8) if header else pixels, path)

    def fit(self, pixels: np.ndarray, path: Path) -> np.ndarray:
        h, w = pixels.shape[:2]
        n = self.size
        if (h, w) == (n, n):
            return pixels
        if self.size_policy == "reject":
            raise UserError(
                f"image '{path}' is {w}x{h}, expected {n}x{n} (dataset.image_size) and "
                f"dataset.size_policy=reject; fix the image or use keep, center_crop or resize"
            )
        if self.size_policy == "keep" or (self.size_policy == "center_crop" and min(h, w) < n):
            raise BadImage(f"size {w}x{h}, expected {n}x{n} (dataset.size_policy={self.size_policy})")
        if self.size_policy == "resize":
            scale = n / min(h, w)
            new = (max(n, round(w * scale)), max(n, round(h * scale)))
            pixels = np.asarray(Image.fromarray(pixels).resize(new, Image.Resampling.BICUBIC))
        top, left = (pixels.shape[0] - n) // 2, (pixels.shape[1] - n) // 2
        return np.ascontiguousarray(pixels[top : top + n, left : left + n])

    def read_batch(self, paths) -> tuple[np.ndarray, list[str | None]]:
        """(N, size, size, 3) pixels of ``paths`` (zero rows for unreadable ones), a reason per image or None."""
        batch = np.zeros((len(paths), self.size, self.size, 3), dtype=np.uint8)
        reasons: list[str | None] = [None] * len(paths)
        for i, path in enumerate(paths):
            try:
                batch[i] = self.read(path)
            except BadImage as exc:
                reasons[i] = str(exc)
        return batch, reasons
