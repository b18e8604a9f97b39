"""`python -m jpegai_fd.extract [-m] key=value ...`: fill the latent cache without training (the main job's
config; ``extract.shard``/``extract.num_shards`` split the chunks between processes)."""

import logging

import hydra
from omegaconf import DictConfig

from jpegai_fd import config
from jpegai_fd.cli import app

log = logging.getLogger(__name__)


def extract_latents(s, parts) -> dict[str, int]:
    """Extract the train, valid and test latents (and the extra sets', conditions' and rates') of a job."""
    from jpegai_fd import job
    from jpegai_fd.cache.extraction import Latents
    from jpegai_fd.extra_eval import extract_extras

    data = job.load_data(parts, s)
    job.extract(data, parts, s)
    pieces = [(kind, sp) for kind, found in data.items() for sp in found]
    name = {parts.dataset.name: ""}  # the job's dataset's splits by their role, a source's as <source>/<role>
    done = {}
    for kind, sp in pieces:  # with the augmented copies of a training split's images (train_aug_<condition>)
        prefix = name.get(sp.images.dataset, f"{sp.images.dataset}/")
        done[prefix + kind] = sp.stats.extracted
        done.update({prefix + copies.name: stats.extracted for _, copies, _, stats in sp.augmented})
    latents = Latents(s.cache, parts.encoder, s.extract)
    done.update(extract_extras(parts.extras, data["test"][0].images, parts.dataset, latents, s.grid.bpp, s.grid.seed))
    shards = f"shard {s.extract.shard} of {s.extract.num_shards}"
    log.info("extract: %s (%s)", ", ".join(f"{k} {v} new" for k, v in done.items()), shards)
    return done


@hydra.main(version_base="1.3", config_path=str(config.CONF_DIR), config_name="config")
def extract_app(cfg: DictConfig) -> dict | None:
    from jpegai_fd import components  # after composition: a typo fails before torch and zarr load

    return app.run(lambda: extract_latents(config.settings(cfg), components.build(cfg)), config.job_place())


def cli() -> None:
    app.main(extract_app)


if __name__ == "__main__":
    cli()
