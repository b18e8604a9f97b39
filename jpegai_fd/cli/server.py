"""`python -m jpegai_fd.cli.server`: a local MLflow tracking server on 127.0.0.1.

Lean (one worker, no job-execution side processes: two processes, ~0.5 GB, ready in ~8 s), artifacts proxied so jobs
need only ``tracking.uri``; backends: docs/how-to/team-server.md. :class:`MlflowServer`: the same server as an object."""

import argparse
import operator
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed

from jpegai_fd.tracking.connection import server_healthy
from jpegai_fd.tracking.sweep_summary import open_hint


def _stderr_fd():
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # replaced stderr (e.g. captured): inherit instead
        return None


@dataclass(eq=False)  # one server process: compared and hashed by identity
class MlflowServer:
    """An ``mlflow server`` child process. ``start()`` returns once ``GET /health`` answers."""

    backend_store_uri: str = "sqlite:///mlflow.db"
    artifacts_destination: str = "mlartifacts"
    host: str = "127.0.0.1"
    port: int = 5000
    log_file: Path | None = None
    process: subprocess.Popen | None = field(default=None, init=False)

    def __post_init__(self):
        self.artifacts_destination = str(Path(self.artifacts_destination).resolve())

    @property
    def uri(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _healthy(self) -> bool:
        if self.process.poll() is not None:
            see = f"; see {self.log_file}" if self.log_file else ""
            raise RuntimeError(f"mlflow server exited with code {self.process.returncode}{see}")
        return server_healthy(self.uri, timeout=1.0)

    def start(self, timeout: float = 90.0) -> "MlflowServer":
        mlflow = shutil.which("mlflow", path=str(Path(sys.executable).parent)) or shutil.which("mlflow") or "mlflow"
        where = ["--host", self.host, "--port", str(self.port), "--workers", "1"]
        stores = ["--backend-store-uri", self.backend_store_uri, "--artifacts-destination", self.artifacts_destination]
        env = dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
        # The server's own log goes to log_file, else to our stderr: stdout keeps only what we print.
        out = open(self.log_file, "ab") if self.log_file else _stderr_fd()
        # Own process group: stop() ends the server and the workers it forks, nothing else.
        self.process = subprocess.Popen(
            [mlflow, "server", *stores, *where], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        if self.log_file:
            out.close()  # the server holds its own copy of the descriptor
        # A server that exited raises at once (not retried); RetryError: not answering within ``timeout``.
        polls = Retrying(stop=stop_after_delay(timeout), wait=wait_fixed(0.5), retry=retry_if_result(operator.not_))
        try:
            polls(self._healthy)
        except RetryError:
            self.stop()
            raise RuntimeError(f"mlflow server did not answer on {self.uri} within {timeout:.0f}s") from None
        return self

    def stop(self, timeout: float = 30.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def __enter__(self) -> "MlflowServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jpegai_fd.cli.server", description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    backend_help = "sqlite:///FILE (default sqlite:///mlflow.db) or postgresql+psycopg2://USER@HOST:PORT/DB"
    add("--backend-store-uri", default="sqlite:///mlflow.db", help=backend_help)
    add("--artifacts-destination", default="mlartifacts", help="folder for artifacts (default ./mlartifacts)")
    add("--host", default="127.0.0.1")
    add("--port", type=int, default=5000)
    args = parser.parse_args(argv)
    server = MlflowServer(args.backend_store_uri, args.artifacts_destination, args.host, args.port)
    try:
        server.start()
    except RuntimeError as exc:
        print(f"jpegai_fd.cli.server: error: {exc} (is port {args.port} in use? try --port)", file=sys.stderr)
        return 1
    print(
        f"MLflow tracking server at {server.uri} (backend {args.backend_store_uri}, artifacts "
        f"{server.artifacts_destination}). Log to it with: export MLFLOW_TRACKING_URI={server.uri}  "
        f"(Ctrl-C stops it)\n{open_hint(server.uri)}",
        flush=True,
    )
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a plain `kill` stops the server like Ctrl-C
    try:
        server.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return server.process.returncode or 0


if __name__ == "__main__":
    sys.exit(main())
