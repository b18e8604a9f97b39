"""MLflow dataset inputs of a job (the UI's Dataset column): per split ``<dataset>/<split>``, digest = the
manifest hash, source = the root, context = the split's role, a profile with the image counts."""

import json

from mlflow.entities import Dataset, DatasetInput, InputTag
from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

DIGEST_CHARS = 16  # MLflow keeps at most 36 characters of a digest


def log_dataset_inputs(run, splits_and_groups, roles=("train", "valid", "test")) -> None:
    inputs = []
    for (split, group), role in zip(splits_and_groups, roles):
        real = sum(int(v) for v in split.labels)
        profile = {"num_images": len(split.labels), "real": real, "fake": len(split.labels) - real}
        source = json.dumps({"uri": str(split.root) if split.root else ""})
        digest = str(group.group.attrs["manifest"])[:DIGEST_CHARS]
        profile = json.dumps(profile | {"skipped": len(split.skipped)})
        dataset = Dataset(f"{split.dataset}/{split.name}", digest, "local", source, profile=profile)
        inputs.append(DatasetInput(dataset, tags=[InputTag(MLFLOW_DATASET_CONTEXT, role)]))
    # No client: the server was lost at the start (guarded then skips the call).
    run.guarded(run.client and run.client.log_inputs, run.run_id, datasets=inputs)
