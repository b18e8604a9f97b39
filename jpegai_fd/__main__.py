"""`python -m jpegai_fd [-m] key=value ...` (or `jpegai-fd`): train and evaluate one detector per grid point."""

import hydra
from omegaconf import DictConfig

from jpegai_fd import config
from jpegai_fd.cli import app, slurm


@hydra.main(version_base="1.3", config_path=str(config.CONF_DIR), config_name="config")
def train_and_evaluate(cfg: DictConfig) -> dict | None:
    # The stages load only once Hydra has composed the command line: a typo fails before torch and mlflow.
    from jpegai_fd import components, job

    place = slurm.attempt(config.job_place())  # a SLURM job started again continues its run
    return app.run(lambda: job.run_job(config.settings(cfg), components.build(cfg), place), place)


def cli() -> None:
    app.main(train_and_evaluate)


if __name__ == "__main__":
    cli()
