"""Throughput of encoder=jpegai: start-up time and images per second, per rate mode and worker count.

Needs a JPEG AI reference-software installation (JPEGAI_ROOT / --root; see the README section
"Using the real JPEG AI encoder"). With --allow-missing-weights the nets keep random weights: the
work per image is the same, the latents are meaningless. All configurations run side by side in one
process, on the same images, and the script checks that 1 and 2 workers return identical latents.

    python benchmarks/bench_jpegai.py --root $JPEGAI_ROOT --python $JPEGAI_PYTHON --allow-missing-weights \
        --size 256 --table-images 8 --search-images 2 --workers 1 2
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

from jpegai_fd.components import build_encoder


def run_one(args, mode: str, workers: int, images: np.ndarray, bpp: int) -> tuple[dict, dict]:
    def value(v):
        return "null" if v is None else str(v).lower() if isinstance(v, bool) else v

    keys = {"root": args.root, "python": args.python, "models_dir": args.models, "profile": args.profile,
            "tools": args.tools, "rate_mode": mode, "num_workers": workers, "device": "cpu",
            "threads_per_worker": args.threads, "allow_missing_weights": args.allow_missing_weights,
            "log_dir": args.log_dir}
    t0 = time.perf_counter()
    encoder = build_encoder(compose_cfg(["encoder=jpegai", f"bpp={bpp}",
                                         *[f"encoder.{k}={value(v)}" for k, v in keys.items()]]))
    checks = time.perf_counter() - t0
    try:
        t1 = time.perf_counter()
        encoder._ensure_pool(bpp)            # start-up: processes, imports, model build and load
        start = time.perf_counter() - t1
        t2 = time.perf_counter()
        out = encoder.encode(images, bpp)
        seconds = time.perf_counter() - t2
    finally:
        encoder.close()
    row = {"mode": mode, "bpp": bpp, "workers": workers, "threads_per_worker": encoder.settings.threads,
           "images": len(images), "checks_s": round(checks, 2), "startup_s": round(start, 1),
           "encode_s": round(seconds, 1), "images_per_s": round(len(images) / seconds, 3),
           "s_per_image": round(seconds / len(images), 2), "failed": int(out.get("failed", np.zeros(1)).sum())}
    return row, out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", default=os.environ.get("JPEGAI_ROOT"))
    p.add_argument("--python", default=os.environ.get("JPEGAI_PYTHON"))
    p.add_argument("--models", default=os.environ.get("JPEGAI_MODELS"))
    p.add_argument("--profile", default="high")
    p.add_argument("--tools", default="on")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--table-images", type=int, default=8)
    p.add_argument("--search-images", type=int, default=2)
    p.add_argument("--table-bpp", type=int, default=12)
    p.add_argument("--search-bpp", type=int, default=6)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--modes", nargs="+", default=["table", "search"])
    p.add_argument("--threads", type=int, default=1, help="torch threads per worker (the adapter's default: 1)")
    p.add_argument("--allow-missing-weights", action="store_true")
    p.add_argument("--log-dir", default="benchmarks/results/jpegai_logs")
    p.add_argument("--out", default="benchmarks/results/bench_jpegai.json")
    args = p.parse_args()
    if not args.root:
        p.error("--root (or JPEGAI_ROOT) is required")
    logging.basicConfig(level=logging.WARNING)
    rows = []
    for mode in args.modes:
        n = args.table_images if mode == "table" else args.search_images
        bpp = args.table_bpp if mode == "table" else args.search_bpp
        images = np.random.RandomState(0).randint(0, 256, (n, args.size, args.size, 3)).astype(np.uint8)
        first = None
        for workers in args.workers:
            row, out = run_one(args, mode, workers, images, bpp)
            if first is None:
                first = out
            else:
                row["same_latents_as_first"] = all(np.array_equal(first[lat][c], out[lat][c])
                                                   for lat in ("y", "y_hat") for c in ("model_y", "model_uv"))
            rows.append(row)
            print(json.dumps(row), flush=True)
    print(f"\n{'mode':7} {'bpp':>4} {'workers':>7} {'start-up s':>10} {'img/s':>7} {'s/img':>6}  same")
    for r in rows:
        print(f"{r['mode']:7} {r['bpp']:>4} {r['workers']:>7} {r['startup_s']:>10} {r['images_per_s']:>7} "
              f"{r['s_per_image']:>6}  {r.get('same_latents_as_first', '-')}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"cpu_count": os.cpu_count(), "size": args.size, "profile": args.profile,
                                          "tools": args.tools, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
