"""``encoder=jpegai``: latents from the JPEG AI reference software, computed in worker subprocesses.

Shaped like the DCT encoder's (``model_y`` 160, ``model_uv`` 96 channels at ceil(H/16) x ceil(W/16)); with
``encoder.keep_extras`` an ``extras`` entry too (docs/how-to/jpegai.md). Images that fail twice are flagged in
``failed`` with zero latents."""

import hashlib
import itertools
import logging
import weakref

import numpy as np

from jpegai_fd.encoders.base import COMPONENTS, LATENTS, Latents
from jpegai_fd.encoders.jpegai.checkout import inspect_checkout
from jpegai_fd.encoders.jpegai.pool import WorkerPool
from jpegai_fd.encoders.jpegai.settings import JPEGAISettings
from jpegai_fd.errors import UserError

log = logging.getLogger(__name__)
# 2: the rate search's tolerances are reset before each image (they leaked from image to image).
ADAPTER_VERSION = 2
CHANNELS = {"model_y": 160, "model_uv": 96}
EXTRA_DTYPES = {"residual_quant": "int16", "scale_log": "int32", "z_hat": "int8"}


class JPEGAIEncoder:
    """``LatentEncoder`` over the software: ``prepare()`` checks it once, workers start on the first encode."""

    def __init__(self, settings: JPEGAISettings, name: str = "jpegai"):
        self.name = name
        self.settings = settings
        self.checkout = self._fingerprint = self._pool = None  # set by prepare(), encode()
        self.stats = {"start_seconds": None, "images": 0, "failed": 0}
        # Stops the workers when the encoder is garbage-collected or at interpreter exit.
        self._finalizer = weakref.finalize(self, _close_pool, self.__dict__)

    @classmethod
    def from_keys(cls, name: str = "jpegai", **keys) -> "JPEGAIEncoder":
        """The ``_target_`` of ``conf/encoder/jpegai.yaml``: its keys, checked (nothing is run or read)."""
        return cls(JPEGAISettings.checked(**keys), name)

    def prepare(self) -> None:
        """Check the installation and the weights once (one-line UserErrors), before any work."""
        if self._fingerprint is not None:
            return
        s = self.settings
        self.checkout = c = inspect_checkout(s)
        found = {k: getattr(s, k) for k in ("profile", "tools", "cfg_files", "rate_mode", "chroma")}
        found |= dict(encoder=self.name, adapter_version=ADAPTER_VERSION, software_version=c.version)
        found |= dict(codec_name=c.codec_name, cfg_sha256=c.cfg_sha256, overrides=list(s.overrides), weights=c.weights)
        # Float sums differ (~1e-7 in y) with the thread count and on GPU; the worker count never matters.
        found["compute"] = "cuda" if s.on_gpu else f"cpu/{s.threads_per_worker} threads"
        self._fingerprint = found | dict(valid_for_science=not c.weights["missing"], extras=s.keep_extras)

    def check_rate(self, bpp: int) -> None:
        self.settings.check_rate(bpp)

    def fingerprint(self) -> dict:
        self.prepare()
        return dict(self._fingerprint)

    def latent_shapes(self, height: int, width: int) -> dict[str, tuple[int, int, int]]:
        h, w = -(-height // 16), -(-width // 16)
        return {c: (CHANNELS[c], h, w) for c in COMPONENTS}

    def extra_shapes(self, height: int, width: int) -> dict[str, tuple[tuple[int, ...], str]]:
        """Per-image shape and dtype of each ``extras`` entry ({} unless encoder.keep_extras)."""
        if not self.settings.keep_extras:
            return {}
        grids = {"z_hat": (-(-height // 64), -(-width // 64))}  # the hyper latent: 1/64 of the image
        out: dict[str, tuple[tuple[int, ...], str]] = {"tool_id": ((), "int8")}
        for c, name in itertools.product(COMPONENTS, EXTRA_DTYPES):
            grid = grids.get(name, (-(-height // 16), -(-width // 16)))
            out[f"{c}/{name}"] = ((CHANNELS[c], *grid), EXTRA_DTYPES[name])
        return out

    def encode(self, images: np.ndarray, bpp: int) -> Latents:
        self.settings.check_rate(bpp)
        self.prepare()
        if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
            raise ValueError(f"expected (N, H, W, 3) uint8 images, got {images.shape} {images.dtype}")
        n, height, width, _ = images.shape
        batch = self._ensure_pool(bpp).encode(images, bpp, _names(images))
        shapes = self.latent_shapes(height, width)
        out: Latents = {lat: {c: np.zeros((n, *shapes[c]), np.float32) for c in COMPONENTS} for lat in LATENTS}
        extras = {k: np.zeros((n, *shape), dtype) for k, (shape, dtype) in self.extra_shapes(height, width).items()}
        for i, (arrays, meta) in enumerate(zip(batch.arrays, batch.meta)):
            if arrays is not None:
                # The chroma format the software actually coded must be the one asked for.
                got, chroma = (meta.get("c_ver"), meta.get("c_hor")), self.settings.chroma
                if None not in got and got != ((2, 2) if chroma == "420" else (1, 1)):
                    raise RuntimeError(f"JPEG AI coded chroma with c_ver/c_hor={got}, but encoder.chroma={chroma}")
                for key in [f"{lat}/{c}" for lat in LATENTS for c in COMPONENTS]:
                    lat, c = key.split("/")
                    if arrays[key].shape != shapes[c]:
                        raise RuntimeError(f"JPEG AI returned {key} of shape {arrays[key].shape}, expected {shapes[c]}")
                    out[lat][c][i] = arrays[key]
                for k in extras:
                    extras[k][i] = meta["tool_id"] if k == "tool_id" else arrays[f"extras/{k}"]
        if extras:
            out["extras"] = extras
        if batch.failed:
            out["failed"] = np.isin(np.arange(n), list(batch.failed))
            errors = "; ".join(f"#{i}: {err}" for i, err in sorted(batch.failed.items()))
            log.error("JPEG AI: %d of %d images failed twice and are left out: %s", len(batch.failed), n, errors)
        self.stats["images"] += n - len(batch.failed)
        self.stats["failed"] += len(batch.failed)
        return out

    def reconstruct(self, images: np.ndarray, bpp: int) -> np.ndarray:
        """``images`` coded at ``bpp`` and decoded by the software, (N, H, W, 3) uint8; an image that fails twice
        ends the run (no black stand-in is scored). Needs fast_path off: the fast path skips the synthesis."""
        if self.settings.fast_path:
            raise ValueError("reconstruct needs encoder.fast_path=false (the fast path skips the synthesis)")
        self.settings.check_rate(bpp)
        self.prepare()
        batch = self._ensure_pool(bpp).encode(images, bpp, _names(images), rec=True)
        if batch.failed:
            raise RuntimeError(f"JPEG AI could not code {len(batch.failed)} image(s) to recompress them (see the log)")
        return np.stack([arrays["rec"] for arrays in batch.arrays])

    def _ensure_pool(self, bpp: int) -> WorkerPool:
        if self._pool is None:
            pool = WorkerPool(self.settings, bpp)
            infos = pool.start()
            try:
                self._verify_requested(infos[0].get("requested", []))
            except BaseException:
                pool.close()
                raise
            self._pool = pool  # only a started and verified pool is kept: a failed start is retried whole
            self.stats["start_seconds"] = pool.start_seconds
            about = [infos[0].get(k) for k in ("version", "python", "torch", "device")]
            about += ["on" if self.settings.fast_path else "off", self.settings.log_dir]
            what = "software %s, python %s, torch %s, device %s, fast path %s, logs in %s"
            log.info(f"JPEG AI: %d worker(s) ready in %.1f s ({what})", len(infos), pool.start_seconds, *about)
        return self._pool

    def _verify_requested(self, requested: list) -> None:
        """The worker logged every weight file the software asked for: refuse if one is missing."""
        missing = sorted(f"{m}/{f}" for m, f, found in requested if not found)
        unexpected = sorted({f"{m}/{f}" for m, f, _ in requested} - set(self.checkout.weight_files))
        if unexpected:
            what = (self.settings.profile, ", ".join(unexpected))
            log.warning("JPEG AI asked for weight files not in the adapter's list for profile %s: %s", *what)
        if missing and not self.settings.allow_missing_weights:
            raise UserError(
                f"the JPEG AI software asked for weight files missing from '{self.settings.models_dir}': "
                f"{', '.join(missing[:6])}; install them or set encoder.models_dir"
            )

    def close(self) -> None:
        """Stop the workers (also done at exit); a later encode starts new ones."""
        _close_pool(self.__dict__)


def _names(images: np.ndarray) -> list[str]:
    """A short content hash names each image inside the software (its rate search keys files by name)."""
    return [hashlib.sha1(np.ascontiguousarray(im).tobytes()).hexdigest()[:12] for im in images]


def _close_pool(state: dict) -> None:
    pool, state["_pool"] = state.get("_pool"), None
    if pool is not None:
        pool.close()
