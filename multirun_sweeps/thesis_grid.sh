#!/usr/bin/env bash
# The full thesis grid: 48 jobs, 30,000 / 3,000 images of faces140k, JPEG AI latents
# (conf/experiment/thesis_grid.yaml). Needs the dataset under paths.data_dir and JPEGAI_ROOT set.
#   multirun_sweeps/thesis_grid.sh                           # on this machine, one job after the other
#   EXTRACT_ARGS="hydra/launcher=slurm_gpu encoder.device=0 extract.num_shards=4 extract.shard=0,1,2,3" \
#   TRAIN_ARGS="hydra/launcher=slurm_cpu n_jobs=14" multirun_sweeps/thesis_grid.sh   # on a SLURM cluster
# Extra arguments go to both steps (e.g. paths.data_dir=/data tracking.uri=http://mlflow.lab:5000).
set -euo pipefail
# Step 1, the only one that runs JPEG AI: latents depend on bpp only (2 x 2 splits to extract).
# shellcheck disable=SC2086  # *_ARGS are word lists on purpose
python -m jpegai_fd.extract -m experiment=thesis_grid component=yuv preprocess=flatten latent=y_hat classifier=rf \
    ${EXTRACT_ARGS:-} "$@"
# Step 2: the 48 training jobs read the cache (one MLflow parent run, 48 child runs).
# shellcheck disable=SC2086
python -m jpegai_fd -m experiment=thesis_grid ${TRAIN_ARGS:-} "$@"
