"""Fake ``CodecEncoder`` with the real one's options, return arities, side effects and traps."""

import argparse
import json
import os
import time

import numpy as np
import torch

import src.codec.entropy_coding  # noqa: F401  (fails like the real import when extensions are not built)
from src.codec import get_cfg_def_dir
from src.codec import fake_math
from src.codec.common import Decisions, Image, TensorOps

TARGET_BPPS = [12, 25, 50, 75, 100]


def def_encoder_base_parser(task_name):
    parser = argparse.ArgumentParser(description=task_name, conflict_handler="resolve")
    parser.add_argument("input_path")
    parser.add_argument("bin_path")
    parser.add_argument("--cfg", nargs="+", action="extend", default=[])
    parser.add_argument("--bpp_idx", type=int, default=0)
    parser.add_argument("--set_target_bpp", type=int, default=None)
    parser.add_argument("--models_dir_name", type=str, default="models")
    return parser


def def_encoder_parser_decorator(parser=None):
    return parser


def _single_dash_params(unknown):
    """``-key v1 [v2 ...]`` pairs; one value stays a scalar (as the real parser does)."""
    params, key = {}, None
    for item in unknown:
        if item.startswith("-") and not item.startswith("--") and not item[1:2].isdigit():
            key = item[1:]
            params[key] = []
        elif key is not None:
            params[key].append(item)
    return {k: (v[0] if len(v) == 1 else v) for k, v in params.items()}


def _deep_update(base, new):
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_update(base[key], value)
        else:
            base[key] = value
    return base


def _merged_cfg(paths):
    """The cfg chain merged key by key (later files win), as the real tool tree does."""
    merged = {}
    for path in paths:
        with open(path) as f:
            _deep_update(merged, json.load(f).get("model", {}))
    return merged


def _t(array):
    return torch.from_numpy(np.ascontiguousarray(array))


class FakeNet(torch.nn.Module):
    """One of the software's nets: ``forward`` computes ``fn`` and logs one line (the tests count them)."""

    def __init__(self, label, fn):
        super().__init__()
        self.label, self.fn = label, fn

    def forward(self, *args, **kwargs):
        print("fake net %s" % self.label)
        return self.fn(*args, **kwargs)


def _block_means(y, k):
    """(1, C, h, w) -> (1, C, ceil(h/k), ceil(w/k)) means of k x k blocks (edge-padded)."""
    a = y[0].numpy().astype(np.float64)
    c, h, w = a.shape
    a = np.pad(a, ((0, 0), (0, -h % k), (0, -w % k)), mode="edge")
    return a.reshape(c, a.shape[1] // k, k, a.shape[2] // k, k).mean(axis=(2, 4))[None]


class Context:
    """Stands for the context model's nets: a conv on the hyper-decoder's output, then 4 stages, the first seeing only
    that conv's output, the others also the previous stages' output (offset-dependent). Not in the fake latents."""

    def __init__(self, label):
        self.down_shuffle_conv_hyper = FakeNet("context hyper " + label, lambda psi: psi.float() / 2)
        first = FakeNet("context stage0 " + label, lambda hyper: hyper + 1)
        rest = [FakeNet("context stage%d %s" % (k, label), lambda hyper, prev: hyper + prev) for k in (1, 2, 3)]
        self.MCM = [first, *rest]

    def predict(self, psi, step):
        hyper = self.down_shuffle_conv_hyper(psi)
        prev = self.MCM[0](hyper)
        for stage in self.MCM[1:]:
            prev = stage(hyper, prev * step)
        return prev


class CommonModules:
    """Stands for the hyper nets of one branch (hyper-encoder, hyper-decoder, hyper-scale-decoder) and its context."""

    def __init__(self, label, channels):
        self.context = Context(label)
        self.hyper_encoder = FakeNet("hyper_encoder " + label, lambda y, h, w: _t(_block_means(y, 4)))
        self.hyper_decoder = FakeNet(
            "hyper_decoder " + label,
            lambda z_hat, h, w: _t(
                np.tile(z_hat.numpy().astype(np.float32).repeat(2, 2).repeat(2, 3), (1, 4, 1, 1))[:, :, :h, :w]
            ),
        )
        self.hyper_scale_decoder = FakeNet(
            "hyper_scale_decoder " + label,
            lambda z_hat, h, w: _t(
                (np.abs(z_hat.numpy().astype(np.int32)) * 16).repeat(4, 2).repeat(4, 3)[:, :, :h, :w]
            ),
        )


class Branch:
    """Stands for SepChannelsSGMMTool: analysis ``encoder``, synthesis ``decoder``, ``common_modules``."""

    def __init__(self, name, tool_id, engine, chs_input, channels):
        self.name, self.chs_input, self.channels = name, chs_input, channels
        label = "%s tool %d" % (name, tool_id)
        self.encoder = FakeNet(
            "analysis " + label,
            lambda planes, h, w: _t(fake_math.analysis(list(planes[0].numpy()), engine.seed, tool_id, name)[None]),
        )
        self.decoder = FakeNet(
            "synthesis " + label,
            lambda y_hat, h, w: _t(fake_math.synthesis(y_hat[0].numpy(), engine.seed, tool_id, name, h, w)[None]),
        )
        self.common_modules = CommonModules(label, channels)

    def compress(self, planes, decision, step):
        """Analysis (only without a ``y`` in ``decision``), then the rate-dependent part."""
        h, w = planes.shape[-2:]
        lh, lw = -(-h // 16), -(-w // 16)
        cm = self.common_modules
        if "y" not in decision:
            decision = {"y": self.encoder(planes, h=h, w=w)}
            z = cm.hyper_encoder(decision["y"], h=lh, w=lw)
            decision["z_hat"] = torch.clamp(torch.round(z), -31, 31).to(torch.int8)
        decision["psi"] = cm.hyper_decoder(decision["z_hat"], h=-(-h // 32), w=-(-w // 32))
        scale = cm.hyper_scale_decoder(decision["z_hat"], h=lh, w=lw)
        cm.context.predict(decision["psi"], step)
        q, _ = fake_math.quantise(decision["y"][0].numpy(), step)
        decision.update(
            residual_quant=_t(q)[None],
            step=step,
            scale_log=(scale + int(round(128 * np.log2(step)))).to(torch.int32),
            y_hat_tiles={},
        )
        return decision

    def decompress(self, decision, h, w):
        """Decoder side: writes ``y_hat`` into ``decision``; returns the synthesised planes."""
        y_hat = (decision["residual_quant"][0].numpy().astype(np.float64) * decision["step"]).astype(np.float32)
        decision["y_hat"] = _t(y_hat)[None]
        return self.decoder(decision["y_hat"], h=h, w=w)


class BaseModel:
    """One trained base model (the real tools_0..3): a luma and a chroma branch."""

    def __init__(self, tool_id, engine):
        self.tool_id = tool_id
        self.model_y = Branch("model_y", tool_id, engine, 1, 160)
        self.model_uv = Branch("model_uv", tool_id, engine, 2, 96)

    def compress(self, planes, decision, offset):
        step = fake_math.step_for(self.tool_id, offset)
        return {
            "model_y": self.model_y.compress(planes["model_y"], decision.get("model_y", {}), step),
            "model_uv": self.model_uv.compress(planes["model_uv"], decision.get("model_uv", {}), step),
        }

    def decompress(self, decision, planes):
        """The synthesised planes ({branch: (1, 1 or 2, H, W)}) and their squared error against ``planes`` (the
        search's distortion figure)."""
        error, recs = 0.0, {}
        for name in ("model_y", "model_uv"):
            ref = planes[name]
            recs[name] = rec = getattr(self, name).decompress(decision[name], *ref.shape[-2:])
            error += float(((rec.double() - ref[:, : rec.shape[1]].double()) ** 2).mean())
        return recs, error


class MultiTool:
    def __init__(self, engine):
        self.tools = [BaseModel(i, engine) for i in range(len(fake_math.BASE_STEPS))]


class RateSearch:
    """Stands for the bitrate matcher: its tolerances live on the object, and it narrows
    ``tolerance_max`` in place after each image, as the real one does at 0.12 bpp."""

    def __init__(self):
        self.tolerance_min, self.tolerance_max = fake_math.TOLERANCE

    def process(self, multitool, planes, target, pixels):
        """(tool_id, offset) for one image, coding candidates the way the real search does."""
        calls = []
        state = {}

        def bits_of(tool, offset):
            base = multitool.tools[tool]
            if len(calls) <= len(multitool.tools):  # each model at offset 0, then the bisection's first
                state["decision"] = {}  # candidate: fresh, so the analysis runs
            decision = base.compress(planes, state["decision"], offset)
            state["decision"] = decision
            bits = fake_math.bits_per_pixel(
                [decision[b]["y"][0].numpy() for b in ("model_y", "model_uv")], decision["model_y"]["step"], pixels
            )
            calls.append((tool, offset))
            mismatch = (bits - target) / target
            if self.tolerance_min <= mismatch <= self.tolerance_max:
                print("fake distortion %.6f" % base.decompress(decision, planes)[1])  # only its finiteness counts
            return bits

        choice = fake_math.rate_search(target, bits_of, self.tolerance_max)
        self.tolerance_max -= fake_math.TOLERANCE_STEP
        return choice


class CoreModels:
    def __init__(self, engine):
        self._core = MultiTool(engine)
        self.bitrate_matcher = RateSearch()

    def get_tool(self):
        return self._core


class PostFilters:
    """Change only the reconstruction."""

    def compress(self, rec, original, decisions=None):
        print("fake post-filter analysis")
        return rec

    def decompress(self, rec, decisions=None):
        print("fake post-filter")
        return rec


class FakeEngine:
    """Stands for CodingEngine: ``compress(image) -> (rec, decisions)``."""

    def __init__(self):
        self.target_bpps = list(TARGET_BPPS)
        self.target_bpp_idx = 0
        self.seed = 0
        self.mode = "table"
        self.c_ver = self.c_hor = 1
        self.c_ver_value = None
        self.loglevel = "info"
        self.betas_file = None
        self.device = "cpu"
        self.model = CoreModels(self)
        self.post_filters = PostFilters()

    def set_target_bpp_idx(self, idx):
        self.target_bpp_idx = idx

    def compress(self, raw):
        with torch.no_grad():
            torch.backends.cudnn.deterministic = True  # the real engine sets these process-wide
            torch.backends.cudnn.benchmark = False
            rgb = raw.get_tensor()[0].permute(1, 2, 0).cpu().numpy()
            self._test_hooks(rgb)
            bpp = self.target_bpps[self.target_bpp_idx]
            self.c_ver = 1 if self.c_ver_value is None else int(self.c_ver_value)
            self.c_hor = self.c_ver
            y_plane, u_plane, v_plane = fake_math.yuv_planes(rgb.astype(np.float64), self.c_ver == 2)
            planes = {"model_y": _t(y_plane[None, None]), "model_uv": _t(np.stack([u_plane, v_plane, y_plane])[None])}
            height, width = rgb.shape[:2]
            multitool = self.model.get_tool()
            if self.mode == "search":
                if raw.input_file is None:
                    raise TypeError("'NoneType' object has no attribute 'split'")
                print("target bits: %s" % (bpp / 100))
                tool_id, offset = self.model.bitrate_matcher.process(multitool, planes, bpp / 100, height * width)
                os.makedirs(os.path.dirname(self.betas_file), exist_ok=True)
                with open(self.betas_file, "a") as f:
                    f.write("%s_%s %d %d %d \n" % (raw.input_file.split("/")[-1], bpp / 100, tool_id, offset, offset))
            else:
                if bpp not in TARGET_BPPS:
                    print("no beta can be found for selected target rate")
                    raise TypeError("cannot unpack non-iterable NoneType object")
                idx = TARGET_BPPS.index(bpp)
                tool_id, offset = fake_math.TABLE_MODELS[idx], fake_math.TABLE_OFFSETS[idx]
            base = multitool.tools[tool_id]
            decision = base.compress(planes, {}, offset)
            recs = base.decompress(decision, planes)[0]
            yuv = [p.double().numpy() for p in (recs["model_y"][0, 0], recs["model_uv"][0, 0], recs["model_uv"][0, 1])]
            rgb = _t(255.0 * fake_math.rgb_from_yuv(*yuv)).permute(2, 0, 1)[:, None]  # (3, 1, H, W)
            rec = Image(rgb[0:1], rgb[1:2], rgb[2:3], [0.0, 255.0], 8, "rgb")  # RGB 4:4:4 on the 0..255 scale
            self.post_filters.compress(rec, raw, decisions=decision)
            rec = self.post_filters.decompress(rec, decisions=decision)
            for i in range(20):  # the real info level: hashes of the latents ("control points"), -loglevel honoured
                point = TensorOps.get_hash(decision["model_y"]["y"])
                if self.loglevel in ("debug", "info"):
                    print(
                        "Logger[ce.model.CCS_SGMM.tools_%d] with Level=info: control point %d %s" % (tool_id, i, point)
                    )
            print("Logger[ce.model.CCS_SGMM.tools_%d] with Level=warn: Beta coefficients are not initialized" % tool_id)
            core = Decisions(tool_id=tool_id)
            for name, d in decision.items():
                c = d["y"].shape[1]
                core[name] = Decisions(
                    y=d["y"],
                    y_hat=d["y_hat"],
                    residual_quant=d["residual_quant"],
                    scale_log=d["scale_log"],
                    z_hat=d["z_hat"],
                    psi=torch.zeros((1, 4 * c, -(-height // 32), -(-width // 32))),
                    y_hat_tiles={},
                )
            return rec, {"CCS_SGMM": core}

    @staticmethod
    def _test_hooks(rgb):
        pixel = tuple(int(round(v * 255)) for v in rgb[0, 0])
        if pixel == (255, 0, 255):
            os._exit(17)
        if pixel == (0, 0, 255):
            raise ValueError("fake failure on a blue image")
        if pixel == (255, 255, 0):
            time.sleep(3600)
        if pixel == (0, 255, 0):
            marker = os.path.join(os.environ["FAKE_JPEGAI_STATE"], "crashed_once")
            if not os.path.exists(marker):
                open(marker, "w").close()
                os._exit(18)


class CodecEncoder:
    def __init__(self, task_name, base_parser, parser_decorator):
        self.task_name = task_name
        self.base_parser = base_parser
        self.ce = None

    def encode_stream(self, kwargs, params):
        raise NotImplementedError

    def init_common_codec(
        self, build_model=True, cmd_args=None, ce=None, overload_ce=True, cmd_args_add=False, add_metrics_params=True
    ):
        self.ce = ce = FakeEngine()
        ns, unknown = self.base_parser.parse_known_args(args=cmd_args)  # None: sys.argv, like the real one
        kwargs = vars(ns)
        cfg = list(kwargs["cfg"]) or [
            os.path.join(get_cfg_def_dir(), "tools_on.json"),
            os.path.join(get_cfg_def_dir(), "profiles", "high.json"),
        ]
        params = _single_dash_params(unknown)
        merged = _merged_cfg(cfg)
        ce.encoder_dir = merged.get("encoder_dir", "VM_hop")
        brm = merged.get("bitrate_matcher", {})
        ce.betas_file = os.path.join(
            brm.get("bitrate_config_path", "./cfg"), brm.get("bitrate_config_name", "betas_4.txt")
        )
        if kwargs["set_target_bpp"] is not None:
            ce.mode = "search"
            ce.target_bpps = [kwargs["set_target_bpp"]]
            kwargs["bpp_idx"] = 0
            if os.path.exists(ce.betas_file):  # the real rate search deletes its list at start
                os.remove(ce.betas_file)
        ce.c_ver_value = params.get("c_ver_value")
        ce.loglevel = params.get("loglevel", "info")
        have_gpu = torch.cuda.is_available() and os.environ.get("CUDA_VISIBLE_DEVICES", "") != ""
        if not have_gpu:
            kwargs["device"] = "cpu"
        print("Codec/Encoder: name=JAI, version=IS, cfg=%s" % cfg)
        return kwargs, params, unknown

    def load_models(self, downloader):
        blobs = []
        for name in fake_math.weight_names(self.ce.encoder_dir):
            model, file_name = name.split("/")
            path = downloader.get_file_path(model, file_name)
            if path is None:  # the real loader silently keeps the random init
                blobs.append(str(int(torch.randint(0, 2**31 - 1, (1,)))).encode())
            else:
                with open(path, "rb") as f:
                    blobs.append(f.read())
        self.ce.seed = fake_math.seed_from_blobs(blobs)

    def set_target_bpp_idx(self, idx):
        self.ce.set_target_bpp_idx(idx)
