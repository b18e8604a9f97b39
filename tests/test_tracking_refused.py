"""A request that a live tracking server refuses (a race between parallel jobs, a bad value) costs
that one request, never the rest of the run: the run still gets its metrics and its final status."""

from __future__ import annotations

import json
import threading

from mlflow.entities import Dataset, DatasetInput
from mlflow.tracking import MlflowClient

from jfd_testing import compose_cfg, tiny_overrides
from jpegai_fd.config import settings
from jpegai_fd.tracking.mlflow_run import JOURNAL, TrackedRun
from jpegai_fd.tracking.settings import JobPlace


def _cfg(tmp_path, uri: str, experiment: str):
    return settings(
        compose_cfg([*tiny_overrides(tmp_path), f"tracking.uri={uri}", f"tracking.experiment={experiment}"])
    )


def tracked(s, folder):
    return TrackedRun(s.tracking, s.record, JobPlace(output_dir=folder))


def test_a_refused_request_is_tagged_and_the_run_still_ends_finished(mlflow_server, tmp_path, experiment_name):
    cfg = _cfg(tmp_path, mlflow_server.uri, experiment_name)
    with tracked(cfg, tmp_path / "job") as run:
        run.log_params({"model.x": "1"})
        run.log_params({"model.x": "2"})  # MLflow refuses to change a logged param, every time
        run.log_metrics({"test/accuracy": 0.75})
        run.log_text("kept", "note.txt")
    assert run.lost is None
    got = MlflowClient(mlflow_server.uri).get_run(run.run_id)
    assert got.info.status == "FINISHED"
    assert got.data.metrics["test/accuracy"] == 0.75 and got.data.params["model.x"] == "1"
    assert "log_batch refused" in got.data.tags["warning.tracking"]
    assert [a.path for a in MlflowClient(mlflow_server.uri).list_artifacts(run.run_id)] == ["config.yaml", "note.txt"]
    journal = json.loads((tmp_path / "job" / JOURNAL).read_text())
    assert journal["status"] == "FINISHED" and journal["lost"] is None and len(journal["refused"]) == 1


def test_parallel_runs_logging_the_same_new_dataset_all_end_finished(mlflow_server, tmp_path, experiment_name):
    """The race CI met: jobs of a joblib sweep log the same dataset at once, and the server's unique
    index refuses all but one of the inserts. A retry links the row that now exists."""
    cfg = _cfg(tmp_path, mlflow_server.uri, experiment_name)
    runs = [tracked(cfg, tmp_path / f"job{i}").__enter__() for i in range(8)]
    gate = threading.Barrier(len(runs))
    digests = [f"{i:016x}" for i in range(12)]  # several rounds: one race is not always lost

    def log(run):
        for digest in digests:
            gate.wait()
            inputs = [DatasetInput(Dataset(name="demo/train", digest=digest, source_type="local", source="{}"))]
            run.guarded(run.client.log_inputs, run.run_id, datasets=inputs)
        run.__exit__(None, None, None)

    threads = [threading.Thread(target=log, args=(run,)) for run in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    client = MlflowClient(mlflow_server.uri)
    for run in runs:
        got = client.get_run(run.run_id)
        assert got.info.status == "FINISHED" and run.lost is None
        assert sorted(d.dataset.digest for d in got.inputs.dataset_inputs) == digests
        assert "warning.tracking" not in got.data.tags
