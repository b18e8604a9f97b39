"""Counts what the JPEG AI software computes per image, run in ITS interpreter by ``bench_jpegai.py``.

    <JPEGAI_PYTHON> benchmarks/jpegai_probe.py --root R --settings S.json --images I.npy --out O.json

Builds the worker's own ``Service`` (jpegai_worker.py, same settings as a worker) and codes each image of ``I.npy``
under ``torch.utils.flop_counter.FlopCounterMode``; each net's forward pass is attributed to its kind (analysis,
hyper, context, synthesis; the rest of ``compress`` is "other"). Also measures this interpreter's one-thread
``torch.mm`` ceiling (float32), the yardstick for the nets' achieved GFLOP/s, and with ``--batch-sizes`` whether batching images
through an analysis net pays: each net's inputs as the software builds them, one forward over B images against B
single ones, and whether every image's slice is bit-identical to its single run. Writes GMAC per image and kind, the
ceiling and the batching rows."""

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
    import jpegai_fast

    def counted(forward, *args, **kwargs):
        before = counter.get_total_flops()
        try:
            return forward(*args, **kwargs)
        finally:
            flops[kind] += counter.get_total_flops() - before

    jpegai_fast.around(module, counted)


def count(service, images, bpp):
    """GMAC per image and kind of net, averaged over ``images``, on ``service`` (fast or reference path)."""
    import jpegai_fast
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    flops = dict.fromkeys(("analysis", "hyper", "context", "synthesis"), 0)
    seen = set()
    for branch in jpegai_fast.branches(service.coder.ce):
        nets = [(branch.encoder, "analysis"), (branch.decoder, "synthesis")]
        nets += [(getattr(branch.common_modules, k), "hyper") for k in jpegai_fast.HYPER_NETS]
        nets += [(net, "context") for net in jpegai_fast.context_nets(branch)]
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


def batching(service, images, bpp, sizes, repeats=3):
    """Per analysis net called once per image: seconds per image batched by B vs single, and bit-identity."""
    import jpegai_fast
    import torch

    calls, current = {}, [None]  # label -> (module, {image index: (args, kwargs) of its first call})
    for t, tool in enumerate(jpegai_fast.branches(service.coder.ce)):
        module, label = tool.encoder, "model%d/%s" % (t // 2, ("luma", "chroma")[t % 2])

        def recorded(forward, *args, _module=module, _label=label, **kwargs):
            calls.setdefault(_label, (_module, {}))[1].setdefault(current[0], (args, kwargs))
            return forward(*args, **kwargs)

        jpegai_fast.around(module, recorded)
    for i, image in enumerate(images):
        current[0] = i
        service.encode(image, bpp, "batch%d" % i)
    rows = []
    for label, (module, seen) in sorted(calls.items()):
        inputs = [args[0] for args, _ in seen.values()]
        if any(x.shape != inputs[0].shape for x in inputs):
            continue
        rest, kwargs = seen[0][0][1:], seen[0][1]
        single = [type(module).forward(module, x, *rest, **kwargs) for x in inputs]  # the net itself, unwrapped
        for size in sizes:
            groups = [torch.cat(inputs[j : j + size]) for j in range(0, len(inputs) - size + 1, size)]
            best, outs = float("inf"), None
            for _ in range(repeats):
                begin = time.perf_counter()
                outs = [type(module).forward(module, g, *rest, **kwargs) for g in groups]
                best = min(best, time.perf_counter() - begin)
            same = all(torch.equal(o[k : k + 1], single[j * size + k]) for j, o in enumerate(outs) for k in range(size))
            rows.append(dict(net=label, batch=size, s_per_image=best / (size * len(groups)), identical=same))
    return rows


def main():
    import numpy as np
    import torch

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for flag in ("--root", "--settings", "--images", "--out"):
        p.add_argument(flag, required=True)
    p.add_argument("--gmac-images", type=int, default=2, help="images whose GMAC are counted (slow: op by op)")
    p.add_argument("--batch-sizes", type=int, nargs="*", default=[], help="measure batching, e.g. 1 2 4 8")
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
        images = np.load(args.images)
        result["gmac"] = count(service, images[: args.gmac_images], int(settings["bpp"]))
        if args.batch_sizes:
            result["batching"] = batching(service, images, int(settings["bpp"]), args.batch_sizes)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    with open(args.out, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
