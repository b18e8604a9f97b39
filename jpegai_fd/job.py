"""The train-and-evaluate job as a plain function of the composed config.

``run_job(cfg)``: dataset (and its shortcut audit) -> cached latents (extracting what is missing) ->
features -> Optuna search -> refit on the train split -> the decision rule chosen on the valid split
-> one evaluation on the test split -> MLflow run. The groups are built
once, by :func:`jpegai_fd.components.build`; the stages below get plain values and those objects.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from contextlib import contextmanager
from dataclasses import replace

import numpy as np

from omegaconf import DictConfig, OmegaConf

from jpegai_fd import components
from jpegai_fd.classifiers import fit_on_rows, predict_real
from jpegai_fd.classifiers.memory import memory_warning
from jpegai_fd.extra_eval import evaluate_extras
from jpegai_fd.model.build import job_detector
from jpegai_fd.model.pyfunc import log_detector
from jpegai_fd.model.decision import choose_decision
from jpegai_fd.scoring.evaluate import evaluate_split
from jpegai_fd.scoring.metrics import prefixed
from jpegai_fd.tracking import (
    TrackedRun,
    factor_tags,
    latent_shapes,
    log_dataset_manifest,
    log_evaluation,
    log_importances,
    log_training_curves,
    log_trials,
    record_outcome,
    resume_finished,
)
from jpegai_fd.tracking.dataset_inputs import log_dataset_inputs
from jpegai_fd.tracking.score_artifacts import log_audit, log_decision, log_scores, threshold_metrics
from jpegai_fd.tracking.sweep import UNTUNED_TAG, job_output_dir
from jpegai_fd.tuning import tune
from jpegai_fd.validation import validate_config

log = logging.getLogger(__name__)


def quiet_libraries() -> None:
    """Keep the job log about the job: database migrations and HTTP chatter go to WARNING."""
    for name in ("alembic", "mlflow", "urllib3", "optuna"):
        logging.getLogger(name).setLevel(logging.WARNING)


@contextmanager
def timed(timings: dict, key: str):
    start = time.perf_counter()
    yield
    timings[key] = time.perf_counter() - start


def study_name(cfg: DictConfig) -> str:
    """Optuna study of a job: its factors plus a hash of everything else the search depends on."""
    t = factor_tags(cfg)
    basis = {k: OmegaConf.to_container(cfg[k], resolve=True) for k in ("dataset", "preprocess", "classifier")}
    basis.update(cv_folds=cfg.tuning.cv_folds, scoring=cfg.tuning.scoring, seed=cfg.seed)
    digest = hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()[:10]
    return cfg.tuning.study_name or (
        f"{t['dataset']}-{t['encoder']}-bpp{t['bpp']}-{t['component']}-{t['latent']}-"
        f"{t['preprocess']}-{t['classifier']}-{digest}"
    )


def run_job(cfg: DictConfig) -> dict[str, float]:
    """Run one grid point and return its metrics (also logged to MLflow and to ``results.json``)."""
    validate_config(cfg)
    parts = components.build(cfg)
    components.check_compatible(parts, cfg.bpp)
    quiet_libraries()
    out = job_output_dir()
    if cfg.tracking.resume:
        skipped = resume_finished(cfg, out)
        if skipped is not None:
            return skipped
    timings: dict[str, float] = {}
    settings = components.scoring_settings(cfg)
    with TrackedRun(cfg, out) as run:
        dataset, encoder, classifier = parts.dataset, parts.encoder, parts.classifier
        with timed(timings, "time/dataset_s"):
            train, test = components.load_splits(cfg, dataset)
            valid = components.load_valid_split(cfg, dataset)
        audit = None
        if settings.audit:  # headers only, before any latent is computed
            with timed(timings, "time/audit_s"):
                audit = log_audit(run, (train, valid, test), settings.audit_max_auc)
        if hasattr(encoder, "prepare"):
            encoder.prepare()
        with timed(timings, "time/extract_s"):
            train_group, train_stats = components.latents(cfg, train, encoder, dataset)
            valid_group, valid_stats = components.latents(cfg, valid, encoder, dataset)
            test_group, test_stats = components.latents(cfg, test, encoder, dataset)
        splits = [(train, train_group), (valid, valid_group), (test, test_group)]
        log_dataset_manifest(run, splits, cfg.paths.cache)  # incl. skipped/unreadable images
        log_dataset_inputs(run, splits)  # the UI's Dataset column
        # Runs with this tag scored the same test images: the report pairs their per-image scores.
        run.set_tags({"dataset.test_manifest": str(test_group.group.attrs["manifest"])[:16]})
        with timed(timings, "time/features_s"):
            train_fs = components.features(cfg, train_group, train=True, parts=parts)
            # Valid like test: every position of an image (multi), and never an input of the search or the fit.
            valid_fs = components.features(cfg, valid_group, train=False, parts=parts)
            test_fs = components.features(cfg, test_group, train=False, parts=parts)
        too_big = memory_warning(classifier, train_fs.X)
        if too_big:
            log.warning(too_big)
            run.set_tags({"warning.memory": too_big})
        with timed(timings, "time/tune_s"):
            result = tune(classifier, train_fs, cfg.tuning, cfg.seed, study_name(cfg))
        if result.untuned:  # a result of the fixed parameters: the report skips it unless asked
            log.warning(
                "no hyperparameter search (%s): training with the fixed parameters of classifier.estimator",
                result.untuned,
            )
            run.set_tags({UNTUNED_TAG: result.untuned})
        with timed(timings, "time/fit_s"):
            model = fit_on_rows(classifier.make(result.best_params), train_fs.X, train_fs.y, train_fs.groups)
        # A tuned value replaces the fixed classifier.estimator value of the same name; params model.*
        # record what the final model really used, next to the configured classifier.estimator.*.
        used = {
            k: v if isinstance(v, (bool, int, float, str, type(None))) else str(v)
            for k, v in model.get_params(deep=False).items()
        }
        run.log_params({f"model.{k}": v for k, v in used.items()})
        with timed(timings, "time/predict_s"):
            p_real = predict_real(model, test_fs.X)
        p_real_valid = predict_real(model, valid_fs.X)
        y_valid = valid_fs.done(valid_group.labels)
        y_true = test_fs.done(test_group.labels)
        with timed(timings, "time/score_s"):
            # The saved model's rule, chosen on the valid images only; its predictions are these scores.
            decision = choose_decision(y_valid, p_real_valid, valid_fs.groups, valid_fs.n_images, settings)
            scored = evaluate_split(y_true, p_real, test_fs.groups, test_fs.n_images, decision, settings)
            on_valid = evaluate_split(
                y_valid,
                p_real_valid,
                valid_fs.groups,
                valid_fs.n_images,
                decision,
                replace(settings, bootstrap_resamples=0),
            )
        log_scores(run, "test", test_fs.done(test_group.ids), y_true, scored)
        log_scores(run, "valid", valid_fs.done(valid_group.ids), y_valid, on_valid)
        log_decision(run, decision, y_true, scored, run.name)
        metrics = {
            **prefixed(scored.metrics, "test"),
            **prefixed(on_valid.metrics, "valid"),
            **threshold_metrics(decision),
        }
        metrics["cv/best_score"] = result.best_score
        extraction = {
            "extract/images_extracted": train_stats.extracted + valid_stats.extracted + test_stats.extracted,
            "extract/images_cached": train_stats.cached + valid_stats.cached + test_stats.cached,
            "data/train_images": len(train),
            "data/valid_images": len(valid),
            "data/test_images": len(test),
            "data/train_samples": len(train_fs.y),
            "data/num_features": train_fs.X.shape[1],
        }
        run.log_metrics({**metrics, **timings, **extraction})
        run.log_text(json.dumps({f"best.{k}": v for k, v in result.best_params.items()}, indent=2), "best_params.json")
        fixed_pred = np.where(scored.fixed_fake, 0, 1).astype(np.int8)  # at 0.5: the confusion matrix and ROC figure
        log_evaluation(run, y_true, fixed_pred, 1.0 - scored.fixed_p_fake, run.name)
        log_importances(
            run, model, latent_shapes(train_group, cfg.component, cfg.latent), parts.preprocess.whole_latents, run.name
        )
        log_training_curves(run, model, classifier.name)  # estimators with curves_ (lgbm, cnn)
        if hasattr(model, "device_"):  # the device it really trained on, beside the configured one
            run.set_tags({"classifier.device_used": str(model.device_)})
        log_trials(run, result.trials)
        info = {"run_id": run.run_id, **factor_tags(cfg)}
        log_detector(run, job_detector(cfg, parts, model, decision, info), factor_tags(cfg))
        summary = {
            "status": "finished",
            "run_id": run.run_id,
            "factors": factor_tags(cfg),
            "metrics": metrics,
            "timings": timings,
            "best_params": result.best_params,
            "model_params": used,
            "untuned": result.untuned,
            "decision": decision.describe(),
            "audit_warning": audit["warning"] if audit else None,
            **extraction,
        }
        # Issue 14: extra test sets, perturbation conditions, other rates ({} when none are configured).
        summary["extra_metrics"] = evaluate_extras(cfg, parts, test, model, decision, settings, run)
    summary["tracking_error"] = run.lost  # None, or why the server stopped taking this run's data
    if out is not None:
        (out / "results.json").write_text(json.dumps(summary, indent=2, default=float))
    record_outcome("finished", run_id=run.run_id, tracking_error=run.lost)
    t = factor_tags(cfg)
    log.info(
        "RESULT %s | acc %.3f bal@valid %.3f auc %.3f [%.3f, %.3f] | extract %.1fs features %.1fs tune %.1fs fit %.1fs predict %.1fs",
        " ".join(f"{k}={v}" for k, v in t.items()),
        metrics["test/accuracy"],
        metrics.get("test/balanced_accuracy_at_valid", float("nan")),
        metrics.get("test/roc_auc", float("nan")),
        metrics.get("test/roc_auc_ci_low", float("nan")),
        metrics.get("test/roc_auc_ci_high", float("nan")),
        timings["time/extract_s"],
        timings["time/features_s"],
        timings["time/tune_s"],
        timings["time/fit_s"],
        timings["time/predict_s"],
    )
    return metrics
