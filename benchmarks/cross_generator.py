"""Cross-generator table of the demo generators (jpegai_fd.datasets.generators), before they are
wired into ``dataset=synthetic``: train a small detector on real vs one generator, test it on held-out
real images against each generator's fakes.

Features: log mean |coefficient| of every DCT-encoder channel (384), pooled over block positions,
from the unquantised ``y`` (``--bpp N`` uses ``y_hat`` at rate N instead); classifier: standardised
logistic regression. ``--jpeg`` re-saves each image as JPEG at its own quality (75-95), as the demo's
files are; without it the pixels go straight to the encoder.

    python benchmarks/cross_generator.py --per-split 100 --size 64
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from jpegai_fd.datasets.generators import GENERATORS, make_image
from jpegai_fd.encoders.dct import DCTEncoder
from jpegai_fd.perturb import JPEGRecompress


def features(images: np.ndarray, bpp: int | None) -> np.ndarray:
    encoder = DCTEncoder()
    latents = encoder.transform(images) if bpp is None else encoder.encode(images, bpp)["y_hat"]
    return np.concatenate(
        [np.log(np.abs(latents[c]).mean(axis=(2, 3)) + 1e-4) for c in ("model_y", "model_uv")], axis=1
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-split", type=int, default=100, help="images per class and split")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bpp", type=int, default=None)
    parser.add_argument("--jpeg", action="store_true", help="JPEG-save at each image's quality first")
    args = parser.parse_args()
    n, start = args.per_split, time.perf_counter()

    def make(label, generator, offset):
        made = [make_image(label, args.seed, offset + i, args.size, generator) for i in range(n)]
        imgs = np.stack([JPEGRecompress(q)(px) if args.jpeg else px for px, q in made])
        return features(imgs, args.bpp)

    real = make(1, "diffusion", 0), make(1, "diffusion", n)  # label 1 ignores the generator choice
    fakes = {g: (make(0, g, 0), make(0, g, n)) for g in GENERATORS}
    y = np.r_[np.ones(n), np.zeros(n)]
    names = list(GENERATORS)
    latent = "y" if args.bpp is None else f"y_hat bpp={args.bpp}"
    print(
        f"accuracy / ROC AUC (fake positive), {n} real + {n} fake per split, {args.size}px, latent {latent}"
        f"{', JPEG 75-95' if args.jpeg else ''}; rows: trained on, columns: tested on"
    )
    print("| trained on | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for a in names:
        model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
        model.fit(np.concatenate([real[0], fakes[a][0]]), y)
        cells = []
        for b in names:
            X = np.concatenate([real[1], fakes[b][1]])
            auc = roc_auc_score(y == 0, model.predict_proba(X)[:, list(model.classes_).index(0)])
            cells.append(f"{model.score(X, y):.3f} / {auc:.3f}")
        print(f"| {a} | " + " | ".join(cells) + " |")
    print(f"({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
