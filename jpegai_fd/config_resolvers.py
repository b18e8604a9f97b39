"""OmegaConf resolvers that the config files use (registered when ``jpegai_fd`` is imported)."""

from __future__ import annotations

import secrets

from omegaconf import ListConfig, OmegaConf

# Both encoders (block DCT and JPEG AI's analysis transform) map an image side s to ceil(s / 16)
# latent positions, so a classifier that needs the grid follows dataset.image_size by itself.
LATENT_STRIDE = 16
# Drawn once per process: two commands started in the same second get different output folders.
_LAUNCH_ID = secrets.token_hex(3)


def latent_grid(image_side) -> ListConfig:
    """``${latent_grid:${dataset.image_size}}`` -> [H, W] of the latents of a square image."""
    side = -(-int(image_side) // LATENT_STRIDE)
    return ListConfig([side, side])  # a config node, so that --cfg job --resolve can print it


def launch_id() -> str:
    """``${launch_id:}`` -> 6 hex digits, the same for the whole launching process.

    Cached on the config (``use_cache``), like Hydra's ``${now:}``: Hydra copies a config's resolver
    cache into each job's config (joblib workers, SLURM jobs), so jobs, which draw another id in their
    own process, still resolve the launching process's value and find their sweep folder."""
    return _LAUNCH_ID


def register() -> None:
    OmegaConf.register_new_resolver("latent_grid", latent_grid, replace=True)
    OmegaConf.register_new_resolver("launch_id", launch_id, replace=True, use_cache=True)
