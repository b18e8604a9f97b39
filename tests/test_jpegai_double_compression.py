"""JPEG AI double compression in a job: the fake reference software codes and decodes each test image at the
condition's first rate, the job's encoder extracts the decoded image's latents at the job's rate."""

from __future__ import annotations

import zarr
from fake_jpegai.install import install_fake
from jfd_testing import compose_cfg, tiny_overrides, train
from mlflow.tracking import MlflowClient

CODEC = "+robustness.conditions.codec_bpp100={_target_:jpegai_fd.perturb.CodecRecompress,bpp:100,encoder:'${encoder}'}"


def test_a_jpegai_job_scores_double_compression_in_its_own_group_and_a_rerun_extracts_nothing(tmp_path):
    root, _ = install_fake(tmp_path / "install")
    fake = ["encoder=jpegai", f"encoder.root={root}", "encoder.num_workers=1", "encoder.rate_mode=table"]
    cfg = compose_cfg(
        [*tiny_overrides(tmp_path, train=6, test=4), *fake, f"encoder.log_dir={tmp_path}/logs", "bpp=25", CODEC]
    )
    train(cfg)
    train(cfg)
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    experiments = [e.experiment_id for e in client.search_experiments()]
    first, rerun = client.search_runs(experiments, order_by=["attributes.start_time ASC"])
    m = first.data.metrics
    assert m["robust/codec_bpp100/n_real"] == 4 and m["robust/codec_bpp100/n_fake"] == 4
    assert 0 <= m["robust/codec_bpp100/roc_auc"] <= 1 and m["extract/extra_images_extracted"] == 8
    assert rerun.data.metrics["extract/images_extracted"] == 0
    assert rerun.data.metrics["extract/extra_images_extracted"] == 0
    assert rerun.data.metrics["robust/codec_bpp100/roc_auc"] == m["robust/codec_bpp100/roc_auc"]
    store = zarr.open_group(str(tmp_path / "cache.zarr"), mode="r")
    groups = [store[n.rsplit("/", 1)[0]] for n, _ in store.members(max_depth=None) if n.endswith("/done")]
    test = [g for g in groups if g.attrs["split"] == "test"]
    assert len(groups) == 4 and len(test) == 2  # train, valid, test and the condition's test group
    (codec,) = [g.attrs["reading"]["perturbation"] for g in test if "perturbation" in g.attrs["reading"]]
    assert codec["bpp"] == 100 and codec["encoder"] == "jpegai" and codec["codec"]["software_version"] == "IS"
    assert all(g.attrs["bpp"] == 25 and "/jpegai-" in g.path for g in groups)
    assert (tmp_path / "logs" / "codec").is_dir()  # the first coding's workers: their own logs
