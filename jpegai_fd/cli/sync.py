"""`python -m jpegai_fd.cli.sync OUTPUT_DIR... [--tracking-uri URI]`: upload, once, what jobs kept locally
while the tracking server was down, and end runs left RUNNING (see :mod:`jpegai_fd.tracking.upload`).

OUTPUT_DIR: a sweep or job folder. ``--tracking-uri``: instead of the URI each job logged to."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from functools import cache

from mlflow.tracking import MlflowClient

from jpegai_fd.errors import UserError
from jpegai_fd.tracking.connection import check_tracking_uri
from jpegai_fd.tracking.upload import close_parent, job_folders, job_tracking, sync_job


def sync(folders: list[Path], tracking_uri: str | None = None) -> list[str]:
    found = [job_folders(f) for f in folders]  # every folder checked before anything is uploaded

    @cache
    def client_for(uri: str) -> MlflowClient:
        check_tracking_uri(uri)
        return MlflowClient(uri)

    lines = []
    for sweep_dir, jobs in found:
        uri = tracking_uri
        for job in jobs:
            job_uri = tracking_uri or job_tracking(job)
            uri = uri or job_uri
            done = sync_job(client_for(job_uri), job) if job_uri else "no run to sync (no tracking.json)"
            lines.append(f"{job}: {done}")
        if sweep_dir is not None and uri:
            closed = close_parent(client_for(uri), sweep_dir)
            if closed:
                lines.append(f"{sweep_dir}: {closed}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jpegai_fd.cli.sync", description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path, metavar="OUTPUT_DIR", help="sweep or job output folder")
    parser.add_argument("--tracking-uri", help="log to this URI instead of the one each job used")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    try:
        for line in sync(args.folders, args.tracking_uri):
            print(line)
    except UserError as exc:
        print(f"jpegai_fd.cli.sync: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
