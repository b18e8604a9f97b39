"""Shortcut audit: can one header property of the files alone tell real from fake? (Peer detectors have learnt
JPEG-vs-PNG instead of real-vs-fake; the rules: docs/concepts/scores.md.)"""

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from jpegai_fd.datasets.file_info import inspect_file
from jpegai_fd.errors import UserError
from jpegai_fd.scoring.labels import FAKE, REAL

MAX_AUC = 0.75
MIN_EXCLUSIVE_SHARE = 0.05
NUMERIC = ("file_size", "width", "height", "pixels", "jpeg_quality")
CATEGORICAL = ("format", "subsampling", "exif", "mode")
CLASS_NAMES = {REAL: "real", FAKE: "fake"}


def _auc(values: np.ndarray, fake: np.ndarray) -> float:
    auc = roc_auc_score(fake, values)
    return float(max(auc, 1 - auc))


def _summary(records: list[dict]) -> dict:
    out = {}
    for key in CATEGORICAL + ("quant_tables",):
        counts = Counter(str(r.get(key, "none")) for r in records)
        if key != "quant_tables" or len(counts) <= 20:
            out[key] = dict(sorted(counts.items()))
        else:
            out["quant_tables_distinct"] = len(counts)
    for key in NUMERIC:
        if values := [r[key] for r in records if key in r]:
            out[key] = {"min": float(np.min(values)), "median": float(np.median(values)), "max": float(np.max(values))}
    return out


def separability(records: list[dict], labels: np.ndarray) -> dict:
    """Per property: its AUC alone, and the values only one class holds (with shares)."""
    fake = np.asarray(labels) == FAKE
    out = {}
    if fake.all() or not fake.any():
        return out
    for key in NUMERIC:
        if all(key in r for r in records):  # e.g. JPEG quality only when every image is a JPEG
            out[key] = {"auc": _auc(np.array([r[key] for r in records], dtype=np.float64), fake)}
    for key in CATEGORICAL:
        values = np.array([str(r.get(key, "none")) for r in records])
        distinct, where = np.unique(values, return_inverse=True)
        fake_share = np.bincount(where, weights=fake, minlength=len(distinct)) / np.bincount(where)
        exclusive = {}
        for k, (v, share) in enumerate(zip(distinct, fake_share)):
            cls = fake if share == 1.0 else ~fake
            if share in (0.0, 1.0) and (held := float(((where == k) & cls).sum() / cls.sum())) >= MIN_EXCLUSIVE_SHARE:
                exclusive[str(v)] = {"only": "fake" if share == 1.0 else "real", "share_of_class": held}
        out[key] = {"auc": _auc(fake_share[where], fake), "exclusive_values": exclusive}
    return out


def audit_dataset(splits: dict[str, Iterable[tuple[str | Path, int]]], max_auc: float = MAX_AUC) -> dict:
    """``dataset/audit.json`` of ``splits`` (name -> (path, label)): per split counts, per-class
    summaries and separability, ``flags``, ``warning`` (one line or None) and the settings."""
    report = {"max_auc": max_auc, "min_exclusive_share": MIN_EXCLUSIVE_SHARE, "splits": {}, "flags": []}
    for split, items in splits.items():
        items = [(Path(p), int(label)) for p, label in items]
        if (bad := next((str(p) for p, label in items if label not in (REAL, FAKE)), None)) is not None:
            raise UserError(f"shortcut audit: '{bad}' in split {split!r} has a label other than 1 (real) or 0 (fake)")
        records = [inspect_file(p) for p, _ in items]
        labels = np.array([label for _, label in items], dtype=np.int8)
        per_class = {CLASS_NAMES[c]: _summary([r for r, lab in zip(records, labels) if lab == c]) for c in (REAL, FAKE)}
        sep = separability(records, labels)
        images = {CLASS_NAMES[c]: int((labels == c).sum()) for c in (REAL, FAKE)}
        report["splits"][split] = {"images": images, "per_class": per_class, "separability": sep}
        for key, result in sep.items():
            exclusive = result.get("exclusive_values", {})
            if result["auc"] > max_auc or exclusive:
                report["flags"].append(
                    {"split": split, "property": key, "auc": result["auc"], "exclusive_values": exclusive}
                )
    report["warning"] = warning_line(report["flags"])
    return report


def warning_line(flags: list[dict]) -> str | None:
    if not flags:
        return None
    strongest: dict[str, dict] = {}
    for f in flags:
        if f["auc"] > strongest.get(f["property"], {"auc": -1.0})["auc"]:
            strongest[f["property"]] = f
    parts = []
    for key, f in strongest.items():
        only = "; ".join(
            f"{v} only in {e['only']} ({e['share_of_class']:.0%} of them)" for v, e in f["exclusive_values"].items()
        )
        parts.append(f"{key} (AUC {f['auc']:.2f} on {f['split']}{', ' + only if only else ''})")
    return (
        f"shortcut audit: file properties alone separate real from fake: {', '.join(parts)}; the detector may learn "
        "them instead of the image content (see dataset/audit.json)"
    )


def audit_tags(report: dict) -> dict[str, str]:
    flagged = sorted({f["property"] for f in report["flags"]})
    return {"audit.shortcut": ",".join(flagged) if flagged else "none"}
