"""The trained detector as a product, through real processes where a process is what a user meets (exit codes,
error lines, ``mlflow models serve``), in-process elsewhere: a job logs its model, ``promote``
registers it with an alias, ``predict`` scores folders (bad files included) and reproduces the run's
own test scores, a different encoder is refused, ``mlflow models serve`` answers like ``predict``."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import pickle
import signal
import subprocess
import sys
import time
import urllib.request
import zlib
from dataclasses import replace
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from PIL import Image

from conftest import free_port
from jfd_testing import compose_cfg, job_inputs, load_splits, run_cli, tiny_overrides
from jpegai_fd.cli.predict import main as predict_main
from jpegai_fd.cli.promote import main as promote_main
from jpegai_fd.job import run_job
from jpegai_fd.model import Decision
from jpegai_fd.model.pyfunc import save_detector
from jpegai_fd.scoring.calibration import Calibrator
from jpegai_fd.scoring.threshold import choose_threshold
from jpegai_fd.scoring.vote import choose_vote_threshold, fake_vote_share, majority_vote
from jpegai_fd.tracking.settings import JobPlace


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """A two-job tiny sweep (flatten and multi-patch) on the sqlite default; yields (tmp, uri, {preprocess: run})."""
    tmp = tmp_path_factory.mktemp("model_sweep")
    result = run_cli(
        "jpegai_fd", ["-m", "preprocess=flatten,multi", *tiny_overrides(tmp), f"hydra.sweep.dir={tmp}/sweep"], cwd=tmp
    )
    assert result.returncode == 0, result.stderr[-3000:]
    uri = f"sqlite:///{tmp}/mlflow.db"
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("jpegai_fd")
    runs = client.search_runs([exp.experiment_id], "tags.`jpegai_fd.role` = 'job'")
    return tmp, uri, {r.data.tags["preprocess"]: r for r in runs}


def split_images(tmp: Path) -> tuple[list[str], list[str]]:
    """(ids, paths) of the tiny sweep's test split, as the job listed them."""
    cfg = compose_cfg(tiny_overrides(tmp))
    _, test = load_splits(cfg)
    return [str(i) for i in test.ids], [str(p) for p in test.paths]


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def run_scores(client: MlflowClient, run_id: str, tmp: Path) -> dict[str, dict]:
    text = Path(client.download_artifacts(run_id, "scores/test_scores.csv", str(tmp))).read_text()
    return {row["id"]: row for row in csv.DictReader(io.StringIO(text))}


def png_header_says(png: bytes, width: int, height: int) -> bytes:
    """``png`` with its IHDR claiming ``width`` x ``height`` (CRC fixed): a reader trusting the header sees that size."""
    ihdr = png[12:16] + width.to_bytes(4, "big") + height.to_bytes(4, "big") + png[24:29]
    return png[:8] + png[8:12] + ihdr + zlib.crc32(ihdr).to_bytes(4, "big") + png[33:]


def png_bytes(size: int, value: int = 128) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), (value, value // 2, 255 - value)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.slow
def test_every_job_logs_a_pyfunc_model_with_signature_and_example(sweep):
    tmp, uri, runs = sweep
    client = MlflowClient(uri)
    mlflow.set_tracking_uri(uri)  # runs:/ URIs resolve against it
    for run in runs.values():
        files = {a.path for a in client.list_artifacts(run.info.run_id, "model")}
        assert {"model/MLmodel", "model/input_example.json", "model/served.py"} <= files
        info = mlflow.models.get_model_info(f"runs:/{run.info.run_id}/model")
        history = json.loads(run.data.tags["mlflow.log-model.history"])  # what the UI lists as the run's model
        assert [(m["artifact_path"], m["run_id"]) for m in history] == [("model", run.info.run_id)]
        assert "python_function" in history[0]["flavors"]
        assert info.signature.inputs.input_names() == ["path", "image"]
        assert info.signature.outputs.input_names() == ["p_fake", "label", "status"]
        card = json.loads(
            Path(client.download_artifacts(run.info.run_id, "model/artifacts/detector.json", str(tmp))).read_text()
        )
        assert card["encoder"]["_target_"] == "jpegai_fd.encoders.dct.DCTEncoder"
        assert card["preprocess"]["name"] == run.data.tags["preprocess"]
        assert (card["bpp"], card["component"], card["latent"]) == (12, "yuv", "y_hat")
        assert card["reader"]["image_size"] == 64 and card["fingerprint"]["encoder"] == "dct"
        # Loaded in process, it scores bytes (the served form) and paths alike.
        model = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
        out = model.predict(pd.DataFrame({"image": [png_bytes(64), png_bytes(32), b"not an image"]}))
        assert list(out.columns) == ["p_fake", "label", "status"]
        assert out["status"][0] == "ok" and 0 <= out["p_fake"][0] <= 1 and out["label"][0] in ("fake", "real")
        assert out["status"][1].startswith("wrong size") and out["status"][2].startswith("unreadable")
        assert out["p_fake"][1:].isna().all()
        as_text = model.predict(pd.DataFrame({"image": [base64.b64encode(png_bytes(64)).decode()]}))
        assert as_text["p_fake"][0] == out["p_fake"][0]  # base64 text is decoded too
        # The per-image test scores: one row per test image, decisions that give the logged accuracy.
        scores = run_scores(client, run.info.run_id, tmp)
        assert len(scores) == 12
        correct = sum(row["label"] == row["pred"] for row in scores.values())
        assert correct / 12 == pytest.approx(run.data.metrics["test/accuracy_at_valid"])
        # The run's model as an MLflow 3 logged model too: the UI's Models column and Models tab list it.
        (logged,) = client.search_logged_models([run.info.experiment_id], f"source_run_id = '{run.info.run_id}'")
        assert str(logged.status) == "READY" and logged.name == "detector"
        assert logged.tags["preprocess"] == run.data.tags["preprocess"]
        assert logged.model_id in {o.model_id for o in client.get_run(run.info.run_id).outputs.model_outputs}
        assert mlflow.pyfunc.load_model(f"models:/{logged.model_id}").metadata.signature == info.signature


@pytest.mark.slow
@pytest.mark.parametrize("preprocess", ["flatten", "multi"])
def test_predict_on_the_test_images_gives_the_runs_test_scores(sweep, preprocess):
    tmp, uri, runs = sweep
    run = runs[preprocess]
    ids, paths = split_images(tmp)
    out = tmp / f"pred_{preprocess}.csv"
    # Batches of 5 cut the images differently from the cache's chunks of 8. In-process: the command runs as a
    # process in the tests below.
    model = f"runs:/{run.info.run_id}/model"
    assert predict_main(["--tracking-uri", uri, "--model", model, *paths, "--out", str(out), "--batch-size", "5"]) == 0
    predicted = {row["path"]: row for row in read_csv(out)}
    scores = run_scores(MlflowClient(uri), run.info.run_id, tmp)
    for image_id, path in zip(ids, paths):
        row, expected = predicted[path], scores[image_id]
        assert row["status"] == "ok"
        assert row["p_fake"] == expected["p_fake"], (path, row, expected)
        assert row["label"] == ("real" if expected["pred"] == "1" else "fake")


@pytest.mark.slow
def test_predict_on_a_folder_with_bad_files_writes_their_reasons(sweep):
    tmp, uri, runs = sweep
    _, paths = split_images(tmp)
    folder = tmp / "incoming"
    (folder / "sub").mkdir(parents=True)
    for i, path in enumerate(paths[:3]):
        (folder / "sub" / f"good{i}.png").write_bytes(Path(path).read_bytes())
    (folder / "junk.png").write_text("not an image")
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "big.png").write_bytes(png_bytes(80))
    (folder / "cut.png").write_bytes(png_bytes(64)[:60])
    (folder / "huge.png").write_bytes(png_header_says(png_bytes(64), 10_000, 10_000))  # PIL: a decompression bomb
    out = tmp / "incoming.csv"
    result = run_cli(
        "jpegai_fd.cli.predict",
        [
            "--tracking-uri",
            uri,
            "--model",
            f"runs:/{runs['flatten'].info.run_id}/model",
            str(folder),
            "--out",
            str(out),
            "--batch-size",
            "2",
        ],
        cwd=tmp,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = {Path(r["path"]).name: r for r in read_csv(out)}
    assert set(rows) == {
        "good0.png",
        "good1.png",
        "good2.png",
        "junk.png",
        "empty.jpg",
        "big.png",
        "cut.png",
        "huge.png",
    }
    assert all(
        rows[f"good{i}.png"]["status"] == "ok" and rows[f"good{i}.png"]["label"] in ("fake", "real") for i in range(3)
    )
    assert rows["junk.png"]["status"].startswith("unreadable: unrecognised format")
    assert rows["empty.jpg"]["status"] == "empty file"
    assert rows["big.png"]["status"].startswith("wrong size: size 80x80, expected 64x64")
    assert rows["cut.png"]["status"].startswith("unreadable")
    assert rows["huge.png"]["status"].startswith("unreadable: too large")  # from the header, never decoded
    assert "DecompressionBomb" not in result.stderr
    assert all(rows[n]["p_fake"] == "" and rows[n]["label"] == "" for n in ("junk.png", "empty.jpg", "big.png"))
    summary = [line for line in result.stdout.splitlines() if line.startswith("predicted")]
    assert len(summary) == 1 and "predicted 8 images" in summary[0] and "5 skipped" in summary[0]
    assert "predict: 8/8 img" in result.stderr  # progress


@pytest.mark.slow
def test_a_different_encoder_fingerprint_is_refused_naming_both(sweep):
    tmp, uri, runs = sweep
    _, paths = split_images(tmp)
    out = tmp / "refused.csv"
    result = run_cli(
        "jpegai_fd.cli.predict",
        [
            "--tracking-uri",
            uri,
            "--model",
            f"runs:/{runs['flatten'].info.run_id}/model",
            paths[0],
            "--encoder",
            "rate_search_iters=10",
            "--out",
            str(out),
        ],
        cwd=tmp,
    )
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "Traceback" not in result.stderr
    assert "rate_search_iters: model 24 vs here 10" in errors[0]
    assert not out.exists()  # refused before any image


@pytest.mark.slow
def test_promote_registers_the_best_job_of_the_sweep_with_alias_and_tags(sweep, capsys):
    tmp, uri, runs = sweep
    # In-process, but for the error at the end (its exit code and line).
    args = ["--sweep", "latest", "--metric", "test/roc_auc", "--name", "faces", "--alias", "champion"]
    assert promote_main(["--tracking-uri", uri, *args]) == 0
    best = max(runs.values(), key=lambda r: (r.data.metrics["test/roc_auc"], -r.info.start_time))
    client = MlflowClient(uri)
    version = client.get_model_version_by_alias("faces", "champion")
    assert version.run_id == best.info.run_id
    for factor in ("bpp", "component", "preprocess", "latent", "classifier", "encoder", "dataset"):
        assert version.tags[factor] == best.data.tags[factor]
    assert float(version.tags["metric.test/roc_auc"]) == pytest.approx(best.data.metrics["test/roc_auc"], abs=1e-5)
    assert "models:/faces@champion" in capsys.readouterr().out
    # --run moves the alias to another job's model; models:/ URIs predict like runs:/ ones.
    other = next(r for r in runs.values() if r.info.run_id != best.info.run_id)
    assert promote_main(["--tracking-uri", uri, "--run", other.info.run_id, "--name", "faces"]) == 0
    assert client.get_model_version_by_alias("faces", "champion").run_id == other.info.run_id
    missing = run_cli(
        "jpegai_fd.cli.promote", ["--tracking-uri", uri, "--sweep", "latest", "--metric", "test/nope"], cwd=tmp
    )
    assert missing.returncode == 2 and "test/nope" in missing.stderr and "Traceback" not in missing.stderr


@pytest.mark.slow
def test_promote_of_a_resumed_sweep_registers_the_reused_runs_model(sweep):
    tmp, uri, runs = sweep
    # Another sweep (other override order, so another parent run) over the same configs: resume copies
    # the finished runs under the new parent, without their artifacts.
    rerun = run_cli(
        "jpegai_fd",
        [
            "-m",
            "preprocess=multi,flatten",
            *tiny_overrides(tmp),
            "tracking.resume=true",
            f"hydra.sweep.dir={tmp}/sweep_resumed",
        ],
        cwd=tmp,
    )
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert promote_main(["--tracking-uri", uri, "--sweep", "latest", "--name", "resumed"]) == 0  # in-process
    client = MlflowClient(uri)
    version = client.get_model_version_by_alias("resumed", "champion")
    copy = client.get_run(version.tags["run_id"])
    assert copy.data.tags["jpegai_fd.reused_from"] == version.run_id == version.tags["model_run_id"]
    assert version.run_id in {r.info.run_id for r in runs.values()}


def test_decision_default_is_the_majority_vote_and_validation_cuts_apply():
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(20), 5)
    p_real = rng.uniform(size=100)
    labels, mean = majority_vote(p_real, groups, 20)
    p_fake, fake = Decision().apply(p_real, groups, 20)
    np.testing.assert_array_equal(fake, labels == 0)
    np.testing.assert_allclose(p_fake, 1 - mean)
    y = (np.arange(20) % 2).astype(np.int8)
    vote, _ = choose_vote_threshold(y, 1 - p_real, groups, 20)
    share, fake = Decision(vote).apply(p_real, groups, 20)
    np.testing.assert_allclose(share, fake_vote_share(1 - p_real, groups, 20, vote.patch_cut))
    np.testing.assert_array_equal(fake, share >= vote.share.value)
    one = np.arange(20)
    cut = choose_threshold(y, 1 - p_real[:20])
    calibrator = Calibrator("sigmoid").fit(y, 1 - p_real[:20])
    p_fake, fake = Decision(cut, calibrator).apply(p_real[:20], one, 20)
    np.testing.assert_array_equal(fake, 1 - p_real[:20] >= cut.value)  # labels from the raw score
    np.testing.assert_allclose(p_fake, calibrator.transform(1 - p_real[:20]))


@pytest.mark.slow
def test_a_threshold_and_calibrator_are_saved_with_the_model(sweep, tmp_path):
    tmp, uri, runs = sweep
    folder = Path(MlflowClient(uri).download_artifacts(runs["flatten"].info.run_id, "model", str(tmp_path)))
    detector = pickle.loads((folder / "artifacts" / "detector.pkl").read_bytes())
    _, paths = split_images(tmp)
    # The job saved the cut and calibrator its valid images chose; the fixed rule gives the raw scores.
    assert detector.decision.threshold is not None and detector.decision.calibrator.method == "sigmoid"
    chosen = detector.decision
    detector.decision = Decision()
    save_detector(detector, tmp_path / "fixed")
    raw = mlflow.pyfunc.load_model(str(tmp_path / "fixed")).predict(pd.DataFrame({"path": paths}))["p_fake"].to_numpy()
    as_run = mlflow.pyfunc.load_model(str(folder)).predict(pd.DataFrame({"path": paths}))
    np.testing.assert_allclose(as_run["p_fake"], chosen.calibrator.transform(raw), atol=1e-6)
    y = np.array([0, 1] * 6, dtype=np.int8)
    cut = replace(choose_threshold(y, raw), value=float(np.median(raw)))
    detector.decision = Decision(cut, Calibrator("sigmoid").fit(y, raw))
    save_detector(detector, tmp_path / "with_cut")
    out = mlflow.pyfunc.load_model(str(tmp_path / "with_cut")).predict(pd.DataFrame({"path": paths}))
    assert list(out["label"]) == ["fake" if r >= cut.value else "real" for r in raw]
    np.testing.assert_allclose(out["p_fake"], detector.decision.calibrator.transform(raw), atol=1e-6)
    card = json.loads((tmp_path / "with_cut" / "artifacts" / "detector.json").read_text())
    assert card["decision"]["value"] == cut.value and card["decision"]["calibration"] == "sigmoid"


def wait_ping(url: str, proc: subprocess.Popen, log_path: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"mlflow models serve exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url + "/ping", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError("mlflow models serve did not answer /ping")


@pytest.mark.slow
def test_tracking_server_promote_and_mlflow_models_serve_answer_like_predict(tmp_path, mlflow_server, experiment_name):
    # The job, promote and predict in-process (their command lines run as processes above); the server is one.
    tracking = [f"tracking.uri={mlflow_server.uri}", f"tracking.experiment={experiment_name}"]
    settings, parts = job_inputs(compose_cfg([*tiny_overrides(tmp_path), *tracking]))
    (tmp_path / "run").mkdir()
    run_job(settings, parts, JobPlace(output_dir=tmp_path / "run"))
    run_id = json.loads((tmp_path / "run" / "results.json").read_text())["run_id"]
    args = ["--run", run_id, "--name", experiment_name, "--alias", "champion"]
    assert promote_main(["--tracking-uri", mlflow_server.uri, *args]) == 0
    uri = f"models:/{experiment_name}@champion"
    _, paths = split_images(tmp_path)
    out = tmp_path / "pred.csv"
    assert predict_main(["--tracking-uri", mlflow_server.uri, "--model", uri, *paths[:4], "--out", str(out)]) == 0
    expected = read_csv(out)

    port = free_port()
    # The server execs `uvicorn` from PATH: the interpreter's bin folder, as in an activated venv.
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": mlflow_server.uri,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    log = open(tmp_path / "serve.log", "w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "models",
            "serve",
            "-m",
            uri,
            "--env-manager",
            "local",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "--workers",
            "1",
        ],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ping(url, proc, tmp_path / "serve.log")
        images = [base64.b64encode(Path(p).read_bytes()).decode() for p in paths[:4]] + [
            base64.b64encode(b"junk").decode()
        ]

        def ask(column: str, values: list) -> list[dict]:
            body = json.dumps({"dataframe_split": {"columns": [column], "data": [[v] for v in values]}}).encode()
            headers = {"Content-Type": "application/json"}
            with urllib.request.urlopen(urllib.request.Request(url + "/invocations", body, headers), timeout=60) as r:
                text = r.read()
            return json.loads(text, parse_constant=lambda c: pytest.fail(f"not JSON: {c} in {text[:300]!r}"))[
                "predictions"
            ]

        answer = ask("image", images) + ask("path", paths[:1])  # a server-side path: refused
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # its own session: the uvicorn worker goes too
            proc.wait(timeout=30)
        log.close()
    assert len(answer) == 6
    for row, want in zip(answer[:4], expected):
        assert row["status"] == "ok" and row["label"] == want["label"]
        assert f"{row['p_fake']:.6f}" == want["p_fake"]
    assert answer[4]["status"].startswith("unreadable") and answer[4]["p_fake"] is None
    assert answer[5]["status"].startswith("refused") and "JPEGAI_FD_SERVE_PATHS=1" in answer[5]["status"]
