"""Recompression by the job's codec at a first rate, then encoded at the job's rate (docs/concepts/beyond.md); JPEG AI
runs its full path (0.3-1.9 s per image on 2 CPU cores in table mode, ~14 s with the rate search)."""

from dataclasses import dataclass, field
from typing import Any

from jpegai_fd.encoders.dct import DCTEncoder
from jpegai_fd.encoders.dct_decode import decode_dct
from jpegai_fd.encoders.jpegai import JPEGAIEncoder
from jpegai_fd.errors import UserError
from jpegai_fd.perturb.base import Perturbation, ranged, sha16


@dataclass(frozen=True)
class CodecRecompress(Perturbation):
    """Code at ``bpp`` with ``encoder``'s codec ("dct", or the job's DCT or JPEG AI encoder) and decode."""

    bpp: ranged(1, 2400, int) = 25
    encoder: Any = "dct"  # the name once built; the JPEG AI encoder is kept in ``_jpegai``
    rate_search_iters: ranged(1, 64, int) = 24
    _jpegai: Any = field(default=None, init=False, repr=False, compare=False)
    name = "codec"
    key_fields = {"bpp": "bpp"}

    def __post_init__(self):
        super().__post_init__()
        enc, name = self.encoder, getattr(self.encoder, "name", self.encoder)
        if isinstance(enc, JPEGAIEncoder):
            enc.check_rate(self.bpp)  # its own one-line refusal of a rate it cannot code (table mode)
            full_path = enc.settings.model_copy(update={"fast_path": False, "log_dir": enc.settings.log_dir / "codec"})
            object.__setattr__(self, "_jpegai", JPEGAIEncoder(full_path, enc.name))
        elif isinstance(enc, DCTEncoder):
            object.__setattr__(self, "rate_search_iters", enc.rate_search_iters)
        elif enc != "dct":
            raise UserError(
                f"invalid value for 'codec.encoder': {name!r} has no decode path; use dct or the job's encoder "
                f"(encoder: ${{encoder}}) with encoder=dct or jpegai, or drop the codec conditions"
            )
        object.__setattr__(self, "encoder", "jpegai" if self._jpegai else "dct")

    def describe(self) -> dict:
        # The codec's own fingerprint: DCT numerics, or the JPEG AI setup (software, cfg, weights, compute).
        return {**super().describe(), "codec": self._codec().fingerprint()}

    def digest(self) -> str:
        # Checked at build time, before any work: JPEG AI's fingerprint reads the installation, its settings do not.
        if self._jpegai is None:
            return super().digest()
        return sha16({**super().describe(), "settings": self._jpegai.settings.model_dump(mode="json")})

    def _codec(self):
        return self._jpegai or DCTEncoder(rate_search_iters=self.rate_search_iters)

    def apply(self, image, image_id):
        return self.apply_batch(image[None], [image_id])[0]

    def apply_batch(self, images, image_ids):
        # One batched encode: the rate search runs per image, so batching never changes the result.
        if self._jpegai is not None:
            return self._jpegai.reconstruct(images, self.bpp)
        return decode_dct(self._codec().encode(images, self.bpp)["y_hat"], *images.shape[1:3])
