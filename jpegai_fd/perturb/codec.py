"""Recompression by the encoder's own codec at a rate. ``encoder=jpegai`` is refused (:data:`JPEGAI_NEEDS`; the
extra ``compress`` would cost 0.3-1.9 s per image on 2 CPU cores in table mode, ~14 s with the rate search)."""

from dataclasses import dataclass

from jpegai_fd.encoders.dct import DCTEncoder
from jpegai_fd.encoders.dct_decode import decode_dct
from jpegai_fd.errors import UserError
from jpegai_fd.perturb.base import Perturbation, ranged

JPEGAI_NEEDS = (
    "the adapter to return the software's reconstruction: CodingEngine.compress returns (rec, "
    "decisions) and the worker drops rec; it must send rec (RGB 4:4:4, range 0..255, converted "
    "to uint8) back for each image (see jpegai_fd/perturb/codec.py)"
)


@dataclass(frozen=True)
class CodecRecompress(Perturbation):
    """Code at ``bpp`` with ``encoder``'s codec and decode: the image as that codec delivers it."""

    bpp: ranged(1, 2400, int) = 25
    encoder: str = "dct"
    rate_search_iters: ranged(1, 64, int) = 24
    name = "codec"

    def __post_init__(self):
        super().__post_init__()
        if self.encoder == "jpegai":
            raise UserError(
                f"perturbation codec (recompression at bpp={self.bpp}) is not supported for encoder=jpegai yet: needs "
                f"{JPEGAI_NEEDS}; drop the codec conditions, e.g. '~robustness.conditions.codec_bpp{self.bpp}'"
            )
        if self.encoder != "dct":
            raise UserError(f"invalid value for 'codec.encoder': {self.encoder!r}; allowed values: dct")

    def key_params(self):
        return [("bpp", self.bpp)]

    def describe(self) -> dict:
        # The codec's own fingerprint: a change of the DCT encoder's numerics changes the images.
        return {**super().describe(), "codec": self._codec().fingerprint()}

    def _codec(self) -> DCTEncoder:
        return DCTEncoder(rate_search_iters=self.rate_search_iters)

    def apply(self, image, image_id):
        return self.apply_batch(image[None], [image_id])[0]

    def apply_batch(self, images, image_ids):
        # One batched encode: the rate search runs per image, so batching never changes the result.
        return decode_dct(self._codec().encode(images, self.bpp)["y_hat"], *images.shape[1:3])
