"""Beyond the training distribution: extra test sets, perturbation conditions and other rates.
:mod:`.plan` (what, checked), :mod:`.run` (how), :mod:`.report` (the run's table and charts)."""

from __future__ import annotations

import logging

from jpegai_fd.extra_eval.plan import ExtraPlan, load_test_split
from jpegai_fd.extra_eval.run import ExtraResult, Latents, Scorer, evaluate_plan
from jpegai_fd.perturb import PerturbedReader

log = logging.getLogger(__name__)


def evaluate_extras(
    plan: ExtraPlan, test, dataset, scorer: Scorer, latents: Latents, bpp: int, seed: int
) -> ExtraResult:
    """Score ``scorer``'s model on everything in ``plan``, extracting the latents they miss."""
    result = evaluate_plan(plan, test, dataset, bpp, seed, latents, scorer)
    counts = (len(plan.sets), len(plan.conditions), len(plan.rates), result.extracted, result.cached)
    log.info(
        "extra evaluation: %d sets, %d conditions, %d rates (%d images extracted, %d cached, %.1fs)",
        *counts,
        result.seconds,
    )
    return result


def extract_extras(plan: ExtraPlan, test, dataset, latents: Latents, bpp: int, seed: int) -> dict[str, int]:
    """Fill the groups of everything in ``plan`` without training; images extracted per entry."""
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
