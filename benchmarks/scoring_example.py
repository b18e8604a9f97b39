"""The worked example of docs/scoring_draft.md: the scoring layer on the demo data, end to end.

Generates the demo dataset (its train, valid and test splits), extracts DCT latents into a Zarr cache,
trains a random forest on ``preprocess=multi`` patches (15 fixed positions per image, voted over all
positions at test time), then: shortcut audit of the files, validation-chosen vote cuts, Platt
calibration of the vote share, test metrics at 0.5 and at the chosen cuts with 95% bootstrap
intervals. Prints one JSON document; nothing is tracked.

    python benchmarks/scoring_example.py --workdir /tmp/scoring_example
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench_common import compose_cfg
from sklearn.ensemble import RandomForestClassifier

from jpegai_fd.components import build_group, latents as cached_latents, load_splits
from jpegai_fd.components import features as job_features
from jpegai_fd.datasets import screen
from jpegai_fd.encoders import DCTEncoder
from jpegai_fd.features import majority_vote
from jpegai_fd.scoring.audit import audit_dataset
from jpegai_fd.scoring.bootstrap import bootstrap_intervals
from jpegai_fd.scoring.calibration import Calibrator, calibration_change
from jpegai_fd.scoring.metrics import split_metrics
from jpegai_fd.scoring.vote import choose_vote_threshold, fake_vote_share


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--size", type=int, default=256)
    args = parser.parse_args()
    w = args.workdir
    cfg = compose_cfg(
        [
            f"paths.data_dir={w}/data",
            f"paths.cache={w}/cache.zarr",
            f"dataset.image_size={args.size}",
            "preprocess=multi",
            "component=y",
            "latent=y_hat",
            "n_jobs=1",
        ]
    )
    train, test = load_splits(cfg)
    valid = screen(build_group(cfg, "dataset").listing("valid"))
    audit = audit_dataset({s.name: list(zip(s.paths, s.labels)) for s in (train, valid, test)})
    encoder = DCTEncoder()
    groups = {s.name: cached_latents(cfg, s, encoder)[0] for s in (train, valid, test)}
    feats = {n: job_features(cfg, g, train=n == "train") for n, g in groups.items()}
    model = RandomForestClassifier(n_estimators=100, random_state=cfg.seed, n_jobs=1)
    model.fit(feats["train"].X, feats["train"].y)
    fake_col = list(model.classes_).index(0)
    p = {n: model.predict_proba(feats[n].X)[:, fake_col] for n in ("valid", "test")}
    y_valid, y_test = groups["valid"].labels, groups["test"].labels
    fv, ft = feats["valid"], feats["test"]
    fixed, _ = majority_vote(1 - p["test"], ft.groups, ft.n_images)
    cuts, share_valid = choose_vote_threshold(y_valid, p["valid"], fv.groups, fv.n_images)
    share_test = fake_vote_share(p["test"], ft.groups, ft.n_images, cuts.patch_cut)
    share_half = fake_vote_share(p["test"], ft.groups, ft.n_images)
    calibrator = Calibrator("sigmoid").fit(y_valid, share_valid)
    out = {
        "images": {"train": len(train), "valid": len(valid), "test": len(test)},
        "audit_flags": [(f["split"], f["property"], round(f["auc"], 3)) for f in audit["flags"]],
        "audit_file_size_auc": {s: round(v["separability"]["file_size"]["auc"], 3) for s, v in audit["splits"].items()},
        "fixed_majority_vote": {
            "accuracy": float((fixed == y_test).mean()),
            **split_metrics(y_test, share_half, threshold=0.5 + 1e-9),
        },
        "cuts": cuts.as_dict(),
        "test_at_valid_cuts": split_metrics(y_test, share_test, threshold=cuts.share.value),
        "calibration_on_test": calibration_change(y_test, share_test, calibrator.transform(share_test)),
        "intervals": {
            k: vars(v) for k, v in bootstrap_intervals(y_test, share_test, cuts.share.value, seed=cfg.seed).items()
        },
    }
    print(json.dumps(out, indent=2, default=float))


if __name__ == "__main__":
    main()
