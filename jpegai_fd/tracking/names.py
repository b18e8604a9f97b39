"""Names the MLflow UI shows. Its run-name column is narrow, so a job's name leads with the factors its
command line sets (what tells siblings apart)."""

from __future__ import annotations

NAME_ORDER = ("preprocess", "bpp", "component", "latent", "classifier")  # after those set on the command line
FACTORS = (*NAME_ORDER, "encoder", "dataset")  # the factor tags named by the key that sets them


def job_run_name(factors: dict[str, str], task_overrides=None) -> str:
    """``flatten-bpp6-yuv-y_hat-rf`` for a job of ``-m preprocess=... bpp=...``: the factors set on
    the command line first, then preprocess, bpp, component, latent, classifier (encoder and dataset
    only when set on the command line)."""
    keys = [o.lstrip("+~").partition("=")[0] for o in task_overrides or ()]
    first = [k for k in keys if k in FACTORS and k in factors]
    return "-".join(f"bpp{factors[f]}" if f == "bpp" else factors[f] for f in dict.fromkeys([*first, *NAME_ORDER]))
