"""Throughput of encoder=jpegai and where its time goes: reference vs fast path, per profile, rate mode, worker count.

Needs a JPEG AI reference-software installation (JPEGAI_ROOT / --root; see docs/how-to/jpegai.md). With
--allow-missing-weights the nets keep random weights: the work per image is the same, the latents are meaningless; a
profile whose weights are missing without that flag is reported as missing. All configurations run side by side in one
process, on the same images. Per configuration: images/s end to end (worker start-up apart), and per image the worker
seconds (workers x wall / images) split into the time inside the analysis, hyper, context and synthesis nets (timed by
the worker), the rest of the software's ``compress`` (quantisation, entropy coding, rate bookkeeping), the worker's own
conversions and the messaging/queueing ("outside" = everything but the nets). The nets' GMAC per image are counted with
torch.utils.flop_counter by jpegai_probe.py in the software's interpreter, which also measures a one-thread torch.mm
ceiling; achieved GFLOP/s = 2 x GMAC / seconds inside the nets. Every image of every configuration is compared bit for
bit (y, y_hat, extras, chosen model) with the reference path's first configuration. Per profile, the probe also runs
the table mode's analysis nets over B images at once (--batch-sizes) on the inputs the software built for them: seconds
per image against one at a time, and whether each image's output is bit-identical to its single run.

    python benchmarks/bench_jpegai.py --root $JPEGAI_ROOT --python $JPEGAI_PYTHON --allow-missing-weights \
        --tools off --profiles base high --table-images 40 --search-images 12 --workers 1 2
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_common import compose_cfg

import jpegai_fd.encoders.jpegai.pool as pool_module
from jfd_testing import build_encoder
from jpegai_fd.errors import UserError

PATHS = {"reference": False, "fast": True}
KINDS = ("analysis", "hyper", "context", "synthesis")
PROBE = Path(__file__).resolve().parent / "jpegai_probe.py"


def photo_like(n: int, size: int, seed: int = 0) -> np.ndarray:
    """Smooth random images (integrated noise): unlike white noise, the rate search can match them."""
    rng = np.random.RandomState(seed)
    noise = rng.standard_normal((n, size, size, 3))
    field = np.cumsum(np.cumsum(noise, axis=1), axis=2) / size
    field -= field.mean(axis=(1, 2), keepdims=True)
    return np.clip(128 + 40 * field / field.std(axis=(1, 2), keepdims=True), 0, 255).astype(np.uint8)


def make_encoder(args, profile: str, mode: str, fast: bool, workers: int, bpp: int):
    def value(v):
        return "null" if v is None else str(v).lower() if isinstance(v, bool) else v

    keys = dict(root=args.root, python=args.python, models_dir=args.models, profile=profile, tools=args.tools)
    keys |= dict(rate_mode=mode, num_workers=workers, device="cpu", fast_path=fast, threads_per_worker=args.threads)
    keys |= dict(allow_missing_weights=args.allow_missing_weights, keep_extras=True, log_dir=args.log_dir)
    overrides = ["encoder=jpegai", f"bpp={bpp}", *[f"encoder.{k}={value(v)}" for k, v in keys.items()]]
    return build_encoder(compose_cfg(overrides))


def timed_encode(encoder, images: np.ndarray, bpp: int, allocator: bool) -> tuple[float, float, dict, list]:
    """(start-up s, encode s, latents, per-image worker meta); ``allocator`` off: the workers get glibc's defaults."""
    saved = pool_module.MALLOC_ENV
    pool_module.MALLOC_ENV = saved if allocator else {}
    try:
        t1 = time.perf_counter()
        pool = encoder._ensure_pool(bpp)  # noqa: SLF001  (start-up timed apart: processes, imports, model build and load)
        start = time.perf_counter() - t1
        batches, encode = [], pool.encode
        pool.encode = lambda *a, **k: batches.append(encode(*a, **k)) or batches[-1]
        t2 = time.perf_counter()
        out = encoder.encode(images, bpp)
        seconds = time.perf_counter() - t2
    finally:
        pool_module.MALLOC_ENV = saved
        encoder.close()
    return start, seconds, out, [m for m in batches[0].meta if m is not None]


def breakdown(metas: list, seconds: float, workers: int, n: int) -> dict:
    """Per image: worker seconds, the nets' seconds per kind, and what lies outside them."""
    per_image = seconds * workers / n
    row = {k: float(np.mean([m["net_seconds"].get(k, 0.0) for m in metas])) for k in KINDS}
    nets = sum(row.values())
    compress = float(np.mean([m["seconds"] for m in metas]))
    worker = float(np.mean([m["encode_seconds"] for m in metas]))
    row |= dict(worker_s_per_image=per_image, nets_s=nets, software_rest_s=compress - nets)
    row |= dict(worker_rest_s=worker - compress, messaging_s=per_image - worker)
    row["outside_pct"] = 100 * (per_image - nets) / per_image
    return {k: round(v, 4) for k, v in row.items()}


def probe(args, encoder, images: np.ndarray, bpp: int, batching: bool) -> dict:
    """GMAC per image and kind, the one-thread torch.mm ceiling and (``batching``) the analysis nets batched, from
    jpegai_probe.py in the software's Python."""
    with tempfile.TemporaryDirectory() as tmp:
        settings, image_file, out = (Path(tmp) / n for n in ("settings.json", "images.npy", "out.json"))
        settings.write_text(json.dumps(encoder.settings.worker_settings(bpp)))
        np.save(image_file, images[: max(args.gmac_images, args.batch_images if batching else 0)])
        cmd = [encoder.settings.python, PROBE, "--root", encoder.settings.root, "--settings", settings]
        cmd += ["--gmac-images", args.gmac_images]
        cmd += ["--batch-sizes", *args.batch_sizes] if batching else []
        env = {**pool_module.MALLOC_ENV, **os.environ}  # the workers' allocator (without it batching was 0.5-0.75x)
        cmd += ["--images", image_file, "--out", out]
        done = subprocess.run(list(map(str, cmd)), capture_output=True, env=env)
        if done.returncode != 0:
            raise RuntimeError(f"jpegai_probe.py failed:\n{done.stderr.decode()[-3000:]}")
        return json.loads(out.read_text())


def identical(a: dict, b: dict) -> bool:
    """Every latent and extra of every image, bit for bit."""
    same = all(np.array_equal(a[lat][c], b[lat][c]) for lat in ("y", "y_hat") for c in ("model_y", "model_uv"))
    return (
        same
        and a["extras"].keys() == b["extras"].keys()
        and all(np.array_equal(a["extras"][k], b["extras"][k]) for k in a["extras"])
    )


def run_config(args, config: tuple, images: np.ndarray, bpp: int, state: dict) -> dict:
    """One row: (profile, mode, path, workers, allocator) on ``images``; ``state`` keeps the reference and GMAC."""
    profile, mode, path, workers, allocator = config
    row = dict(profile=profile, mode=mode, bpp=bpp, path=path, workers=workers, allocator=allocator, images=len(images))
    try:
        encoder = make_encoder(args, profile, mode, PATHS[path], workers, bpp)
        if (profile, mode, path) not in state:  # batching measured once per profile: the same nets in every mode
            batching = mode == "table" and path == "reference" and bool(args.batch_sizes)
            state[profile, mode, path] = probe(args, encoder, images, bpp, batching)
        start, seconds, out, metas = timed_encode(encoder, images, bpp, allocator == "on")
    except UserError as exc:
        return dict(row, missing=str(exc))
    counted = state[profile, mode, path]
    row |= dict(startup_s=round(start, 1), encode_s=round(seconds, 2), images_per_s=round(len(images) / seconds, 3))
    row |= breakdown(metas, seconds, workers, len(images))
    row["failed"] = int(out.get("failed", np.zeros(1)).sum())
    row["gmac"] = {k: round(v, 3) for k, v in counted["gmac"].items()}
    nets_gmac = sum(counted["gmac"][k] for k in KINDS)
    row["nets_gflops"] = round(2 * nets_gmac / row["nets_s"], 1) if row["nets_s"] else None
    row["mm_gflops_1thread"] = round(counted["mm_gflops_1thread"], 1)
    first = state.get(("reference", profile, mode))
    if first is None and path == "reference":
        state["reference", profile, mode], row["bit_identical_to_reference"] = out, "-"
    else:
        row["bit_identical_to_reference"] = identical(first, out) if first is not None else "no reference"
    return row


HEADER = (
    f"{'profile':7} {'mode':6} {'path':9} {'wk':>2} {'alloc':5} {'img/s':>6} {'s/img':>6} {'analys':>6} {'hyper':>6} "
    f"{'contxt':>6} {'synth':>6} {'sw-rest':>7} {'wk-rest':>7} {'msg':>6} {'out%':>5} {'GMAC a/h/c/s/o':>27} {'GF/s':>5} "
    f"{'mm':>5}  same"
)


def table_line(r: dict) -> str:
    if "missing" in r:
        return (
            f"{r['profile']:7} {r['mode']:6} {r['path']:9} {r['workers']:>2} {r['allocator']:5} missing: {r['missing']}"
        )
    gmac = "/".join(f"{r['gmac'][k]:.2f}" for k in (*KINDS, "other"))
    cells = [r["images_per_s"], r["worker_s_per_image"], *(r[k] for k in KINDS)]
    cells = " ".join(f"{c:>6.3f}" for c in cells) + f" {r['software_rest_s']:>7.3f} {r['worker_rest_s']:>7.4f}"
    return (
        f"{r['profile']:7} {r['mode']:6} {r['path']:9} {r['workers']:>2} {r['allocator']:5} {cells} "
        f"{r['messaging_s']:>6.3f} {r['outside_pct']:>5.1f} {gmac:>27} {r['nets_gflops']!s:>5} "
        f"{r['mm_gflops_1thread']:>5}  {r['bit_identical_to_reference']}"
    )


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", default=os.environ.get("JPEGAI_ROOT"))
    p.add_argument("--python", default=os.environ.get("JPEGAI_PYTHON"))
    p.add_argument("--models", default=os.environ.get("JPEGAI_MODELS"))
    p.add_argument("--profiles", nargs="+", default=["base", "high"])
    p.add_argument("--tools", default="off")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--table-images", type=int, default=40)
    p.add_argument("--search-images", type=int, default=12)
    p.add_argument("--gmac-images", type=int, default=2, help="images whose GMAC are counted (slow: op by op)")
    p.add_argument("--batch-images", type=int, default=8, help="table-mode images whose analysis nets are batched")
    p.add_argument("--batch-sizes", type=int, nargs="*", default=[1, 2, 4, 8], help="none: batching not measured")
    p.add_argument("--table-bpp", type=int, default=12)
    p.add_argument("--search-bpp", type=int, default=12)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--modes", nargs="+", default=["table", "search"])
    p.add_argument("--paths", nargs="+", default=list(PATHS), choices=list(PATHS))
    p.add_argument("--allocators", nargs="+", default=["on"], choices=["on", "off"], help="off: glibc's defaults")
    p.add_argument("--threads", type=int, default=1, help="torch threads per worker (the adapter's default: 1)")
    p.add_argument("--allow-missing-weights", action="store_true")
    p.add_argument("--log-dir", default="benchmarks/results/jpegai_logs")
    p.add_argument("--out", default="benchmarks/results/bench_jpegai.json")
    args = p.parse_args()
    if not args.root:
        p.error("--root (or JPEGAI_ROOT) is required")
    return args


def main() -> None:
    args = parse_args()
    logging.basicConfig(level=logging.ERROR)
    rows, state = [], {}
    for profile in args.profiles:
        for mode in args.modes:
            n = args.table_images if mode == "table" else args.search_images
            bpp = args.table_bpp if mode == "table" else args.search_bpp
            images = photo_like(n, args.size)
            for path in args.paths:
                for workers in args.workers:
                    for allocator in args.allocators:
                        rows.append(run_config(args, (profile, mode, path, workers, allocator), images, bpp, state))
                        print(json.dumps(rows[-1]), flush=True)
    print(
        "\nper image: worker seconds, nets' seconds, software rest (compress - nets), worker rest, messaging\n" + HEADER
    )
    for r in rows:
        print(table_line(r))
    batching = {p: c["batching"] for (p, *_), c in state.items() if isinstance(c, dict) and "batching" in c}
    print("\nanalysis nets batched (table mode's model, reference path): s per image, x single, bit-identical")
    for profile, batch_rows in batching.items():
        single = {b["net"]: b["s_per_image"] for b in batch_rows if b["batch"] == 1}
        for b in batch_rows:
            speedup = single.get(b["net"], float("nan")) / b["s_per_image"]
            print(f"{profile:7} {b['net']:14} B={b['batch']:<2} {b['s_per_image']:.4f} x{speedup:.2f} {b['identical']}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    about = {"cpu_count": os.cpu_count(), "size": args.size, "tools": args.tools, "threads": args.threads}
    Path(args.out).write_text(json.dumps(dict(about, rows=rows, batching=batching), indent=2))


if __name__ == "__main__":
    main()
