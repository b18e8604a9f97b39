"""Score the trained model with the job's decision rule on every cached group of a plan, metrics prefixed
``eval/<name>/``, ``robust/<condition>/`` or ``rate/<bpp>/``."""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from jpegai_fd.cache.extraction import Latents
from jpegai_fd.datasets import DatasetSplit, ImageDataset
from jpegai_fd.extra_eval.plan import ExtraPlan, load_source, load_test_split
from jpegai_fd.classifiers import predict_real
from jpegai_fd.features import feature_set
from jpegai_fd.perturb import PerturbedReader
from jpegai_fd.scoring.evaluate import SplitScores, evaluate_split
from jpegai_fd.scoring.settings import ScoringSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Scorer:
    preprocess: object
    component: str
    latent: str
    model: object
    decision: object
    settings: ScoringSettings
    stream: bool = False

    def __call__(self, group, split: DatasetSplit) -> tuple[SplitScores, np.ndarray, np.ndarray]:
        """(scores, labels, ids) of the group's done images (of ``split``, which names their sources)."""
        fs = feature_set(group, self.preprocess, self.component, self.latent, False, stream=self.stream)
        p_real = predict_real(self.model, fs.X)
        y_true, ids = fs.done(group.labels), fs.done(group.ids)
        scored = evaluate_split(
            y_true, p_real, fs.groups, fs.n_images, self.decision, self.settings, split.source_names(ids)
        )
        return scored, y_true, ids


@dataclass
class Entry:
    """One scored set: ``prefix`` (``robust/jpeg_q75``), ``group``, a condition's ``kind``/``strength``, metrics."""

    prefix: str
    group: str
    bpp: int
    metrics: dict[str, float]
    kind: str | None = None
    strength: float | None = None
    split: DatasetSplit | None = field(default=None, repr=False)
    latents: object | None = field(default=None, repr=False)
    scored: tuple | None = field(default=None, repr=False)  # (ids, labels, SplitScores) of its images


@dataclass
class ExtraResult:
    entries: list[Entry]
    extracted: int
    cached: int
    seconds: float

    def metrics(self) -> dict[str, float]:
        """Every entry's metrics, prefixed (the clean test entry is the job's own and left out)."""
        return {f"{e.prefix}/{k}": v for e in self.entries if e.group != "test" for k, v in e.metrics.items()}


def targets(plan: ExtraPlan, test: DatasetSplit, dataset: ImageDataset, bpp: int, seed: int):
    """(prefix, group, split, bpp, reader, max_bad_fraction, condition kind and strength) of everything in ``plan``."""
    reader, max_bad = dataset.reader, dataset.max_bad_fraction
    for name, ds in plan.sets.items():
        yield f"eval/{name}", "eval", load_test_split(name, ds, seed + 1), bpp, ds.reader, ds.max_bad_fraction, {}
    for name, ds in plan.sources.items():  # a training source's own test split, sampled as when it trained
        yield f"eval/{name}", "eval", load_source(name, ds, "test", seed), bpp, ds.reader, ds.max_bad_fraction, {}
    for name, condition in plan.conditions.items():
        params = condition.key_params()  # strength: the first one (JPEG quality, scale factor, sigma ...)
        what = {"kind": condition.name, "strength": float(params[0][1]) if params else None}
        yield f"robust/{name}", "robust", test, bpp, PerturbedReader.for_split(reader, condition, test), max_bad, what
    for rate in plan.rates:
        yield f"rate/{rate}", "rate", test, rate, reader, max_bad, {}


def extract_extras(plan: ExtraPlan, test, dataset, latents: Latents, bpp: int, seed: int) -> dict[str, int]:
    """Fill the groups of everything in ``plan`` without training; images extracted per entry."""
    return {
        prefix: latents(split, rate, reader, max_bad)[1].extracted
        for prefix, _, split, rate, reader, max_bad, _ in targets(plan, test, dataset, bpp, seed)
    }


def evaluate_extras(
    plan: ExtraPlan, test: DatasetSplit, dataset: ImageDataset, scorer: Callable, latents: Latents, bpp: int, seed: int
) -> ExtraResult:
    """Score the clean test split (reference row) and everything in ``plan``; extract what is missing."""
    start = time.perf_counter()
    entries: list[Entry] = []
    extracted = cached = 0
    reference = ("test", "test", test, bpp, dataset.reader, dataset.max_bad_fraction, {})
    everything = [reference, *targets(plan, test, dataset, bpp, seed)]
    for prefix, group_name, split, rate, reader, max_bad, extra in everything:
        group, stats = latents(split, rate, reader, max_bad)
        if group_name != "test":  # the clean test group is the job's own (counted by the job)
            extracted, cached = extracted + stats.extracted, cached + stats.cached
        scores, y_true, ids = scorer(group, split)
        scored = {"split": split, "latents": group, "scored": (ids, y_true, scores)}
        entries.append(Entry(prefix, group_name, rate, scores.metrics, **scored, **extra))
        m = scores.metrics
        auc = f"{m['roc_auc']:.3f}" if "roc_auc" in m else "- (one class)"
        acc = m.get("accuracy_at_valid", m.get("accuracy", float("nan")))
        log.info("%s: %d real, %d fake | acc %.3f auc %s", prefix, m.get("n_real", 0), m.get("n_fake", 0), acc, auc)
    result = ExtraResult(entries, extracted, cached, time.perf_counter() - start)
    n_sets = len(plan.sets) + len(plan.sources)
    what = (n_sets, len(plan.conditions), len(plan.rates), extracted, cached, result.seconds)
    log.info("extra evaluation: %d sets, %d conditions, %d rates (%d images extracted, %d cached, %.1fs)", *what)
    return result
