"""Beyond the training distribution: extra test sets, perturbation conditions and other rates.

The job calls :func:`evaluate_extras` once, after the final model and its decision rule exist; the
command line calls :func:`check_extras` for every job of a sweep before any work (bad set, condition
or rate: one line). :func:`extract_extras` fills the same cache groups without training
(``python -m jpegai_fd.extract``). See :mod:`.plan` (what), :mod:`.run` (how), :mod:`.report` (the
run's table and charts).
"""

from __future__ import annotations

import json
import logging

from omegaconf import DictConfig

from jpegai_fd.extra_eval.plan import ExtraPlan, build_plan, load_test_split
from jpegai_fd.extra_eval.run import ExtraResult, Latents, Scorer, evaluate_plan

log = logging.getLogger(__name__)


def _encoder(cfg: DictConfig, encoder=None):
    from jpegai_fd import components

    return encoder if encoder is not None else components.build_group(cfg, "encoder")


def check_extras(cfg: DictConfig) -> ExtraPlan:
    """Build the plan of ``cfg`` (cheap), raising one-line UserErrors; the encoder is built only to
    check ``eval_bpp`` against its rates."""
    return build_plan(cfg, _encoder(cfg) if cfg.get("eval_bpp") else None)


def _latents(cfg: DictConfig, encoder) -> Latents:
    from jpegai_fd import components

    return Latents(str(cfg.paths.cache), encoder, components.extract_settings(cfg))


def evaluate_extras(cfg: DictConfig, parts, test, model, decision, settings, run) -> dict:
    """Score ``model`` (with ``decision`` and ``settings``) on every extra set, condition and rate of
    ``cfg``; log their metrics, per-image scores, manifests, the table and charts with ``run`` (a
    :class:`~jpegai_fd.tracking.TrackedRun`). Returns the logged metrics ({} when there is nothing
    beyond the test split)."""
    plan = build_plan(cfg, parts.encoder)
    if plan.empty:
        return {}
    from jpegai_fd.datasets.manifest import hash_memo, manifest_csv
    from jpegai_fd.extra_eval import report
    from jpegai_fd.tracking.score_artifacts import log_scores

    scorer = Scorer(
        parts.preprocess,
        str(cfg.component),
        str(cfg.latent),
        model,
        decision,
        settings,
        stream=bool(getattr(parts.classifier, "stream_from_cache", False)),
    )
    result = evaluate_plan(plan, test, parts.dataset, int(cfg.bpp), int(cfg.seed), _latents(cfg, parts.encoder), scorer)
    metrics = {
        **result.metrics(),
        "extract/extra_images_extracted": result.extracted,
        "extract/extra_images_cached": result.cached,
        "time/extra_s": result.seconds,
    }
    run.log_metrics(metrics)
    memo = hash_memo(cfg.paths.cache)
    for e in result.entries:
        if e.group == "test":
            continue
        file = e.prefix.replace("/", "_")
        log_scores(run, file, *e.scored)  # scores/<file>_scores.csv, as the test split's
        if e.group == "eval":
            run.log_text(manifest_csv(e.split, e.latents, memo), f"dataset/{file}_manifest.csv")
    if plan.conditions:
        described = {
            n: {"kind": c.name, "strength": c.key_params()[0][1] if c.key_params() else None, **c.describe()}
            for n, c in plan.conditions.items()
        }
        run.log_text(json.dumps(described, indent=2, default=str), "robustness/conditions.json")
    rows = report.entry_rows(result.entries)
    run.log_text(rows.to_csv(index=False), "extra/table.csv")
    run.log_text(report.table_markdown(rows, f"{run.name}: every test set, condition and rate"), "extra/table.md")
    for name, chart in (
        ("robustness", report.robustness_chart(rows, run.name)),
        ("rates", report.rate_chart(rows, run.name)),
    ):
        if chart is not None:
            run.log_figure(chart, f"figures/{name}.png")
    log.info(
        "extra evaluation: %d sets, %d conditions, %d rates (%d images extracted, %d cached, %.1fs)",
        len(plan.sets),
        len(plan.conditions),
        len(plan.rates),
        result.extracted,
        result.cached,
        result.seconds,
    )
    return metrics


def extract_extras(cfg: DictConfig, encoder, test, dataset) -> dict[str, int]:
    """Fill the groups of every extra set, condition and rate of ``cfg`` (``python -m
    jpegai_fd.extract``); images extracted per entry."""
    from jpegai_fd.perturb import PerturbedReader

    plan = build_plan(cfg, encoder)
    latents, bpp, done = _latents(cfg, encoder), int(cfg.bpp), {}
    for name, ds in plan.sets.items():
        done[f"eval/{name}"] = latents(
            load_test_split(name, ds, int(cfg.seed) + 1), bpp, ds.reader, ds.max_bad_fraction
        )[1].extracted
    for name, condition in plan.conditions.items():
        reader = PerturbedReader.for_split(dataset.reader, condition, test)
        done[f"robust/{name}"] = latents(test, bpp, reader, dataset.max_bad_fraction)[1].extracted
    for rate in plan.rates:
        done[f"rate/{rate}"] = latents(test, rate, dataset.reader, dataset.max_bad_fraction)[1].extracted
    return done


__all__ = [
    "ExtraPlan",
    "ExtraResult",
    "build_plan",
    "check_extras",
    "evaluate_extras",
    "extract_extras",
    "load_test_split",
]
