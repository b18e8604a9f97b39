"""Latent encoders: the offline block-DCT default and (later) the JPEG AI adapter."""

from __future__ import annotations

from omegaconf import DictConfig

from jpegai_fd.encoders.base import COMPONENTS, LATENTS, LatentEncoder, Latents
from jpegai_fd.encoders.dct import DCTEncoder
from jpegai_fd.errors import UserError


def build_encoder(cfg: DictConfig) -> LatentEncoder:
    """The encoder named by ``cfg.encoder.name``, configured from ``cfg.encoder``."""
    name = cfg.encoder.name
    if name == "dct":
        return DCTEncoder(rate_search_iters=cfg.encoder.rate_search_iters)
    if name == "jpegai":
        from jpegai_fd.encoders.jpegai import JPEGAIEncoder, JPEGAISettings  # its checks run only when chosen

        settings = JPEGAISettings.from_config(cfg.encoder)
        settings.check_rate(cfg.bpp)
        return JPEGAIEncoder(settings)
    raise UserError(f"invalid value for 'encoder.name': {name!r}; allowed values: dct, jpegai")


__all__ = ["COMPONENTS", "LATENTS", "LatentEncoder", "Latents", "DCTEncoder", "build_encoder"]
