"""What a job logs about its scores: the chosen threshold and calibration, the reliability diagram,
the per-image scores, and the shortcut audit of its files (names in README "Scores")."""

from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger(__name__)


def threshold_metrics(decision) -> dict[str, float]:
    """``threshold/value`` (the cut on the image score) and, for the multi-patch vote, ``threshold/patch_cut``."""
    out = {"threshold/value": decision.cut}
    if hasattr(decision.threshold, "patch_cut"):
        out["threshold/patch_cut"] = float(decision.threshold.patch_cut)
    return out


def log_decision(run, decision, y_test: np.ndarray, test, title: str) -> None:
    """``threshold.json``, ``calibration.json`` (ECE/Brier before and after on the test images) and
    ``figures/reliability.png`` through ``run``; ``test`` is the test split's ``SplitScores``."""
    from jpegai_fd.scoring.calibration import calibration_change, reliability_figure

    run.log_dict(decision.threshold.as_dict(), "threshold.json")
    curves = {"raw": test.score}
    if decision.calibrator is not None:
        curves["calibrated"] = test.p_fake
        change = calibration_change(y_test, test.score, test.p_fake)
        run.log_dict({"method": decision.calibrator.method, "fitted_on": "valid", "test": change}, "calibration.json")
    run.log_figure(reliability_figure(y_test, curves, title), "figures/reliability.png")


def log_scores(run, split: str, ids: np.ndarray, y_true: np.ndarray, scores) -> None:
    """``scores/<split>_scores.csv``: per image the model's P(fake) (as ``predict`` gives it), the
    decision, and the raw score the cut applies to."""
    from jpegai_fd.scoring.per_image import scores_csv

    text = scores_csv(ids, y_true, scores.p_fake, (~scores.fake).astype(int), scores.score)
    run.log_text(text, f"scores/{split}_scores.csv")


def log_audit(run, splits, max_auc: float) -> dict:
    """Audit the files of ``splits`` (DatasetSplits) before training: ``dataset/audit.json``, tag
    ``audit.shortcut``, and when a property alone separates the classes one warning line and the tag
    ``warning.audit``. Returns the report."""
    from jpegai_fd.scoring.audit import audit_dataset, audit_tags

    report = audit_dataset({s.name: list(zip(s.paths, s.labels)) for s in splits}, max_auc)
    run.log_dict(report, "dataset/audit.json")
    tags = audit_tags(report)
    if report["warning"]:
        log.warning(report["warning"])
        tags["warning.audit"] = report["warning"][:5000]
    run.set_tags(tags)
    return report
