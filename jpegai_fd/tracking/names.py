"""Names the MLflow UI shows: job runs lead with the factors their sweep varies, sweeps are unique.

The UI's run-name column is narrow: a name that starts with the fixed factors (``rf-flatten-yuv-...``)
is cut before the ``bpp`` that tells two siblings apart. So a job's name starts with the factors
named on its command line, in that order, then the rest. Two sweeps of the same overrides used to
share one name; a sweep's name now ends with its start time and a short random id.
"""

from __future__ import annotations

import time
import uuid

# Factor tag -> the command-line key that sets it.
FACTOR_KEYS = {
    "bpp": "bpp",
    "preprocess": "preprocess",
    "component": "component",
    "latent": "latent",
    "classifier": "classifier",
    "encoder": "encoder",
    "dataset": "dataset",
}
NAME_ORDER = ("preprocess", "bpp", "component", "latent", "classifier")  # when nothing is overridden


def _named_on_command_line(task_overrides) -> list[str]:
    """Factor tags whose key the job's overrides set, in the overrides' order."""
    keys = [o.lstrip("+~").partition("=")[0] for o in task_overrides or ()]
    by_key = {v: k for k, v in FACTOR_KEYS.items()}
    return [by_key[k] for k in keys if k in by_key]


def _label(factor: str, value: str) -> str:
    return f"bpp{value}" if factor == "bpp" else value


def job_run_name(factors: dict[str, str], task_overrides=None) -> str:
    """``flatten-bpp6-yuv-y_hat-rf`` for a job of ``-m preprocess=... bpp=...``: the factors set on
    the command line first, then preprocess, bpp, component, latent, classifier (encoder and dataset
    only when set on the command line)."""
    first = [f for f in _named_on_command_line(task_overrides) if f in factors]
    rest = [f for f in NAME_ORDER if f not in first]
    return "-".join(_label(f, factors[f]) for f in dict.fromkeys([*first, *rest]))


def unique_sweep_suffix(now: float | None = None) -> str:
    """`` @ 2026-12-01 10:31 #3fa2``: start time (local) and 4 random hex digits."""
    stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(time.time() if now is None else now))
    return f" @ {stamp} #{uuid.uuid4().hex[:4]}"
