"""Fake ``CodecEncoder`` with the real one's options, return arities, side effects and traps."""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch

import src.codec.entropy_coding  # noqa: F401  (fails like the real import when extensions are not built)
from src.codec import get_cfg_def_dir
from src.codec import fake_math
from src.codec.common import Decisions, Image

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


class FakeEngine:
    """Stands for CodingEngine: ``compress(image) -> (rec, decisions)``."""

    def __init__(self):
        self.target_bpps = list(TARGET_BPPS)
        self.target_bpp_idx = 0
        self.seed = 0
        self.mode = "table"
        self.c_ver = self.c_hor = 1
        self.c_ver_value = None
        self.betas_file = None
        self.device = "cpu"

    def set_target_bpp_idx(self, idx):
        self.target_bpp_idx = idx

    def compress(self, raw):
        with torch.no_grad():
            torch.backends.cudnn.deterministic = True      # the real engine sets these process-wide
            torch.backends.cudnn.benchmark = False
            rgb = torch.cat([raw.a, raw.b, raw.c], 1)[0].permute(1, 2, 0).cpu().numpy()
            self._test_hooks(rgb)
            bpp = self.target_bpps[self.target_bpp_idx]
            if self.mode == "search":
                if raw.input_file is None:
                    raise TypeError("'NoneType' object has no attribute 'split'")
                tool_id = fake_math.model_for_rate(bpp)
                for attempt in range(3):
                    print("target bits: %s try %d" % (bpp / 100, attempt))
                os.makedirs(os.path.dirname(self.betas_file), exist_ok=True)
                with open(self.betas_file, "a") as f:
                    f.write("%s_%s %d 0 0 \n" % (raw.input_file.split("/")[-1], bpp / 100, tool_id))
            else:
                if bpp not in TARGET_BPPS:
                    print("no beta can be found for selected target rate")
                    raise TypeError("cannot unpack non-iterable NoneType object")
                tool_id = fake_math.TABLE_MODELS[TARGET_BPPS.index(bpp)]
            self.c_ver = 1 if self.c_ver_value is None else int(self.c_ver_value)
            self.c_hor = self.c_ver
            lat = fake_math.latents(rgb, self.seed, tool_id, bpp, self.c_ver == 2)
            for i in range(20):
                print("Logger[ce.model.CCS_SGMM.tools_%d] with Level=info: control point %d" % (tool_id, i))
            core = Decisions(tool_id=tool_id)
            height, width = rgb.shape[:2]
            zh, zw = -(-height // 64), -(-width // 64)
            for name, (y, y_hat) in lat.items():
                step = fake_math.step_for(tool_id, bpp)
                c = y.shape[0]
                core[name] = Decisions(
                    y=torch.from_numpy(y)[None], y_hat=torch.from_numpy(y_hat)[None],
                    residual_quant=torch.from_numpy(np.round(y / step).astype(np.int16))[None],
                    scale_log=torch.full((1,) + y.shape, 128 * (tool_id + 1), dtype=torch.int32),
                    z_hat=torch.zeros((1, c, zh, zw), dtype=torch.int8),
                    psi=torch.zeros((1, 4 * c, -(-height // 32), -(-width // 32))),
                    y_hat_tiles={})
            return raw, {"CCS_SGMM": core}

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

    def init_common_codec(self, build_model=True, cmd_args=None, ce=None, overload_ce=True, cmd_args_add=False,
                          add_metrics_params=True):
        self.ce = ce = FakeEngine()
        ns, unknown = self.base_parser.parse_known_args(args=cmd_args)   # None: sys.argv, like the real one
        kwargs = vars(ns)
        cfg = list(kwargs["cfg"]) or [os.path.join(get_cfg_def_dir(), "tools_on.json"),
                                      os.path.join(get_cfg_def_dir(), "profiles", "high.json")]
        params = _single_dash_params(unknown)
        merged = _merged_cfg(cfg)
        ce.encoder_dir = merged.get("encoder_dir", "VM_hop")
        brm = merged.get("bitrate_matcher", {})
        ce.betas_file = os.path.join(brm.get("bitrate_config_path", "./cfg"), brm.get("bitrate_config_name", "betas_4.txt"))
        if kwargs["set_target_bpp"] is not None:
            ce.mode = "search"
            ce.target_bpps = [kwargs["set_target_bpp"]]
            kwargs["bpp_idx"] = 0
            if os.path.exists(ce.betas_file):      # the real rate search deletes its list at start
                os.remove(ce.betas_file)
        ce.c_ver_value = params.get("c_ver_value")
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
            if path is None:   # the real loader silently keeps the random init
                blobs.append(str(int(torch.randint(0, 2 ** 31 - 1, (1,)))).encode())
            else:
                with open(path, "rb") as f:
                    blobs.append(f.read())
        self.ce.seed = fake_math.seed_from_blobs(blobs)

    def set_target_bpp_idx(self, idx):
        self.ce.set_target_bpp_idx(idx)
