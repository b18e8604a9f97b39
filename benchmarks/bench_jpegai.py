"""Throughput of encoder=jpegai, reference path vs fast path, per profile, rate mode and worker count.

Needs a JPEG AI reference-software installation (JPEGAI_ROOT / --root; see
docs/how-to/jpegai.md). With --allow-missing-weights the nets keep random weights: the
work per image is the same, the latents are meaningless. All configurations run side by side in one
process, on the same images; every image of every configuration is compared bit for bit (y, y_hat,
extras and the chosen base model) with the reference path's first worker count.

    python benchmarks/bench_jpegai.py --root $JPEGAI_ROOT --python $JPEGAI_PYTHON --allow-missing-weights \
        --size 256 --table-images 2 --search-images 2 --profiles high base --workers 1 2
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from pathlib import Path

import numpy as np
from bench_common import compose_cfg

from jfd_testing import build_encoder

PATHS = {"reference": False, "fast": True}


def photo_like(n: int, size: int, seed: int = 0) -> np.ndarray:
    """Smooth random images (integrated noise): unlike white noise, the rate search can match them."""
    rng = np.random.RandomState(seed)
    noise = rng.standard_normal((n, size, size, 3))
    field = np.cumsum(np.cumsum(noise, axis=1), axis=2) / size
    field -= field.mean(axis=(1, 2), keepdims=True)
    return np.clip(128 + 40 * field / field.std(axis=(1, 2), keepdims=True), 0, 255).astype(np.uint8)


def run_one(args, profile: str, mode: str, fast: bool, workers: int, images: np.ndarray, bpp: int) -> tuple[dict, dict]:
    def value(v):
        return "null" if v is None else str(v).lower() if isinstance(v, bool) else v

    keys = {
        "root": args.root,
        "python": args.python,
        "models_dir": args.models,
        "profile": profile,
        "tools": args.tools,
        "rate_mode": mode,
        "num_workers": workers,
        "device": "cpu",
        "fast_path": fast,
        "threads_per_worker": args.threads,
        "allow_missing_weights": args.allow_missing_weights,
        "keep_extras": True,
        "log_dir": args.log_dir,
    }
    encoder = build_encoder(
        compose_cfg(["encoder=jpegai", f"bpp={bpp}", *[f"encoder.{k}={value(v)}" for k, v in keys.items()]])
    )
    try:
        t1 = time.perf_counter()
        encoder._ensure_pool(bpp)  # noqa: SLF001  (start-up timed apart: processes, imports, model build and load)
        start = time.perf_counter() - t1
        t2 = time.perf_counter()
        out = encoder.encode(images, bpp)
        seconds = time.perf_counter() - t2
    finally:
        encoder.close()
    row = {
        "profile": profile,
        "mode": mode,
        "bpp": bpp,
        "path": "fast" if fast else "reference",
        "workers": workers,
        "images": len(images),
        "startup_s": round(start, 1),
        "encode_s": round(seconds, 1),
        "images_per_s": round(len(images) / seconds, 4),
        "s_per_image": round(seconds / len(images), 2),
        "failed": int(out.get("failed", np.zeros(1)).sum()),
    }
    return row, out


def identical(a: dict, b: dict) -> bool:
    """Every latent and extra of every image, bit for bit."""
    same = all(np.array_equal(a[lat][c], b[lat][c]) for lat in ("y", "y_hat") for c in ("model_y", "model_uv"))
    return (
        same
        and a["extras"].keys() == b["extras"].keys()
        and all(np.array_equal(a["extras"][k], b["extras"][k]) for k in a["extras"])
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", default=os.environ.get("JPEGAI_ROOT"))
    p.add_argument("--python", default=os.environ.get("JPEGAI_PYTHON"))
    p.add_argument("--models", default=os.environ.get("JPEGAI_MODELS"))
    p.add_argument("--profiles", nargs="+", default=["high", "base"])
    p.add_argument("--tools", default="on")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--table-images", type=int, default=2)
    p.add_argument("--search-images", type=int, default=2)
    p.add_argument("--table-bpp", type=int, default=12)
    p.add_argument("--search-bpp", type=int, default=12)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--modes", nargs="+", default=["table", "search"])
    p.add_argument("--paths", nargs="+", default=list(PATHS), choices=list(PATHS))
    p.add_argument("--threads", type=int, default=1, help="torch threads per worker (the adapter's default: 1)")
    p.add_argument("--allow-missing-weights", action="store_true")
    p.add_argument("--log-dir", default="benchmarks/results/jpegai_logs")
    p.add_argument("--out", default="benchmarks/results/bench_jpegai.json")
    args = p.parse_args()
    if not args.root:
        p.error("--root (or JPEGAI_ROOT) is required")
    logging.basicConfig(level=logging.WARNING)
    rows = []
    for profile in args.profiles:
        for mode in args.modes:
            n = args.table_images if mode == "table" else args.search_images
            bpp = args.table_bpp if mode == "table" else args.search_bpp
            images = photo_like(n, args.size)
            first = None
            for path in args.paths:
                for workers in args.workers:
                    row, out = run_one(args, profile, mode, PATHS[path], workers, images, bpp)
                    if first is None:
                        first = out
                        row["bit_identical_to_reference"] = "-"
                    else:
                        row["bit_identical_to_reference"] = identical(first, out)
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    ref = {(r["profile"], r["mode"], r["workers"]): r for r in rows if r["path"] == "reference"}
    for r in rows:
        base = ref.get((r["profile"], r["mode"], r["workers"]))
        r["speedup"] = round(r["images_per_s"] / base["images_per_s"], 2) if base else None
    print(
        f"\n{'profile':7} {'mode':6} {'bpp':>4} {'path':9} {'workers':>7} {'start-up s':>10} {'img/s':>7} "
        f"{'s/img':>6} {'speedup':>7}  bit-identical"
    )
    for r in rows:
        print(
            f"{r['profile']:7} {r['mode']:6} {r['bpp']:>4} {r['path']:9} {r['workers']:>7} {r['startup_s']:>10} "
            f"{r['images_per_s']:>7} {r['s_per_image']:>6} {r['speedup']!s:>7}  {r['bit_identical_to_reference']}"
        )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(
        json.dumps({"cpu_count": os.cpu_count(), "size": args.size, "tools": args.tools, "rows": rows}, indent=2)
    )


if __name__ == "__main__":
    main()
