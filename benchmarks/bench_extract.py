"""Extraction throughput (DCT encoder) with 1 and 2 processes, peak memory, and manifest hashing cost.

Generates the demo dataset (N images, 256x256 JPEG, Kaggle layout) once, then, on the same files:
hashes the manifest cold (no memo) and warm (memo sidecar), runs ``python -m jpegai_fd.extract`` as
one process, then as two shard processes at once filling one fresh cache. Reports images/second of
the extraction phase (from each process's progress log), end-to-end wall time per command, and each
process's peak resident memory (getrusage in the process itself).

    python benchmarks/bench_extract.py --images 10000 --out benchmarks/results/extract.json

``--baseline DIR`` (another checkout of the project, e.g. ``git archive REV | tar -x -C DIR``) also
times the one-process extraction with that code, alternating with this checkout ``--repeats`` times
on the same files, and reports the throughput ratio (this / baseline).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from jpegai_fd.datasets.kaggle_csv import read_split
from jpegai_fd.datasets.manifest import FileHashes, manifest_hash
from jpegai_fd.datasets.synthetic import generate

# Runs the extract entry point and leaves this process's peak RSS (KiB) in $BENCH_RSS_FILE.
WRAPPER = (
    "import os, resource, runpy, sys\n"
    "sys.argv = ['jpegai_fd.extract', *sys.argv[1:]]\n"
    "try:\n    runpy.run_module('jpegai_fd.extract', run_name='__main__')\n"
    "finally:\n    open(os.environ['BENCH_RSS_FILE'], 'w').write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))\n"
)
PROGRESS = re.compile(r"extract train bpp=\d+: (\d+)/(\d+) img \(([^,]+), elapsed ([\d.]+)s")


def run_shards(root: Path, cache: Path, work: Path, num_shards: int, chunk: int, code: Path | None = None) -> dict:
    """Extract with ``num_shards`` processes at once; ``code``: a checkout whose package they import."""
    procs, start = [], time.perf_counter()
    for shard in range(num_shards):
        rss = work / f"rss-{num_shards}-{shard}"
        args = [
            "dataset=faces140k",
            f"dataset.root={root}",
            "dataset.image_size=256",
            "dataset.test_split=train",
            f"paths.cache={cache}",
            f"extract.chunk_size={chunk}",
            f"extract.shard={shard}",
            f"extract.num_shards={num_shards}",
            f"hydra.run.dir={work}/run-{num_shards}-{shard}",
        ]
        env = {**os.environ, "BENCH_RSS_FILE": str(rss), "PYTHONUNBUFFERED": "1"}
        if code is not None:
            env["PYTHONPATH"] = str(code)
        procs.append(
            (
                subprocess.Popen(
                    [sys.executable, "-c", WRAPPER, *args],
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                ),
                rss,
            )
        )
    per_process = []
    for proc, rss in procs:
        out, _ = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(out[-3000:])
        last = PROGRESS.findall(out)[-1]
        per_process.append(
            {"images": int(last[0]), "extract_s": float(last[3]), "peak_rss_mib": int(rss.read_text()) / 1024}
        )
    wall = time.perf_counter() - start
    images = sum(p["images"] for p in per_process)
    phase = max(p["extract_s"] for p in per_process)
    return {
        "processes": num_shards,
        "images": images,
        "extract_phase_s": phase,
        "images_per_s": images / phase,
        "wall_s": wall,
        "images_per_s_wall": images / wall,
        "per_process": per_process,
    }


def compare(root: Path, work: Path, args) -> dict:
    """One-process throughput of this checkout and of ``args.baseline``, alternating on fresh caches."""
    here = Path(__file__).resolve().parent.parent
    rates: dict[str, list[float]] = {"this": [], "baseline": []}
    for r in range(args.repeats):
        for name, code in (("baseline", args.baseline.resolve()), ("this", here)):
            run = run_shards(root, work / f"cache_cmp_{name}_{r}.zarr", work, 1, args.chunk, code)
            rates[name].append(run["images_per_s"])
            print(name, json.dumps(run), flush=True)
    medians = {k: float(np.median(v)) for k, v in rates.items()}
    return {
        "code": str(args.baseline),
        "images_per_s": rates,
        "median_images_per_s": medians,
        "ratio_this_over_baseline": medians["this"] / medians["baseline"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10000)
    parser.add_argument("--chunk", type=int, default=32)
    parser.add_argument("--workdir", type=Path, default=None, help="keeps the generated dataset for reruns")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--baseline", type=Path, default=None, help="a checkout to compare against (1 process)")
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs per code with --baseline")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench_extract_"))
    root = work / f"faces_{args.images}"
    t0 = time.perf_counter()
    if not root.exists():
        generate(root, seed=0, size=256, num_per_class={"train": args.images // 2, "valid": 0, "test": 0})
    gen_s = time.perf_counter() - t0
    split = read_split(root, "train", "faces140k")
    memo = FileHashes(work / "hashes.sqlite")
    times = {}
    for name, hashes in (("cold_no_memo", FileHashes()), ("memo_fill", memo), ("memo_warm", memo)):
        t = time.perf_counter()
        manifest_hash(split, hashes)
        times[name] = time.perf_counter() - t
    results = {
        "images": len(split),
        "image_size": 256,
        "chunk_size": args.chunk,
        "cpu_count": os.cpu_count(),
        "load_average_at_start": os.getloadavg(),
        "generate_s": gen_s,
        "manifest_hash_s": times,
        "runs": [],
    }
    for n in (1, 2):
        results["runs"].append(run_shards(root, work / f"cache_{n}.zarr", work, n, args.chunk))
        print(json.dumps(results["runs"][-1]), flush=True)
    one, two = results["runs"]
    results["speedup_2_vs_1"] = two["images_per_s"] / one["images_per_s"]
    if args.baseline is not None:
        results["baseline"] = compare(root, work, args)
    results["load_average_at_end"] = os.getloadavg()
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
