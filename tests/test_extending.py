"""docs/how-to/extending.md: an encoder, a dataset layout and a preprocessing method added from outside the
package (tests/extending/: one module, one YAML file each) run through the real command line."""

from __future__ import annotations

import pytest

import os

from jfd_testing import REPO, run_cli
from mlflow.tracking import MlflowClient
from PIL import Image

from jpegai_fd.datasets.generators import make_image

EXTENDING = REPO / "tests" / "extending"


def write_images(root, per_class: dict[str, int]) -> None:
    root.mkdir(parents=True)
    for split, n in per_class.items():
        for label, text in ((1, "real"), (0, "fake")):
            for i in range(n):
                pixels, _ = make_image(label, 5, 100 * i + label + (0 if split == "train" else 50), 64)
                Image.fromarray(pixels).save(root / f"{split}_{text}_{i}.png")


@pytest.mark.slow
def test_new_components_by_target_alone_run_a_job(tmp_path):
    write_images(tmp_path / "data" / "prefixed", {"train": 8, "valid": 4, "test": 4})
    env = {"PYTHONPATH": os.pathsep.join([str(EXTENDING), os.environ.get("PYTHONPATH", "")])}
    args = [
        "--config-dir",
        str(EXTENDING / "conf"),
        "encoder=blockmean",
        "dataset=prefixed",
        "preprocess=corner",
        "debug=tiny",
        f"paths.data_dir={tmp_path}/data",
        f"paths.cache={tmp_path}/cache.zarr",
        f"tracking.uri=sqlite:///{tmp_path}/mlflow.db",
        "bpp=6",
    ]
    result = run_cli("jpegai_fd", args, cwd=tmp_path, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    (run,) = client.search_runs([client.get_experiment_by_name("jpegai_fd").experiment_id])
    assert run.info.status == "FINISHED"
    tags = run.data.tags
    assert (tags["encoder"], tags["dataset"], tags["preprocess"]) == ("blockmean", "prefixed", "corner")
    # One position, 1 + 2 channels (yuv) per sample: the new method's features.
    assert run.data.metrics["data/num_features"] == 3 and run.data.metrics["data/train_images"] == 16
    # The new options are checked like the built-in ones: a bad group option names the new ones too.
    bad = run_cli("jpegai_fd", [*args, "preprocess=nope"], cwd=tmp_path, timeout=120, env=env)
    assert bad.returncode == 2 and "corner" in bad.stderr and "flatten" in bad.stderr
