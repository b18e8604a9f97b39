"""Processes, memory and start-up time of the MLflow UI: ``mlflow ui`` with its defaults vs the lean
``python -m jpegai_fd.cli.server``, measured one after the other on the same (empty) sqlite file.

    python benchmarks/bench_ui_server.py [--port 5077]

Memory is the summed resident set (``/proc/<pid>/status`` VmRSS) of the server's whole process tree,
read once the server answers ``/health`` and again after 10 s (job-execution side processes start late).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_common import RESULTS

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from jpegai_fd.tracking.connection import server_healthy


def children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            tree.setdefault(ppid, []).append(int(entry))
    return tree


def tree_of(pid: int) -> list[int]:
    tree, out, todo = children(), [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(tree.get(p, []))
    return out


def rss_mib(pids: list[int]) -> float:
    total = 0
    for p in pids:
        try:
            for line in open(f"/proc/{p}/status"):
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def measure(command: list[str], env: dict, url: str) -> dict:
    start = time.perf_counter()
    proc = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        while not server_healthy(url, timeout=1.0):
            if proc.poll() is not None or time.perf_counter() - start > 180:
                raise SystemExit(f"{command[0]} did not start")
            time.sleep(0.25)
        ready = time.perf_counter() - start
        at_ready = tree_of(proc.pid)
        rss_ready = rss_mib(at_ready)
        time.sleep(10)
        later = tree_of(proc.pid)
        return {
            "ready_s": round(ready, 1),
            "processes": len(later),
            "rss_mib": round(rss_mib(later)),
            "processes_at_ready": len(at_ready),
            "rss_mib_at_ready": round(rss_ready),
        }
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5077)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench_ui_"))
    mlflow = shutil.which("mlflow", path=str(Path(sys.executable).parent)) or "mlflow"
    url = f"http://127.0.0.1:{args.port}"
    db = f"sqlite:///{folder}/mlflow.db"
    env = {**os.environ}
    env.pop("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", None)
    results = {
        "mlflow ui (defaults)": measure([mlflow, "ui", "--backend-store-uri", db, "--port", str(args.port)], env, url),
        "python -m jpegai_fd.cli.server": measure(
            [
                sys.executable,
                "-m",
                "jpegai_fd.cli.server",
                "--backend-store-uri",
                db,
                "--artifacts-destination",
                str(folder / "art"),
                "--port",
                str(args.port),
            ],
            {**env, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
            url,
        ),
    }
    for name, r in results.items():
        print(
            f"{name:28s} ready {r['ready_s']:5.1f}s  {r['processes']:2d} processes  {r['rss_mib']:5d} MiB RSS "
            f"(at ready: {r['processes_at_ready']} / {r['rss_mib_at_ready']} MiB)"
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ui_server.json").write_text(json.dumps(results, indent=2))
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
