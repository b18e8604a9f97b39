"""Beyond the training distribution: extra test sets, perturbation conditions and other rates.

The job calls :func:`evaluate_extras` once, after the final model and its decision rule exist;
:func:`extract_extras` fills the same cache groups without training (``python -m jpegai_fd.extract``).
See :mod:`.plan` (what and its checks), :mod:`.run` (how), :mod:`.report` (the run's table and charts).
"""

from __future__ import annotations

import logging

from jpegai_fd.extra_eval.plan import ExtraPlan, load_test_split
from jpegai_fd.extra_eval.run import ExtraResult, Latents, Scorer, evaluate_plan
from jpegai_fd.perturb import PerturbedReader

log = logging.getLogger(__name__)


def evaluate_extras(
    plan: ExtraPlan, test, dataset, scorer: Scorer, latents: Latents, bpp: int, seed: int
) -> ExtraResult:
    """Score ``scorer``'s model on every extra set, condition and rate of ``plan`` (``test``: the job's
    test split of ``dataset``), extracting the latents they miss."""
    result = evaluate_plan(plan, test, dataset, bpp, seed, latents, scorer)
    log.info(
        "extra evaluation: %d sets, %d conditions, %d rates (%d images extracted, %d cached, %.1fs)",
        len(plan.sets),
        len(plan.conditions),
        len(plan.rates),
        result.extracted,
        result.cached,
        result.seconds,
    )
    return result


def extract_extras(plan: ExtraPlan, test, dataset, latents: Latents, bpp: int, seed: int) -> dict[str, int]:
    """Fill the groups of every extra set, condition and rate of ``plan`` (``python -m
    jpegai_fd.extract``); images extracted per entry."""
    done = {}
    for name, ds in plan.sets.items():
        split = load_test_split(name, ds, seed + 1)
        done[f"eval/{name}"] = latents(split, bpp, ds.reader, ds.max_bad_fraction)[1].extracted
    for name, condition in plan.conditions.items():
        reader = PerturbedReader.for_split(dataset.reader, condition, test)
        done[f"robust/{name}"] = latents(test, bpp, reader, dataset.max_bad_fraction)[1].extracted
    for rate in plan.rates:
        done[f"rate/{rate}"] = latents(test, rate, dataset.reader, dataset.max_bad_fraction)[1].extracted
    return done


__all__ = ["ExtraPlan", "ExtraResult", "Latents", "Scorer", "evaluate_extras", "extract_extras", "load_test_split"]
