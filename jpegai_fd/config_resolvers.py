"""OmegaConf resolvers that the config files use (registered when ``jpegai_fd`` is imported)."""

from __future__ import annotations

from omegaconf import ListConfig, OmegaConf

# Both encoders (block DCT and JPEG AI's analysis transform) map an image side s to ceil(s / 16)
# latent positions, so a classifier that needs the grid follows dataset.image_size by itself.
LATENT_STRIDE = 16


def latent_grid(image_side) -> ListConfig:
    """``${latent_grid:${dataset.image_size}}`` -> [H, W] of the latents of a square image."""
    side = -(-int(image_side) // LATENT_STRIDE)
    return ListConfig([side, side])  # a config node, so that --cfg job --resolve can print it


def register() -> None:
    OmegaConf.register_new_resolver("latent_grid", latent_grid, replace=True)
