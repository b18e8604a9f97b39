"""A fitted detector: :class:`Detector` is pickled into the MLflow model; :class:`Predictor` rebuilds its
encoder (refusing another fingerprint) and scores files or bytes, never stopping on a bad one."""

import io
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import zarr
from hydra.utils import instantiate
from zarr.storage import MemoryStore

from jpegai_fd.datasets.images import READER_VERSION, BadImage, ImageReader
from jpegai_fd.errors import UserError
from jpegai_fd.features import COMPONENT_ARRAYS
from jpegai_fd.model.decision import Decision

OK = "ok"


@dataclass
class Detector:
    """Everything needed to score new images as the run scored its test images."""

    encoder: dict  # resolved encoder config with _target_
    preprocess: dict  # resolved preprocess config with _target_
    bpp: int
    component: str  # y | yuv
    latent: str  # y | y_hat
    reader: dict  # ImageReader.settings(): reader_version, image_size, size_policy
    fingerprint: dict  # the encoder's fingerprint at training time (the cache key's)
    estimator: object  # fitted; predict_proba, classes_ (1 real, 0 fake)
    decision: Decision = field(default_factory=Decision)
    info: dict = field(default_factory=dict)  # run id, factors, dataset: for the model card

    def card(self) -> dict:
        """JSON description (everything but the estimator), saved beside the pickle as detector.json."""
        card = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "info"}
        return card | dict(estimator=type(self.estimator).__name__, decision=self.decision.describe(), run=self.info)


def check_fingerprint(trained: dict, current: dict, encoder_name: str) -> None:
    """UserError naming every differing key when the encoder here would not produce the model's latents."""
    diff = "; ".join(
        f"{k}: model {trained.get(k, '<absent>')!r} vs here {current.get(k, '<absent>')!r}"
        for k in sorted(set(trained) | set(current))
        if trained.get(k) != current.get(k)
    )
    if diff:
        raise UserError(
            f"encoder {encoder_name} differs from the one this model was trained with ({diff}); "
            f"predict with the same encoder software, weights and settings, or train a model for this one"
        )


def _memory_array(values: np.ndarray) -> zarr.Array:
    """In memory: the features code reads latents as Zarr arrays."""
    return zarr.create_array(store=MemoryStore(), data=values, chunks=values.shape, compressors=None, fill_value=0)


class Predictor:
    """A :class:`Detector` built; ``encoder_overrides`` replace recorded encoder keys (e.g. ``root``)."""

    def __init__(self, detector: Detector, encoder_overrides: dict | None = None):
        self.detector = detector
        if detector.reader.get("reader_version") != READER_VERSION:
            raise UserError(
                f"this model decoded images with image reader version {detector.reader.get('reader_version')}"
                f", this jpegai_fd has version {READER_VERSION}; use the jpegai_fd release it was trained with"
            )
        encoder_cfg = {**detector.encoder, **(encoder_overrides or {})}
        self.encoder = instantiate(encoder_cfg, _convert_="all")
        if hasattr(self.encoder, "check_rate"):
            self.encoder.check_rate(detector.bpp)
        if hasattr(self.encoder, "prepare"):
            self.encoder.prepare()
        check_fingerprint(detector.fingerprint, self.encoder.fingerprint(), encoder_cfg.get("name", "?"))
        self.preprocess = instantiate(detector.preprocess, _convert_="all")
        # At predict a size the policy cannot fit skips that image; it never stops the batch (reject = keep).
        policy = detector.reader["size_policy"]
        self.reader = ImageReader(int(detector.reader["image_size"]), "keep" if policy == "reject" else policy)
        self._real_col = list(detector.estimator.classes_).index(1)

    def read(self, source) -> tuple[np.ndarray | None, str]:
        """(pixels, 'ok') or (None, why skipped) for a path (str/Path) or the file's bytes."""
        if isinstance(source, (bytes, bytearray, memoryview)):
            if len(source) == 0:
                return None, "empty file"
            handle = io.BytesIO(bytes(source))
        else:
            handle = Path(source)
            if not handle.is_file() or handle.stat().st_size == 0:
                why = "empty file" if handle.is_file() else "not a regular file" if handle.exists() else "missing file"
                return None, why
        try:
            return self.reader.read(handle), OK
        except BadImage as exc:
            reason = str(exc)
            return None, f"wrong size: {reason}" if reason.startswith("size ") else f"unreadable: {reason}"

    def score_pixels(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        d = self.detector
        latents = self.encoder.encode(images, d.bpp)[d.latent]
        arrays = [_memory_array(np.asarray(latents[name], dtype=np.float32)) for name in COMPONENT_ARRAYS[d.component]]
        fs = self.preprocess.features(arrays, np.zeros(len(images), dtype=np.int8), None, False)
        p_real = d.estimator.predict_proba(fs.X)[:, self._real_col]
        return d.decision.apply(p_real, fs.groups, fs.n_images)

    def predict(self, sources) -> list[tuple[float, str, str]]:
        """(p_fake, label fake|real, status) per source; skipped images get (nan, '', reason)."""
        read = [self.read(s) for s in sources]
        ok = [i for i, (_, status) in enumerate(read) if status == OK]
        out = [(float("nan"), "", status) for _, status in read]
        if ok:
            p_fake, fake = self.score_pixels(np.stack([read[i][0] for i in ok]))
            for i, p, f in zip(ok, p_fake, fake):
                out[i] = (float(p), "fake" if f else "real", OK)
        return out

    def close(self) -> None:
        if hasattr(self.encoder, "close"):
            self.encoder.close()
