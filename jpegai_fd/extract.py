"""`python -m jpegai_fd.extract [-m] key=value ...`: fill the latent cache without training.

Uses the same config as the main job; ``extract.shard`` / ``extract.num_shards`` split the chunks
between processes that each own whole chunks.
"""

from __future__ import annotations

import logging

from omegaconf import DictConfig

from jpegai_fd import components
from jpegai_fd.cli import launch
from jpegai_fd.validation import validate_config

log = logging.getLogger(__name__)


def extract_latents(cfg: DictConfig) -> dict[str, int]:
    """Extract the train, valid and test latents of ``cfg`` at ``cfg.bpp``; return images extracted per split."""
    validate_config(cfg)
    dataset = components.build_group(cfg, "dataset")
    encoder = components.build_encoder(cfg)
    done = {}
    train, test = components.load_splits(cfg, dataset)
    for split in (train, components.load_valid_split(cfg, dataset), test):
        _, stats = components.latents(cfg, split, encoder, dataset)
        done[split.name] = stats.extracted
    if cfg.get("eval") or cfg.get("robustness") or cfg.get("eval_bpp"):  # extra sets, conditions, rates
        from jpegai_fd.extra_eval import extract_extras

        done.update(extract_extras(cfg, encoder, test, dataset))
    log.info(
        "extract: %s (shard %d of %d)",
        ", ".join(f"{k} {v} new" for k, v in done.items()),
        cfg.extract.shard,
        cfg.extract.num_shards,
    )
    return done


if __name__ == "__main__":
    launch(extract_latents, tracked=False)  # extraction logs no MLflow run
