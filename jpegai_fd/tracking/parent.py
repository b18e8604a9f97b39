"""The parent MLflow run of a multirun, held by the launching process: opened (or reopened on resume) before
the first job, closed after the last, ended KILLED by :func:`abort`."""

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from mlflow.tracking import MlflowClient
from mlflow.tracking.context.registry import resolve_tags  # tags plus MLflow context tags (source, user, git)

from jpegai_fd.tracking import interrupts
from jpegai_fd.tracking.connection import check_tracking_uri
from jpegai_fd.tracking.mlflow_run import ensure_experiment
from jpegai_fd.tracking.settings import TrackingSettings
from jpegai_fd.tracking.sweep import ROLE, SWEEP_KEY, end_parent, end_running_children, latest_run, read_outcomes
from jpegai_fd.tracking.sweep import sweep_key, sweep_name, sweep_overrides, sweep_status, write_parent

log = logging.getLogger(__name__)


@dataclass
class ParentRun:
    """A sweep's parent run, as the launching process holds it (``run_id`` None: untracked sweep)."""

    sweep_dir: Path
    run_id: str | None = None
    experiment_id: str | None = None
    closed: bool = False
    client: MlflowClient | None = field(default=None, repr=False)


def open_parent(tracking: TrackingSettings, overrides: list[str], sweep_dir: Path, multirun_yaml: str) -> ParentRun:
    """Create (or, resuming, reopen) the parent run of the sweep in ``sweep_dir`` and tell its jobs."""
    check_tracking_uri(tracking.uri)
    client = MlflowClient(tracking.uri)
    experiment_id = ensure_experiment(client, tracking.experiment)  # once, before parallel workers race
    key = sweep_key(overrides)
    query = f"tags.`{ROLE}` = 'sweep' and tags.`{SWEEP_KEY}` = '{key}'"
    previous = latest_run(client, experiment_id, query) if tracking.resume else None
    if previous is not None:
        run_id = previous.info.run_id
        client.update_run(run_id, status="RUNNING")
        if "error" in previous.data.tags:  # an earlier Ctrl-C's tag would outlive the sweep it described
            client.delete_tag(run_id, "error")
        log.info("resuming sweep %r in parent run %s", previous.info.run_name, run_id)
    else:
        tags = {ROLE: "sweep", SWEEP_KEY: key, "jpegai_fd.sweep_overrides": " ".join(sweep_overrides(overrides))}
        name = sweep_name(tracking.sweep_name, overrides)
        run_id = client.create_run(experiment_id, run_name=name, tags=resolve_tags(tags)).info.run_id
    client.set_tag(run_id, "jpegai_fd.sweep_dir", str(sweep_dir))
    tags = previous.data.tags if previous is not None else {}  # a resumed sweep: every folder it ran in
    dirs = (tags.get("jpegai_fd.sweep_dirs") or tags.get("jpegai_fd.sweep_dir", "")).splitlines()
    client.set_tag(run_id, "jpegai_fd.sweep_dirs", "\n".join(dict.fromkeys([*dirs, str(sweep_dir)])))
    client.log_text(run_id, "\n".join(overrides) + "\n", "sweep/overrides.txt")
    client.log_text(run_id, multirun_yaml, "sweep/multirun.yaml")
    write_parent(sweep_dir, run_id, experiment_id)
    return ParentRun(Path(sweep_dir), run_id, experiment_id, client=client)


def close_parent(parent: ParentRun, counts: Counter) -> bool:
    """End the parent run with its jobs' outcome counts; False: the server was not told (``cli.sync`` closes it)."""
    try:
        end_parent(parent.client, parent.run_id, counts, sweep_status(counts))
    except Exception as exc:  # noqa: BLE001  (any tracking failure: the results stay on disk)
        log.warning("could not close the sweep's parent run %s: %s", parent.run_id, str(exc).splitlines()[0])
        return False
    parent.closed = True
    return True


def abort(parent: ParentRun | None, exc: BaseException) -> str | None:
    """After Ctrl-C or SIGTERM: stop jobs, end RUNNING runs and parent KILLED; None or why the server was not told."""
    interrupts.stop_descendants()
    if parent is None or parent.run_id is None or parent.closed:
        return None
    try:
        end_running_children(parent.client, parent.experiment_id, parent.run_id, "KILLED", interrupts.reason(exc))
        parent.client.set_tag(parent.run_id, "error", interrupts.reason(exc))
        counts = Counter(o["status"] for o in read_outcomes(parent.sweep_dir))
        end_parent(parent.client, parent.run_id, counts, "KILLED")
    except Exception as err:  # noqa: BLE001  (server gone too: jpegai_fd.cli.sync ends the runs later)
        return f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
    return None
