#!/usr/bin/env bash
# The thesis grid's 48 combinations on the offline demo data at toy size (conf/experiment/quick_grid.yaml).
# Runs from any folder: data, cache, mlflow.db and outputs/ land in the current directory.
#   multirun_sweeps/quick_grid.sh                                  # one job after the other
#   multirun_sweeps/quick_grid.sh hydra/launcher=local_parallel    # 2 jobs at once (cache filled first)
# Extra arguments go to both steps (a factor named here replaces its sweep, e.g. classifier=rf: 24 jobs).
set -euo pipefail
# Step 1: latents depend on bpp only, so 2 extraction jobs fill the cache for all 48 training jobs
# (parallel jobs then only read it). The factor values pin the other sweeps to one value each.
python -m jpegai_fd.extract -m experiment=quick_grid component=yuv preprocess=flatten latent=y_hat classifier=rf "$@"
# Step 2: train, tune and evaluate every grid point; one MLflow parent run with 48 child runs.
python -m jpegai_fd -m experiment=quick_grid "$@"
