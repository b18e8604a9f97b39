"""`python -m jpegai_fd [-m] key=value ...`: train and evaluate one detector per grid point."""

from omegaconf import DictConfig

from jpegai_fd.cli import launch


def train_and_evaluate(cfg: DictConfig):
    """The job; imported on first use so that a bad override is refused before the heavy imports."""
    from jpegai_fd.job import run_job

    return run_job(cfg)


if __name__ == "__main__":
    launch(train_and_evaluate)
