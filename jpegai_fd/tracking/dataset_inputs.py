"""MLflow dataset inputs of a job: what it trained and tested on, for the UI's Dataset column.

One input per split: name ``<dataset>/<split>``, digest = the split's manifest hash (its first 16 hex
digits, as in the cache folder name: it changes when any image, id, label or reader setting does),
source = the dataset root, context tag = the split's role (``train`` / ``valid`` / ``test``), and a profile with
the image counts.
"""

from __future__ import annotations

import json
from mlflow.entities import Dataset, DatasetInput, InputTag
from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

DIGEST_CHARS = 16  # MLflow keeps at most 36 characters of a digest


def split_input(split, group, role: str):
    """The :class:`mlflow.entities.DatasetInput` of ``split`` (a DatasetSplit) cached as ``group``."""

    labels = [int(v) for v in split.labels]
    profile = {
        "num_images": len(labels),
        "real": sum(labels),
        "fake": len(labels) - sum(labels),
        "skipped": len(split.skipped),
    }
    dataset = Dataset(
        name=f"{split.dataset}/{split.name}",
        digest=str(group.group.attrs["manifest"])[:DIGEST_CHARS],
        source_type="local",
        source=json.dumps({"uri": str(split.root) if split.root else ""}),
        profile=json.dumps(profile),
    )
    return DatasetInput(dataset, tags=[InputTag(MLFLOW_DATASET_CONTEXT, role)])


def log_dataset_inputs(run, splits_and_groups) -> None:
    """Log ``[(train split, group), (valid split, group), (test split, group)]`` as dataset inputs of
    ``run`` (a TrackedRun), with the context tags train, valid and test."""
    roles = ("train", "valid", "test")
    inputs = [split_input(split, group, role) for (split, group), role in zip(splits_and_groups, roles)]
    # No client: the server was lost at the start (guarded then skips the call).
    run.guarded(run.client and run.client.log_inputs, run.run_id, datasets=inputs)
