"""Robustness of a demo detector under the `+robustness=standard` conditions, before the job runs them.

Stand-in for the default job (``dataset=synthetic encoder=dct bpp=12 latent=y_hat component=yuv
preprocess=flatten classifier=rf``) without tuning: demo images made by
``jpegai_fd.datasets.generators.make_image`` and JPEG-saved at their own quality (as the demo's files),
flattened ``y_hat`` latents of both components, a 200-tree random forest with the conf's fixed
parameters. The detector is trained on clean images; each condition perturbs the test images
(decoded pixels, then re-encoded at the same bpp). Metrics from ``jpegai_fd.scoring.split_metrics``
at the 0.5 cut, with fake as the positive class.

    python benchmarks/robustness_curves.py --size 128 --train 150 --test 50
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from sklearn.ensemble import RandomForestClassifier

from jpegai_fd.datasets.generators import make_image
from jpegai_fd.encoders.dct import DCTEncoder
from jpegai_fd.components import build_conditions
from jpegai_fd.perturb import JPEGRecompress
from jpegai_fd.scoring.metrics import split_metrics

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"


def standard_conditions(seed: int) -> dict:
    """The conditions of `+robustness=standard` as the default job composes them (encoder=dct)."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=["+robustness=standard", f"seed={seed}"])
    return build_conditions(OmegaConf.to_container(cfg.robustness.conditions, resolve=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--train", type=int, default=150, help="train images per class")
    parser.add_argument("--test", type=int, default=50, help="test images per class")
    parser.add_argument("--bpp", type=int, default=12)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    start = time.perf_counter()
    encoder = DCTEncoder()

    def images(count, offset):
        made = [(label, make_image(label, args.seed, offset + i, args.size)) for label in (1, 0) for i in range(count)]
        pixels = np.stack([JPEGRecompress(q)(px) for _, (px, q) in made])
        return pixels, np.array([label for label, _ in made])

    def features(pixels):
        y_hat = encoder.encode(pixels, args.bpp)["y_hat"]
        return np.concatenate([y_hat[c].reshape(len(pixels), -1) for c in ("model_y", "model_uv")], axis=1)

    train_px, y_train = images(args.train, 0)
    test_px, y_test = images(args.test, 10_000)
    test_ids = [f"{i:06d}" for i in range(len(test_px))]
    model = RandomForestClassifier(n_estimators=200, max_features="sqrt", n_jobs=1, random_state=args.seed)
    model.fit(features(train_px), y_train)
    fake_col = list(model.classes_).index(0)

    def evaluate(pixels):
        m = split_metrics(y_test, model.predict_proba(features(pixels))[:, fake_col])
        return m["accuracy"], m["roc_auc"]

    print(
        f"{args.size}px, {2 * args.train} train / {2 * args.test} test images, dct bpp={args.bpp}, "
        f"flatten yuv y_hat, rf 200 trees (no tuning)"
    )
    print("| condition | accuracy | ROC AUC |\n|---|---|---|")
    print("| clean | %.3f | %.3f |" % evaluate(test_px))
    for name, condition in standard_conditions(args.seed).items():
        print(f"| {name} | %.3f | %.3f |" % evaluate(condition.apply_batch(test_px, test_ids)))
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
