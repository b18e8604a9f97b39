"""Cache -> feature matrix versus the thesis's one-file-per-image layout, and peak memory.

Builds the demo dataset with N train images, extracts DCT latents at bpp 12 into the Zarr cache, writes
the same latents the way the thesis kept them (one joblib file per image holding the reference
software's tensors: {"y": {"model_y", "model_uv"}, "y_hat": {...}}, torch tensors (1, C, H, W)), then,
in one run and alternating, times building the flatten-YUV matrix both ways for `y` and `y_hat`, and
measures the peak memory (tracemalloc) of the cache path against the size of the matrix itself.

    python benchmarks/bench_cache_read.py --images 1000 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

import joblib
import numpy as np
import torch
from bench_common import RESULTS, compose_cfg

from jfd_testing import cached_latents
from jfd_testing import load_splits
from jpegai_fd.encoders import DCTEncoder
from jfd_testing import build_features


def write_per_image_files(group, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for start in range(0, len(group), group.chunk_size):
        stop = min(start + group.chunk_size, len(group))
        block = {
            (lat, comp): group.array(lat, comp)[start:stop]
            for lat in ("y", "y_hat")
            for comp in ("model_y", "model_uv")
        }
        for i in range(stop - start):
            path = folder / f"{group.ids[start + i]}.joblib"
            joblib.dump(
                {
                    lat: {
                        comp: torch.from_numpy(block[lat, comp][i : i + 1].copy()) for comp in ("model_y", "model_uv")
                    }
                    for lat in ("y", "y_hat")
                },
                path,
            )
            paths.append(path)
    return paths


def load_per_image(paths: list[Path], latent: str) -> np.ndarray:
    """The thesis's loader: one file per image, flatten, stack."""
    rows = []
    for path in paths:
        decisions = joblib.load(path)
        rows.append(
            np.concatenate(
                [decisions[latent]["model_y"].numpy().ravel(), decisions[latent]["model_uv"].numpy().ravel()]
            )
        )
    return np.stack(rows)


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000, help="train images (balanced)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", default=None, help="keep data here (default: a temp dir)")
    args = parser.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench_cache_"))
    overrides = [
        f"paths.data_dir={work}/data",
        f"paths.cache={work}/cache.zarr",
        f"dataset.num_per_class.train={args.images // 2}",
        "dataset.num_per_class.valid=1",
        "dataset.num_per_class.test=1",
        "bpp=12",
        "component=yuv",
        "preprocess=flatten",
    ]
    cfg = compose_cfg(overrides)
    train, _ = load_splits(cfg)
    seconds, (group, _) = timed(lambda: cached_latents(cfg, train, DCTEncoder()))
    print(f"extracted {len(train)} images in {seconds:.1f}s")
    paths = write_per_image_files(group, work / "per_image")
    results = {"images": len(train), "repeats": args.repeats}
    for latent in ("y", "y_hat"):
        lcfg = compose_cfg([*overrides, f"latent={latent}"])
        t_files, t_cache = [], []
        for _ in range(args.repeats):  # alternate so that machine noise hits both alike
            t, x_files = timed(lambda: load_per_image(paths, latent))
            t_files.append(t)
            t, fs = timed(lambda: build_features(lcfg, group, train=True))
            t_cache.append(t)
        np.testing.assert_array_equal(fs.X, x_files)
        files_s, cache_s = statistics.median(t_files), statistics.median(t_cache)
        results[latent] = {
            "per_image_files_s": files_s,
            "zarr_cache_s": cache_s,
            "speedup": files_s / cache_s,
            "matrix_mb": fs.X.nbytes / 2**20,
        }
        print(
            f"latent={latent}: one file per image {files_s:.3f}s, Zarr cache {cache_s:.3f}s "
            f"-> {files_s / cache_s:.1f}x faster ({fs.X.shape[0]}x{fs.X.shape[1]} float32, {fs.X.nbytes / 2**20:.0f} MiB)"
        )
        del fs, x_files
    tracemalloc.start()
    fs = build_features(compose_cfg([*overrides, "latent=y_hat"]), group, train=True)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    results["peak_memory_ratio"] = peak / fs.X.nbytes
    print(f"peak memory while building flatten-YUV: {peak / 2**20:.0f} MiB = {peak / fs.X.nbytes:.2f}x the matrix")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "cache_read.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
