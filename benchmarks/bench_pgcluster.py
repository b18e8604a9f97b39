"""How long a private PostgreSQL cluster takes to start (initdb + start + CREATE DATABASE) and to restart,
for the pip-installed server and the system's, alternating in one run.

    python benchmarks/bench_pgcluster.py --repeats 3
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import statistics
import tempfile
import time
from pathlib import Path

from bench_common import RESULTS

from jpegai_fd import pgcluster


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def once(source: str) -> tuple[float, float]:
    """(first start with initdb, restart) in seconds."""
    folder = Path(tempfile.mkdtemp(prefix="jfd-pgbench-"))
    folder.chmod(0o711)  # as root the server runs as another user
    try:
        port = _free_port()
        t0 = time.perf_counter()
        pgcluster.start(folder / "pg", port=port, dbs=("mlflow",), source=source)
        first = time.perf_counter() - t0
        pgcluster.stop(folder / "pg", source=source)
        t0 = time.perf_counter()
        pgcluster.start(folder / "pg", port=port, source=source)
        again = time.perf_counter() - t0
        pgcluster.stop(folder / "pg", source=source)
        return first, again
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sources = ["package"] + (["system"] if pgcluster.system_bindirs() else [])
    times: dict[str, list[tuple[float, float]]] = {s: [] for s in sources}
    for _ in range(args.repeats):
        for source in sources:
            times[source].append(once(source))
    result = {}
    for source, runs in times.items():
        bindir = pgcluster.find_bindir(source)
        result[source] = {
            "bindir": str(bindir),
            "version": pgcluster.server_version(bindir),
            "first_start_s": statistics.median(r[0] for r in runs),
            "restart_s": statistics.median(r[1] for r in runs),
        }
        print(
            f"{source:8s} PostgreSQL {result[source]['version']}: first start {result[source]['first_start_s']:.2f} s, "
            f"restart {result[source]['restart_s']:.2f} s (median of {args.repeats})"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "pgcluster.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
