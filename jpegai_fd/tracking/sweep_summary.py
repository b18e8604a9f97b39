"""The table a multirun ends with, read from the jobs' ``results.json`` (any launcher, no server needed).
MLflow 3.x opens an experiment in its GenAI view unless the URL asks for ``workflowType=machine_learning``; new
experiments also get the ``mlflow.experimentKind`` tag."""

import json
import logging
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

from tabulate import tabulate

# A job's factor tags, in its run name's order.
FACTORS = ("preprocess", "bpp", "component", "latent", "classifier", "encoder", "dataset", "holdout")
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"


def experiment_url(base: str, experiment_id: str) -> str:
    return f"{base.rstrip('/')}/#/experiments/{experiment_id}?workflowType=machine_learning"


def open_hint(base: str, experiment: str = "jpegai_fd") -> str:
    """What the server prints to open: the experiment's runs if it exists (REST, no mlflow import), else the list."""
    query = urllib.parse.urlencode({"experiment_name": experiment})
    try:
        with urllib.request.urlopen(f"{base}/api/2.0/mlflow/experiments/get-by-name?{query}", timeout=5) as response:
            experiment_id = json.load(response)["experiment"]["experiment_id"]
    except (OSError, ValueError, KeyError):
        return (
            f"Open {base}/#/experiments?workflowType=machine_learning (the sweep summary prints the experiment's page)"
        )
    return f"Open {experiment_url(base, experiment_id)} (experiment {experiment}, the training-runs view)"


def job_results(sweep_dir: str | Path) -> list[tuple[str, dict]]:
    found = []
    for path in Path(sweep_dir).glob("*/results.json"):
        try:
            found.append((path.parent.name, json.loads(path.read_text())))
        except (OSError, ValueError):
            found.append((path.parent.name, {"status": "unreadable results.json"}))
    return sorted(found, key=lambda item: (not item[0].isdigit(), int(item[0]) if item[0].isdigit() else 0, item[0]))


def summary_table(results: list[tuple[str, dict]]) -> str:
    """Columns: job, the factors that vary (all if one job), acc (0.5 rule), acc@valid, auc, time_s, tune_s, status."""
    factors = [r.get("factors", {}) for _, r in results]
    varying = [f for f in FACTORS if len({fs.get(f) for fs in factors}) > 1]
    varying = varying or [f for f in FACTORS[:5] if any(f in fs for fs in factors)]
    header = ["job", *varying, "acc", "acc@valid", "auc", "time_s", "tune_s", "status"]
    rows = []
    for (job, r), fs in zip(results, factors):
        metrics, timings = r.get("metrics", {}), r.get("timings", {})
        scores = [metrics.get(f"test/{m}") for m in ("accuracy", "accuracy_at_valid", "roc_auc")]
        seconds = [sum(timings.values()) if timings else None, timings.get("time/tune_s")]
        rows.append([job, *[fs.get(f, "?") for f in varying], *scores, *seconds, r.get("status", "?")])
    digits = ["g"] * (1 + len(varying)) + [".3f"] * 3 + [".1f"] * 2 + ["g"]
    return tabulate(rows, header, floatfmt=digits, numalign="right", missingval="-")


def sweep_summary(sweep_dir: str | Path, parent_run_id: str | None = None, tracking=None, experiment_id=None) -> str:
    """The jobs' table and where to look next; ``tracking``: the ``tracking`` keys (uri, experiment), if any."""
    tracking_uri, experiment = (tracking.uri, tracking.experiment) if tracking is not None else (None, "jpegai_fd")
    results = job_results(sweep_dir)
    counts = Counter(r.get("status", "?") for _, r in results)
    states = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    parts = [f"sweep finished: {len(results)} jobs ({states}), folder {sweep_dir}", summary_table(results)]
    if parent_run_id:
        uri = "" if tracking_uri in (None, "sqlite:///mlflow.db") else f" --tracking-uri {tracking_uri}"
        name = "" if experiment == "jpegai_fd" else f" --experiment {experiment}"
        parts.append(f"report: python -m jpegai_fd.report{uri}{name} --sweep {parent_run_id}")
    if tracking_uri and experiment_id and tracking_uri.startswith(("http://", "https://")):
        parts.append(f"UI: {experiment_url(tracking_uri, experiment_id)}")
    elif tracking_uri and experiment_id:  # a database: the command that serves it first
        backend = "" if tracking_uri == "sqlite:///mlflow.db" else f" --backend-store-uri {tracking_uri}"
        ui = experiment_url("http://127.0.0.1:5000", experiment_id)  # where the lean server listens
        parts.append(f"UI: python -m jpegai_fd.cli.server{backend}, then open {ui}")
    return "\n".join(parts)


def print_sweep_summary(config, parent_run_id: str | None, experiment_id: str | None) -> None:
    """Print the summary of Hydra ``config``'s multirun, if any job left results; never raises (the jobs are done)."""
    try:
        sweep_dir = config.hydra.sweep.dir
        if not job_results(sweep_dir):
            return
        text = sweep_summary(sweep_dir, parent_run_id, config.tracking, experiment_id)
        print("\n" + text, flush=True)
    except Exception as exc:  # noqa: BLE001
        logging.getLogger(__name__).warning("could not print the sweep summary: %s", exc)
