"""Latent encoders: the offline block-DCT default and the JPEG AI reference-software adapter. A new
encoder is one module implementing :class:`~.base.LatentEncoder` plus ``conf/encoder/<name>.yaml``."""

from jpegai_fd.encoders.dct import DCTEncoder

__all__ = ["DCTEncoder"]
