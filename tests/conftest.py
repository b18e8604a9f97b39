"""Shared fixtures: a real MLflow tracking server (sqlite backend) for the whole session."""

from __future__ import annotations

import socket

import pytest

from jpegai_fd.server import MlflowServer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """A lean ``mlflow server`` on 127.0.0.1 (sqlite file, local artifact folder); yields the server.

    Tests share it, so each test logs to its own experiment name (see ``experiment_name``)."""
    root = tmp_path_factory.mktemp("mlflow_server")
    server = MlflowServer(f"sqlite:///{root}/mlflow.db", str(root / "artifacts"), port=free_port(),
                          log_file=root / "server.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def experiment_name(request) -> str:
    """An experiment name of this test's own on the shared server."""
    return "t_" + request.node.name.replace("[", "_").replace("]", "")
