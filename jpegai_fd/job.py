"""The train-and-evaluate job: ``run_job(settings, parts, place)`` runs the stages in order, each a function of
settings and built parts (docs/concepts/pipeline.md)."""

import json
import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import partial

import numpy as np

from jpegai_fd.cache.extraction import ExtractionStats, Latents
from jpegai_fd.cache.store import LatentGroup
from jpegai_fd.classifiers import fit_on_rows, predict_real
from jpegai_fd.classifiers.memory import memory_warning
from jpegai_fd.components import Components
from jpegai_fd.config import Settings
from jpegai_fd.datasets import DatasetSplit
from jpegai_fd.datasets.manifest import hash_memo, manifest_rows
from jpegai_fd.errors import UserError
from jpegai_fd.extra_eval import Scorer, evaluate_extras, load_source
from jpegai_fd.features import FeatureSet, feature_set, file_feature_set
from jpegai_fd.features.augment import augmented_groups, with_copies
from jpegai_fd.features.pool import pool_features
from jpegai_fd.model.detector import Detector
from jpegai_fd.model.pyfunc import log_detector
from jpegai_fd.model.decision import choose_decision
from jpegai_fd.scoring.evaluate import evaluate_split
from jpegai_fd.scoring.metrics import prefixed
from jpegai_fd.tracking.dataset_inputs import log_dataset_inputs
from jpegai_fd.tracking.job_artifacts import latent_shapes, log_dataset_manifest, log_evaluation, log_importances
from jpegai_fd.tracking.job_artifacts import log_training_curves, log_trials
from jpegai_fd.tracking.mlflow_run import TrackedRun
from jpegai_fd.tracking.resume import resume_finished
from jpegai_fd.tracking.score_artifacts import log_audit, log_decision, log_extras, log_scores, threshold_metrics
from jpegai_fd.tracking.settings import JobPlace
from jpegai_fd.tracking.sweep import UNTUNED_TAG, record_outcome
from jpegai_fd.tuning.study import tune

log = logging.getLogger(__name__)
SPLITS = ("train", "valid", "test")


@dataclass
class Split:
    """One split on its way through the stages."""

    images: DatasetSplit
    group: LatentGroup | None = None
    stats: ExtractionStats | None = None
    features: FeatureSet | None = None
    augmented: list = field(default_factory=list)  # (positions, copies, group, stats) per augment condition

    @property
    def labels(self) -> np.ndarray:
        return self.features.done(self.group.labels)

    @property
    def ids(self) -> np.ndarray:
        return self.features.done(self.group.ids)

    @property
    def sources(self) -> np.ndarray:
        return self.images.source_names(self.ids)


@contextmanager
def timed(timings: dict, key: str):
    start = time.perf_counter()
    yield
    timings[key] = time.perf_counter() - start


@dataclass
class Pool:
    """The pieces of a split, one per training source, as one: samples, and labels and ids per image."""

    features: FeatureSet
    labels: np.ndarray
    ids: np.ndarray
    sources: np.ndarray  # each image's source (jpegai_fd.scoring.metrics.source_metrics)
    group: LatentGroup  # the first piece's: the latent shapes


def load_data(parts: Components, s: Settings) -> dict[str, list[Split]]:
    """The train, valid and test pieces: the dataset's, then each ``train_extra`` source's train and valid
    splits (not the ``holdout``'s); the test split is the dataset's only."""
    main, seed, holdout = parts.dataset, s.grid.seed, s.grid.holdout
    data = {"train": [], "valid": [], "test": [Split(main.load_split("test", seed))]}
    if holdout != main.name:
        data["train"].append(Split(main.load_split("train", seed)))
        data["valid"].append(
            Split(main.load_valid_split(seed) if not parts.extras.sources else main.load_split("valid", seed))
        )
    for name, source in parts.extras.sources.items():
        for kind in ("train", "valid") if name != holdout else ():
            data[kind].append(Split(load_source(name, source, kind, seed)))
    return data


def extract(data: dict[str, list[Split]], parts: Components, s: Settings) -> None:
    """Open each piece's cache group at ``bpp`` (one per source and split), extracting this process's missing chunks."""
    if hasattr(parts.encoder, "prepare"):
        parts.encoder.prepare()
    open_latents = Latents(s.cache, parts.encoder, s.extract)
    for kind, split in ((kind, sp) for kind, pieces in data.items() for sp in pieces):
        source = parts.extras.sources.get(split.images.dataset, parts.dataset)
        latents = partial(open_latents, bpp=s.grid.bpp, max_bad_fraction=source.max_bad_fraction)
        split.group, split.stats = latents(split.images, reader=source.reader)
        if kind == "train" and parts.augment:  # training images only: valid and test are never augmented
            split.augmented = augmented_groups(parts.augment, split.images, source.reader, latents)


def make_features(data: dict[str, list[Split]], parts: Components, s: Settings) -> None:
    """Each piece's samples; valid like test (every position of an image for multi), never searched or fitted on."""
    make = partial(feature_set, preprocess=parts.preprocess, component=s.grid.component, latent=s.grid.latent)
    for kind, split in ((kind, sp) for kind, pieces in data.items() for sp in pieces):
        if parts.classifier.file_properties:
            split.features = file_feature_set(split.group, split.images)
        else:
            split.features = make(split.group, train=kind == "train", stream=parts.classifier.stream_from_cache)
        if split.augmented:  # the copies' samples join the groups of their originals
            split.features = with_copies(split.features, split.augmented, partial(make, train=True))


def pooled(pieces: list[Split], kind: str, s: Settings) -> Pool:
    """The pieces of ``kind`` as one: ids prefixed with their source where there are several; for training,
    copies of an image (by content) in one CV group and the classes balanced by ``train_balance``."""
    labels = np.concatenate([sp.labels for sp in pieces])
    if len(np.unique(labels)) < 2:
        raise UserError(
            f"the pooled {kind} images of the training sources ({', '.join(sp.images.dataset for sp in pieces)}) "
            "are all of one class; add a source with the other class or change holdout"
        )
    train, many = kind == "train", len(pieces) > 1
    ids = np.array([f"{sp.images.dataset}/{i}" for sp in pieces for i in sp.ids]) if many else pieces[0].ids
    keys = None
    if many and train:  # copies of an image in several sources (the demo's reals) share a CV group
        hashes = [np.array([r["hash"] for r in manifest_rows(sp.images, hash_memo(s.cache))]) for sp in pieces]
        keys = np.concatenate([sp.features.done(h) for sp, h in zip(pieces, hashes)])
    balance = train and s.grid.train_balance == "class"
    features, kept = pool_features([sp.features for sp in pieces], labels, keys, balance, s.grid.seed)
    sources = np.concatenate([sp.sources for sp in pieces])[kept]
    return Pool(features, labels[kept], ids[kept], sources, pieces[0].group)


def tune_and_fit(parts: Components, train: FeatureSet, s: Settings, run, timings: dict):
    """The Optuna search, then the final model refitted on the whole train split with the best parameters."""
    classifier = parts.classifier
    if too_big := memory_warning(classifier, train.X):
        log.warning(too_big)
        run.set_tags({"warning.memory": too_big})
    with timed(timings, "time/tune_s"):
        result = tune(classifier, train, s.tuning, s.grid.seed, s.study_name)
    if result.untuned:  # a result of the fixed parameters: the report skips it unless asked
        log.warning(
            "no hyperparameter search (%s): training with the fixed parameters of classifier.estimator", result.untuned
        )
        run.set_tags({UNTUNED_TAG: result.untuned})
    with timed(timings, "time/fit_s"):
        model = fit_on_rows(classifier.make(result.best_params), train.X, train.y, train.groups)
    # params model.* record what the final model really used, next to the configured classifier.estimator.*
    used = {
        k: v if isinstance(v, (bool, int, float, str, type(None))) else str(v)
        for k, v in model.get_params(deep=False).items()
    }
    run.log_params({f"model.{k}": v for k, v in used.items()})
    return model, result, used


def decide_and_score(model, splits: dict[str, Split], s: Settings, timings: dict):
    """The decision rule chosen on the valid images, then the test split's (and valid's) scores."""
    valid, test = splits["valid"], splits["test"]
    with timed(timings, "time/predict_s"):
        p_real = predict_real(model, test.features.X)
    p_real_valid = predict_real(model, valid.features.X)
    with timed(timings, "time/score_s"):
        vf, tf = valid.features, test.features
        decision = choose_decision(valid.labels, p_real_valid, vf.groups, vf.n_images, s.scoring)
        scored = evaluate_split(test.labels, p_real, tf.groups, tf.n_images, decision, s.scoring, test.sources)
        quick = replace(s.scoring, bootstrap_resamples=0)
        on_valid = evaluate_split(valid.labels, p_real_valid, vf.groups, vf.n_images, decision, quick, valid.sources)
    return decision, scored, on_valid


def log_job(run, splits, parts, s: Settings, model, decision, scored) -> None:
    """The run's figures, importances, curves and the saved detector."""
    test, train = splits["test"], splits["train"]
    fixed_pred = np.where(scored.fixed_fake, 0, 1).astype(np.int8)  # at 0.5: the confusion matrix and ROC figure
    log_evaluation(run, test.labels, fixed_pred, 1.0 - scored.fixed_p_fake, run.name)
    if parts.classifier.file_properties:  # a baseline of file properties: no latent importances, no latent detector
        return
    shapes = latent_shapes(train.group, s.grid.component, s.grid.latent)
    log_importances(run, model, shapes, parts.preprocess.whole_latents, run.name)
    log_training_curves(run, model, parts.classifier.name)  # estimators with curves_ (lgbm, cnn)
    if hasattr(model, "device_"):  # the device it really trained on, beside the configured one
        run.set_tags({"classifier.device_used": str(model.device_)})
    grid = dict(bpp=s.grid.bpp, component=s.grid.component, latent=s.grid.latent)
    made = dict(reader=parts.dataset.reader.settings(), fingerprint=parts.encoder.fingerprint(), estimator=model)
    info = {"run_id": run.run_id, **s.record.factors}
    detector = Detector(**s.groups, **grid, **made, decision=decision, info=info)  # groups: encoder, preprocess
    log_detector(run, detector, s.record.factors)


def extra_evaluation(splits, parts, s: Settings, model, decision, run) -> dict:
    """Extra test sets, perturbation conditions and other rates, scored like the test split."""
    if parts.extras.empty:
        return {}
    grid, stream = s.grid, parts.classifier.stream_from_cache
    scorer = Scorer(parts.preprocess, grid.component, grid.latent, model, decision, s.scoring, stream=stream)
    latents, test = Latents(s.cache, parts.encoder, s.extract), splits["test"].images
    result = evaluate_extras(parts.extras, test, parts.dataset, scorer, latents, s.grid.bpp, s.grid.seed)
    return log_extras(run, parts.extras, result, s.cache)


def summarise(data, splits, scores, result) -> tuple[dict, dict]:
    """The job's metrics (test, valid, threshold, CV) and its data counts (images of every source)."""
    decision, scored, on_valid = scores
    metrics = {**prefixed(scored.metrics, "test"), **prefixed(on_valid.metrics, "valid"), **threshold_metrics(decision)}
    metrics["cv/best_score"] = result.best_score
    pieces = [sp for kind in data.values() for sp in kind]
    stats = [st for sp in pieces for st in (sp.stats, *(a[3] for a in sp.augmented))]
    counts = {
        "extract/images_extracted": sum(st.extracted for st in stats),
        "extract/images_cached": sum(st.cached for st in stats),
        "data/train_augmented": sum(len(a[1]) for sp in data["train"] for a in sp.augmented),
        **{f"data/{kind}_images": sum(len(sp.images) for sp in data[kind]) for kind in data},
        "data/train_samples": len(splits["train"].features.y),
        "data/num_features": splits["train"].features.X.shape[1],
    }
    return metrics, counts


def run_job(s: Settings, parts: Components, place: JobPlace = JobPlace()) -> dict[str, float]:
    """Run one grid point and return its metrics (also logged to MLflow and to ``results.json``)."""
    for name in ("alembic", "mlflow", "urllib3", "optuna"):  # the job log is about the job
        logging.getLogger(name).setLevel(logging.WARNING)
    if s.tracking.resume and (skipped := resume_finished(s.tracking, s.record, place)) is not None:
        return skipped
    timings: dict[str, float] = {}
    with TrackedRun(s.tracking, s.record, place) as run:
        with timed(timings, "time/dataset_s"):
            data = load_data(parts, s)
        images = {kind: [sp.images for sp in pieces] for kind, pieces in data.items()}
        audit = log_audit(run, images, s.scoring.audit_max_auc) if s.scoring.audit else None
        with timed(timings, "time/extract_s"):
            extract(data, parts, s)
        pairs = [(sp.images, sp.group) for pieces in data.values() for sp in pieces]
        log_dataset_manifest(run, pairs, s.cache, parts.dataset.name)  # incl. skipped/unreadable images
        log_dataset_inputs(run, pairs, [kind for kind, pieces in data.items() for _ in pieces])  # UI: Dataset column
        # Runs with this tag scored the same test images: the report pairs their per-image scores.
        run.set_tags({"dataset.test_manifest": str(data["test"][0].group.group.attrs["manifest"])[:16]})
        with timed(timings, "time/features_s"):
            make_features(data, parts, s)
            splits = {kind: pooled(data[kind], kind, s) for kind in ("train", "valid")} | {"test": data["test"][0]}
        model, result, used = tune_and_fit(parts, splits["train"].features, s, run, timings)
        scores = decide_and_score(model, splits, s, timings)
        for name, scored in (("test", scores[1]), ("valid", scores[2])):
            log_scores(run, name, splits[name].ids, splits[name].labels, scored)
        log_decision(run, scores[0], splits["test"].labels, scores[1], run.name)
        metrics, counts = summarise(data, splits, scores, result)
        run.log_metrics({**metrics, **timings, **counts})
        run.log_text(json.dumps({f"best.{k}": v for k, v in result.best_params.items()}, indent=2), "best_params.json")
        log_trials(run, result.trials)
        log_job(run, splits, parts, s, model, scores[0], scores[1])
        extra = extra_evaluation(splits, parts, s, model, scores[0], run)
    summary = {
        "status": "finished", "run_id": run.run_id, "factors": s.record.factors, "metrics": metrics, "timings": timings,
        "best_params": result.best_params, "model_params": used, "untuned": result.untuned,
        "decision": scores[0].describe(), "audit_warning": audit["warning"] if audit else None, **counts,
        "extra_metrics": extra, "tracking_error": run.lost,
    }  # fmt: skip
    finish(place, summary, timings)
    return metrics


def finish(place: JobPlace, summary: dict, timings: dict) -> None:
    """``results.json`` in the job's folder, the outcome for the sweep, and the job's RESULT log line."""
    if place.output_dir is not None:
        (place.output_dir / "results.json").write_text(json.dumps(summary, indent=2, default=float))
    record_outcome(place, "finished", run_id=summary["run_id"], tracking_error=summary["tracking_error"])
    m = summary["metrics"]
    log.info(
        "RESULT %s | acc %.3f bal@valid %.3f auc %.3f [%.3f, %.3f] | extract %.1fs features %.1fs tune %.1fs "
        "fit %.1fs predict %.1fs",
        " ".join(f"{k}={v}" for k, v in summary["factors"].items()),
        *(m.get(f"test/{k}", float("nan")) for k in ("accuracy", "balanced_accuracy_at_valid", "roc_auc")),
        *(m.get(f"test/roc_auc_ci_{k}", float("nan")) for k in ("low", "high")),
        *(timings[f"time/{k}_s"] for k in ("extract", "features", "tune", "fit", "predict")),
    )
