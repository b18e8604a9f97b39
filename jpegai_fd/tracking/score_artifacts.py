"""What a job logs about its scores: the chosen threshold and calibration, the reliability diagram,
the per-image scores, and the shortcut audit of its files (names in docs/reference/metrics.md)."""

import json
import logging

import numpy as np

from jpegai_fd.datasets.manifest import hash_memo, manifest_csv
from jpegai_fd.extra_eval import report
from jpegai_fd.scoring.calibration import calibration_change, reliability_figure
from jpegai_fd.scoring.per_image import scores_csv
from jpegai_fd.scoring.audit import audit_dataset, audit_tags

log = logging.getLogger(__name__)


def threshold_metrics(decision) -> dict[str, float]:
    """``threshold/value`` (the cut on the image score) and, for the multi-patch vote, ``threshold/patch_cut``."""
    out = {"threshold/value": decision.cut}
    if hasattr(decision.threshold, "patch_cut"):
        out["threshold/patch_cut"] = float(decision.threshold.patch_cut)
    return out


def log_decision(run, decision, y_test: np.ndarray, test, title: str) -> None:
    """``threshold.json``, ``calibration.json`` and ``figures/reliability.png`` (``test``: the test scores)."""
    run.log_dict(decision.threshold.as_dict(), "threshold.json")
    curves = {"raw": test.score}
    if decision.calibrator is not None:
        curves["calibrated"] = test.p_fake
        change = calibration_change(y_test, test.score, test.p_fake)
        run.log_dict({"method": decision.calibrator.method, "fitted_on": "valid", "test": change}, "calibration.json")
    run.log_figure(reliability_figure(y_test, curves, title), "figures/reliability.png")


def log_scores(run, split: str, ids: np.ndarray, y_true: np.ndarray, scores) -> None:
    """``scores/<split>_scores.csv``: per image P(fake) (as ``predict`` gives it), decision, raw score, source."""
    text = scores_csv(ids, y_true, scores.p_fake, (~scores.fake).astype(int), scores.score, scores.sources)
    run.log_text(text, f"scores/{split}_scores.csv")


def log_audit(run, splits: dict[str, list], max_auc: float) -> dict:
    """The shortcut audit of the files of ``splits`` (role -> its pieces, a source each): ``dataset/audit.json``,
    tags ``audit.shortcut``, ``warning.audit``."""
    items = {k: [i for s in pieces for i in zip(s.paths, s.labels)] for k, pieces in splits.items()}
    report = audit_dataset(items, max_auc)
    run.log_dict(report, "dataset/audit.json")
    tags = audit_tags(report)
    if report["warning"]:
        log.warning(report["warning"])
        tags["warning.audit"] = report["warning"][:5000]
    run.set_tags(tags)
    return report


def log_extras(run, plan, result, cache: str) -> dict[str, float]:
    """The extra evaluation's metrics, per-image scores, manifests, conditions, table and charts; the metrics."""
    if plan.empty:
        return {}
    metrics = {**result.metrics(), "extract/extra_images_extracted": result.extracted}
    metrics |= {"extract/extra_images_cached": result.cached, "time/extra_s": result.seconds}
    run.log_metrics(metrics)
    memo = hash_memo(cache)
    for e in result.entries:
        if e.group == "test":
            continue
        file = e.prefix.replace("/", "_")
        log_scores(run, file, *e.scored)  # scores/<file>_scores.csv, as the test split's
        if e.group == "eval":
            run.log_text(manifest_csv(e.split, e.latents, memo), f"dataset/{file}_manifest.csv")
    if plan.conditions:
        strength = {n: c.key_params()[0][1] if c.key_params() else None for n, c in plan.conditions.items()}
        described = {n: {"kind": c.name, "strength": strength[n], **c.describe()} for n, c in plan.conditions.items()}
        run.log_text(json.dumps(described, indent=2, default=str), "robustness/conditions.json")
    rows = report.entry_rows(result.entries)
    run.log_text(rows.to_csv(index=False), "extra/table.csv")
    run.log_text(report.table_markdown(rows, f"{run.name}: every test set, condition and rate"), "extra/table.md")
    charts = {"robustness": report.robustness_chart(rows, run.name), "rates": report.rate_chart(rows, run.name)}
    for name, chart in charts.items():
        if chart is not None:
            run.log_figure(chart, f"figures/{name}.png")
    return metrics
