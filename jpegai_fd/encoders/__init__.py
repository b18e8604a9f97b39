"""Latent encoders: the offline block-DCT default and the JPEG AI reference-software adapter.

Each ``conf/encoder/<name>.yaml`` names its class with ``_target_``; the job builds it with
``hydra.utils.instantiate`` (see :mod:`jpegai_fd.components`), so a new encoder is one module
implementing :class:`LatentEncoder` plus one YAML file.
"""

from jpegai_fd.encoders.dct import DCTEncoder

__all__ = ["DCTEncoder"]
