"""Counts what the JPEG AI software computes per image, run in ITS interpreter by ``bench_jpegai.py``.

    <JPEGAI_PYTHON> benchmarks/jpegai_probe.py --root R --settings S.json --images I.npy --out O.json

Builds the worker's own ``Service`` (jpegai_worker.py, same settings as a worker) and codes each image of ``I.npy``
under ``torch.utils.flop_counter.FlopCounterMode``; each net's forward pass is attributed to its kind (analysis,
hyper, synthesis; the rest of ``compress`` is "other"). Also measures this interpreter's one-thread ``torch.mm``
ceiling (float32), the yardstick for the nets' achieved GFLOP/s. Writes GMAC per image and kind, and the ceiling."""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

WORKER_SIDE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "jpegai_fd", "encoders", "jpegai")
sys.path.insert(0, os.path.join(WORKER_SIDE, "worker_side"))


def mm_ceiling(size=1024, seconds=1.5):
    """Best GFLOP/s of a float32 ``size`` x ``size`` matrix product on this interpreter's thread count."""
    import torch

    a, b = torch.randn(size, size), torch.randn(size, size)
    best, end = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        start = time.perf_counter()
        torch.mm(a, b)
        best = max(best, 2 * size**3 / (time.perf_counter() - start) / 1e9)
    return best


def attribute(counter, module, kind, flops):
    """Add the FLOPs of ``module``'s forward passes to ``flops[kind]``."""
    original = module.forward

    def forward(*args, **kwargs):
        before = counter.get_total_flops()
        try:
            return original(*args, **kwargs)
        finally:
            flops[kind] += counter.get_total_flops() - before

    module.forward = forward


def count(service, images, bpp):
    """GMAC per image and kind of net, averaged over ``images``, on ``service`` (fast or reference path)."""
    import jpegai_fast
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    flops = dict.fromkeys(("analysis", "hyper", "synthesis"), 0)
    seen = set()
    for branch in jpegai_fast.branches(service.coder.ce):
        nets = [(branch.encoder, "analysis"), (branch.decoder, "synthesis")]
        nets += [(getattr(branch.common_modules, k), "hyper") for k in jpegai_fast.HYPER_NETS]
        for module, kind in nets:
            if id(module) not in seen:
                seen.add(id(module))
                attribute(counter, module, kind, flops)
    with counter:
        for i, image in enumerate(images):
            service.encode(image, bpp, "probe%d" % i)
    gmac = {k: v / 2e9 / len(images) for k, v in flops.items()}
    gmac["other"] = counter.get_total_flops() / 2e9 / len(images) - sum(gmac.values())
    return gmac


def main():
    import numpy as np
    import torch

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for flag in ("--root", "--settings", "--images", "--out"):
        p.add_argument(flag, required=True)
    args = p.parse_args()
    settings = json.load(open(args.settings))
    torch.set_num_threads(int(settings.get("threads") or 1))
    result = {"mm_gflops_1thread": mm_ceiling(), "torch": torch.__version__}
    import jpegai_worker

    workdir = tempfile.mkdtemp(prefix="jpegai-probe-")
    try:
        shutil.copytree(os.path.join(args.root, "cfg"), os.path.join(workdir, "cfg"))
        service = jpegai_worker.Service(os.path.abspath(args.root), workdir)
        service.init(settings)
        result["gmac"] = count(service, np.load(args.images), int(settings["bpp"]))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    with open(args.out, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
