"""`python -m jpegai_fd [-m] key=value ...`: train and evaluate one detector per grid point."""

from jpegai_fd.cli import launch
from jpegai_fd.job import run_job

if __name__ == "__main__":
    launch(run_job)
