"""Header properties of an image file (format, size, JPEG quality and tables, subsampling, EXIF): what the
shortcut audit compares between classes, and the inputs of the file-property baseline (``classifier=metadata``)."""

import hashlib
from collections.abc import Iterable
from functools import lru_cache
from io import BytesIO
from pathlib import Path

import numpy as np
from PIL import Image, JpegImagePlugin, UnidentifiedImageError

SAMPLING_NAMES = {0: "4:4:4", 1: "4:2:2", 2: "4:2:0", -1: "none"}
PROPERTY_COLUMNS = ("file_size", "width", "height", "jpeg_quality", "subsampling", "format")
# A categorical property as its position here; another value: one past the end.
CODES = {"subsampling": ("none", "4:4:4", "4:2:2", "4:2:0"), "format": ("JPEG", "PNG", "WEBP", "BMP", "TIFF")}


@lru_cache(maxsize=1)
def _reference_luma_tables() -> np.ndarray:
    """(100, 64) luminance tables of Pillow's encoder at quality 1..100, read back from tiny encodes."""
    tables = []
    for quality in range(1, 101):
        buffer = BytesIO()
        Image.new("L", (8, 8)).save(buffer, "JPEG", quality=quality)
        with Image.open(buffer) as im:
            tables.append(list(im.quantization[0]))
    return np.array(tables, dtype=np.float64)


def inspect_file(path: str | Path) -> dict:
    """Header properties of one image file; ``format`` is "unreadable" when Pillow cannot open it."""
    path = Path(path)
    info = {"file_size": path.stat().st_size if path.is_file() else 0}
    try:
        with Image.open(path) as im:
            exif = "yes" if len(im.getexif()) or "exif" in im.info else "no"
            info.update(format=im.format or "unknown", mode=im.mode, width=im.width, height=im.height, exif=exif)
            info["pixels"] = im.width * im.height
            if isinstance(im, JpegImagePlugin.JpegImageFile):
                info["subsampling"] = SAMPLING_NAMES.get(JpegImagePlugin.get_sampling(im), "other")
                if im.quantization:
                    # The libjpeg quality whose luminance table is closest, and whether exactly.
                    error = np.abs(_reference_luma_tables() - np.asarray(im.quantization[0], float)).mean(axis=1)
                    info["jpeg_quality"], info["quant_standard"] = int(np.argmin(error)) + 1, bool(error.min() == 0)
                    tables = b"".join(
                        bytes(bytearray(min(v, 255) for v in im.quantization[k])) for k in sorted(im.quantization)
                    )
                    info["quant_tables"] = hashlib.blake2b(tables, digest_size=4).hexdigest()
            else:
                info["subsampling"] = "none"
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        info.update(format="unreadable", mode="none", subsampling="none", exif="no")
    return info


def property_matrix(paths: Iterable[str | Path]) -> np.ndarray:
    """(n, 6) float32 :data:`PROPERTY_COLUMNS` of the files; JPEG quality 0 when the file is not a JPEG."""
    rows = []
    for info in map(inspect_file, paths):
        codes = [CODES[k].index(v) if (v := info.get(k)) in CODES[k] else len(CODES[k]) for k in CODES]
        rows.append([info.get(k, 0) for k in PROPERTY_COLUMNS[:4]] + codes)
    return np.asarray(rows, dtype=np.float32).reshape(-1, len(PROPERTY_COLUMNS))
