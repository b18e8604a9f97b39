"""Latent encoders (block DCT, JPEG AI); a new one implements :class:`~.base.LatentEncoder` + its conf/ yaml."""

from jpegai_fd.encoders.dct import DCTEncoder

__all__ = ["DCTEncoder"]
