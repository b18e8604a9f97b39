"""JPEG AI worker: runs inside the reference software's interpreter and serves encode requests.

Started by :mod:`jpegai_fd.encoders.jpegai.pool` as ``<python> jpegai_worker.py --root R --workdir W --log L``; speaks
``jpegai_wire`` frames on private copies of stdin/stdout (fds 1 and 2 go to the log: the software prints ~20 lines per
image, some from C++). ``W`` holds the worker's own ``cfg/`` copy: the software resolves paths against the working
directory and its rate search rewrites a betas file. Requests: ``init`` -> ``ready`` | ``error``; ``encode`` ->
``result`` (with ``rec``, the decoded image, when asked) | ``failed``; ``stop`` -> ``bye``. Standard library, numpy and torch only (it may run on the software's
Python 3.7): never jpegai_fd."""

import argparse
import json
import os
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jpegai_wire import read_message, write_message

CHANNELS = {"model_y": 160, "model_uv": 96}
EXTRAS = ("residual_quant", "scale_log", "z_hat")
PLACEHOLDERS = ["input.png", "output.bin"]  # required positionals; unused since we call compress ourselves
# The rate search narrows these tolerances in place (and at 0.12 bpp lowers tolerance_max by 0.03 per
# image): reset before every image, or its latents would depend on the images coded before it.
RATE_SEARCH_STATE = ("tolerance_min", "tolerance_max")
CHROMA_ARGS = {"444": ["-c_ver_value", "1", "-c_hor_value", "1"], "420": ["-c_ver_value", "2", "-c_hor_value", "2"]}
# The software's info level logs md5 "control points" of every coded candidate: ~570 lines (45 KB) per search-mode
# image, 3 GB of log for the thesis's 66,000 codings. Its own scripts pass -loglevel too; warnings and errors still
# reach the log, and a user's -loglevel in encoder.overrides (later on the command line) wins.
LOG_ARGS = ["-loglevel", "warn"]


class SetupError(Exception):
    """A start-up problem with a ``kind`` the adapter turns into a one-line user error."""

    def __init__(self, kind, **fields):
        super().__init__(kind)
        self.payload = dict(kind=kind, **fields)


def redirect_output(log_path):
    """Keep the protocol on private copies of fds 0 and 1; send fds 1 and 2 to the log, 0 to /dev/null."""
    proto_in, proto_out = os.fdopen(os.dup(0), "rb"), os.fdopen(os.dup(1), "wb")
    sys.stdout.flush()
    sys.stderr.flush()
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    null_fd = os.open(os.devnull, os.O_RDONLY)
    for fd, target in ((log_fd, 1), (log_fd, 2), (null_fd, 0)):
        os.dup2(fd, target)
    os.close(log_fd)
    os.close(null_fd)
    sys.stdout.reconfigure(line_buffering=True)
    return proto_in, proto_out


def classify_import_error(exc):
    """Which fix an ImportError during the software's import calls for."""
    name, text = getattr(exc, "name", None) or "", str(exc)
    if "ans" == name.split(".")[-1] or "ec_direct" in name or "lib_wrappers" in text:
        return SetupError("extensions", detail=text)
    if name == "src" or name.startswith("src."):
        return SetupError("not_checkout", detail=text)
    return SetupError("missing_dependency", module=name.split(".")[0] or text, detail=text)


class Service:
    """The reference software's encoder, configured once and reused for every image."""

    def __init__(self, root, workdir):
        self.root, self.workdir = root, workdir
        self.settings = self.coder = self.coder_bpp = self.bpp_idx = None
        self.requested, self.count = [], 0
        self.memo = self.clock = None  # the fast path's per-image memo (None: reference path); per-net seconds
        self.rate_search_state = {}

    def init(self, settings):
        import numpy
        import torch

        self.settings = settings
        os.chdir(self.workdir)
        if self.root not in sys.path:
            sys.path.insert(0, self.root)
        if settings.get("threads"):
            torch.set_num_threads(int(settings["threads"]))
        with open(os.path.join(self.root, "cfg", "info.json")) as f:
            info = json.load(f)
        try:
            from src.codec import get_downloader
            from src.codec.coders import CodecEncoder, def_encoder_base_parser, def_encoder_parser_decorator
            from src.codec.common import Image
        except ImportError as exc:
            raise classify_import_error(exc)

        def new_coder():
            base_parser = def_encoder_base_parser("Reconstruction")
            return CodecEncoder("reco", base_parser, def_encoder_parser_decorator(base_parser))

        self.new_coder, self.get_downloader, self.Image = new_coder, get_downloader, Image
        start = time.perf_counter()
        device = self._build(int(settings["bpp"]))
        ready = dict(version=info.get("version"), python=sys.version.split()[0], torch=torch.__version__)
        ready.update(numpy=numpy.__version__, requested=self.requested, device=device)
        return dict(ready, build_seconds=time.perf_counter() - start, threads=torch.get_num_threads())

    def _build(self, bpp):
        """Configure a fresh coder for ``bpp`` and load its weights; returns the device it chose."""
        import torch

        s = self.settings
        args = PLACEHOLDERS + ["--cfg"] + [os.path.join(self.workdir, c) for c in s["cfg"]]
        args += ["--models_dir_name", s["models_dir"]]
        if s["rate_mode"] == "search":
            args += ["--set_target_bpp", str(bpp)]
        else:
            args += ["--bpp_idx", str(s["table_rates"].index(bpp))]
        args += CHROMA_ARGS[s["chroma"]] + LOG_ARGS
        args += list(s.get("overrides") or [])
        # Nets get random init before loading: a fixed seed makes runs with missing (opt-in) weights agree.
        torch.manual_seed(int(s.get("seed", 0)))
        coder = self.new_coder()
        result = coder.init_common_codec(build_model=True, cmd_args=args)
        if not isinstance(result, tuple) or len(result) != 3:
            detail = "init_common_codec returned %s, expected a 3-tuple" % type(result).__name__
            raise SetupError("unsupported_version", detail=detail)
        kwargs = result[0] if isinstance(result[0], dict) else vars(result[0])
        downloader = self.get_downloader(s["models_dir"], critical_for_file_absence=False)
        requested, lookup = [], downloader.get_file_path

        def recording_lookup(model_name, file_name):
            path = lookup(model_name, file_name)
            requested.append([model_name, file_name, path is not None])
            return path

        downloader.get_file_path = recording_lookup
        coder.load_models(downloader)
        coder.set_target_bpp_idx(kwargs["bpp_idx"])
        targets = getattr(coder.ce, "target_bpps", None)
        if targets is not None and int(list(targets)[kwargs["bpp_idx"]]) != bpp:
            detail = "target_bpps=%s bpp_idx=%s, wanted %d" % (list(targets), kwargs["bpp_idx"], bpp)
            raise SetupError("rate_mismatch", detail=detail)
        matcher = getattr(getattr(coder.ce, "model", None), "bitrate_matcher", None)
        self.rate_search_state = {n: getattr(matcher, n) for n in RATE_SEARCH_STATE if hasattr(matcher, n)}
        import jpegai_fast  # imports torch: only after the start-up checks

        self.memo = self.clock = None
        try:
            self.clock = jpegai_fast.clock(coder.ce)  # first: the memo then wraps the timed nets (hits untimed)
            if s.get("fast_path"):
                self.memo = jpegai_fast.install(coder.ce)
        except AttributeError as exc:
            if s.get("fast_path"):
                raise SetupError("fast_path_unsupported", detail=str(exc))
            print("no per-net timings: %s" % exc)
        self.coder, self.coder_bpp, self.bpp_idx, self.requested = coder, bpp, kwargs["bpp_idx"], requested
        return kwargs.get("device") or "gpu"

    def _select_rate(self, bpp):
        if self.settings["rate_mode"] == "search":
            if bpp != self.coder_bpp:  # the search target is fixed at init: rebuild for a new rate
                self._build(bpp)
            return
        idx = self.settings["table_rates"].index(bpp)
        if idx != self.bpp_idx:
            self.coder.set_target_bpp_idx(idx)
            self.bpp_idx, self.coder_bpp = idx, bpp

    def _compress(self, image, bpp, key):
        """The software's reconstruction and decisions for one (H, W, 3) uint8 image, and the seconds they took."""
        import numpy as np
        import torch

        self._select_rate(bpp)
        tensor = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None].float() / 255.0
        raw = self.Image.create_from_tensor(tensor, [0.0, 1.0], 8, "rgb")
        # The rate search keys its betas line by this name and fails on None; unique per image.
        raw.input_file = "%s_%d.png" % (key, self.count)
        self.count += 1
        matcher = getattr(getattr(self.coder.ce, "model", None), "bitrate_matcher", None)
        for name, value in self.rate_search_state.items():
            setattr(matcher, name, value)
        for stats in (self.memo, self.clock):
            if stats is not None:
                stats.clear()
        start = time.perf_counter()
        rec, decisions = self.coder.ce.compress(raw)
        return rec, decisions["CCS_SGMM"], time.perf_counter() - start

    def encode(self, image, bpp, key, with_rec=False):
        """(H, W, 3) uint8 RGB -> meta dict and the latent arrays of one image (no batch axis), ``rec`` if asked."""
        import numpy as np

        start = time.perf_counter()
        rec, core, seconds = self._compress(image, bpp, key)
        grid = (-(-image.shape[0] // 16), -(-image.shape[1] // 16))
        out = {}
        for component, channels in CHANNELS.items():
            branch = core[component]
            for name in ("y", "y_hat"):
                array = branch[name].detach().cpu().numpy()
                if array.shape != (1, channels) + grid:
                    want = (1, channels) + grid
                    raise RuntimeError("%s.%s has shape %s, expected %s" % (component, name, array.shape, want))
                out["%s/%s" % (name, component)] = array[0].astype(np.float32, copy=False)
            if self.settings.get("keep_extras"):
                for name in EXTRAS:
                    out["extras/%s/%s" % (component, name)] = branch[name].detach().cpu().numpy()[0]
        if with_rec:
            out["rec"] = reconstruction(rec, image.shape)
        ce = self.coder.ce
        meta = {"tool_id": int(core["tool_id"]), "seconds": seconds}
        meta.update(c_ver=getattr(ce, "c_ver", None), c_hor=getattr(ce, "c_hor", None))
        if self.memo is not None:
            meta["memo"] = {"runs": dict(self.memo.runs), "hits": dict(self.memo.hits)}
            self.memo.clear()  # the stored tensors are one image's; free them now
        if self.clock is not None:
            meta["net_seconds"] = nets = dict(self.clock.seconds)
            meta["encode_seconds"] = total = time.perf_counter() - start
            times = " ".join("%s %.4f" % kv for kv in sorted(nets.items()))
            print(
                "timing %s: encode %.4f compress %.4f %s outside nets %.4f"
                % (key, total, seconds, times, total - sum(nets.values()))
            )
        return meta, out


def reconstruction(rec, shape):
    """The software's decoded image (RGB 4:4:4 in ``rec.data_range``, maybe on the GPU) as (H, W, 3) uint8."""
    import torch

    lo, hi = (float(v) for v in rec.data_range)
    rgb = rec.get_tensor()[0].detach().cpu().double().permute(1, 2, 0)  # its planes a, b, c (asserts 4:4:4)
    space = getattr(rec, "color_space", "rgb")
    if space != "rgb" or tuple(rgb.shape) != tuple(shape):
        raise RuntimeError("reconstruction is %s %s, expected rgb %s" % (space, tuple(rgb.shape), tuple(shape)))
    return ((rgb - lo) * (255.0 / (hi - lo))).round().clamp(0, 255).to(torch.uint8).numpy()


def answer(service, header, arrays, out):
    """Reply to one request; returns the exit status when the worker must end, else None."""
    op = header.get("op")
    if op == "stop":
        write_message(out, {"op": "bye"})
        return 0
    if op == "init":
        try:
            write_message(out, dict(op="ready", **service.init(header["settings"])))
            return None
        except SetupError as exc:
            write_message(out, dict(op="error", **exc.payload))
        except Exception:  # noqa: BLE001  (whatever breaks the software's start goes back to the parent)
            write_message(out, {"op": "error", "kind": "init_failed", "detail": traceback.format_exc()[-3000:]})
        return 4
    if op == "encode":
        try:
            meta, latents = service.encode(arrays["image"], int(header["bpp"]), header["key"], header.get("rec"))
        except Exception:  # noqa: BLE001  (one bad image must not end the worker: reported, then the next)
            traceback.print_exc()
            write_message(out, {"op": "failed", "index": header["index"], "detail": traceback.format_exc()[-3000:]})
        else:
            write_message(out, dict(op="result", index=header["index"], **meta), latents)
        return None
    write_message(out, {"op": "error", "kind": "protocol", "detail": "unknown op %r" % op})
    return 5


def serve(proto_in, proto_out, service):
    """Answer requests until ``stop`` or until the adapter closes the pipe; returns the exit status."""
    status = None
    while status is None:
        try:
            header, arrays = read_message(proto_in)
        except EOFError:
            return 0
        status = answer(service, header, arrays, proto_out)
    return status


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for flag in ("--root", "--workdir", "--log"):
        parser.add_argument(flag, required=True)
    args = parser.parse_args(argv)
    proto_in, proto_out = redirect_output(args.log)
    print("jpegai worker pid %d python %s" % (os.getpid(), sys.version.split()[0]))
    try:
        import numpy  # noqa: F401
        import torch  # noqa: F401
    except ImportError as exc:
        module = (getattr(exc, "name", None) or str(exc)).split(".")[0]
        write_message(proto_out, {"op": "error", "kind": "missing_dependency", "module": module, "detail": str(exc)})
        return 3
    return serve(proto_in, proto_out, Service(os.path.abspath(args.root), os.path.abspath(args.workdir)))


if __name__ == "__main__":
    sys.exit(main())
