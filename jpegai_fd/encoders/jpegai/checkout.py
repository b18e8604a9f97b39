"""Checks on a reference-software installation and its weights before any worker starts, each a one-line fix.
Weights come first because the software's loader silently keeps random weights for a missing file; which files a profile
loads was measured by logging every ``Downloader.get_file_path`` call of the IS version (the worker logs them at each
start): only the analysis nets differ (BOP for ``simple`` and ``base``, HOP for ``high``)."""

import hashlib
import json
import logging
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from itertools import product
from pathlib import Path

from jpegai_fd.encoders.jpegai.settings import JPEGAISettings
from jpegai_fd.errors import UserError

log = logging.getLogger(__name__)
SUPPORTED_VERSIONS = ("IS",)
EXTENSIONS = tuple(f"src/codec/entropy_coding/lib_wrappers/{name}" for name in ("mans/ans", "direct/ec_direct"))
CFG_SKIP = ("cfg/betas/",)  # what the software itself writes under cfg/ (the rate search's betas lists)
BETAS = ("0.002", "0.012", "0.075", "0.5")  # the 4 base models
POST_FILTER_DIR = "eICCI_bophop_2d020448_20240229"
ENCODER_DIR = {"simple": "VM_bop", "base": "VM_bop", "high": "VM_hop"}


@dataclass(frozen=True)
class Checkout:
    """What the fingerprint records: software, interpreter, cfg tree hash, weight files and their identity."""

    version: str
    codec_name: str
    python_version: str
    cfg_sha256: str
    weight_files: tuple[str, ...]
    weights: dict  # weights_identity(): files, bytes, sha256, missing


def required_files(profile: str) -> list[str]:
    """Paths relative to the models folder that ``profile`` loads."""
    files = [f"VM_common_int/{c}_{b}.pth" for c in ("Y", "UV") for b in BETAS]
    files += [f"{d}/decoder_{c}_{b}.pth" for d in ("VM_bop", "VM_hop", "VM_sop") for c in ("Y", "UV") for b in BETAS]
    post_filters = product(("bop", "hop"), ("mse", "mss"), ("012", "025", "050", "075", "100"))
    files += [f"{POST_FILTER_DIR}/eicci_{op}_{loss}{r}_300k.pth" for op, loss, r in post_filters]
    return files + [f"{ENCODER_DIR[profile]}/encoder_{c}_{b}.pth" for c in ("Y", "UV") for b in BETAS]


@lru_cache(maxsize=None)  # keyed by (path, size, mtime_ns): a job hashes each unchanged file once
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def weights_identity(models_dir: Path, files: tuple[str, ...]) -> dict:
    """Count, total size and one sha256 over (name, size, sha256) of every present file; missing names."""
    digest, total, present = hashlib.sha256(), 0, [f for f in files if (models_dir / f).is_file()]
    for name in present:
        stat = (models_dir / name).stat()
        total += stat.st_size
        sha = _sha256(str(models_dir / name), stat.st_size, stat.st_mtime_ns)
        digest.update(f"{name}\0{stat.st_size}\0{sha}\n".encode())
    missing = [f for f in files if f not in present]
    return {"files": len(present), "bytes": total, "sha256": digest.hexdigest(), "missing": missing}


def _probe_interpreter(python: str) -> tuple[str, str]:
    """(Python version, extension-module suffix) of ``python``."""
    code = "import sys, sysconfig; print(sys.version.split()[0]); print(sysconfig.get_config_var('EXT_SUFFIX'))"
    try:
        out = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UserError(
            f"cannot run the interpreter '{python}' (encoder.python): {exc}; "
            f"set encoder.python to the Python of the reference software's environment"
        ) from exc
    if out.returncode != 0:
        raise UserError(
            f"the interpreter '{python}' (encoder.python) failed: {out.stderr.strip()[-200:]}; "
            f"set encoder.python to a working Python"
        )
    return tuple(out.stdout.split()[:2])


def cfg_tree_sha256(root: Path) -> str:
    """One hash over every cfg file (path and content) except those the software rewrites."""
    digest = hashlib.sha256()
    for path in sorted((root / "cfg").rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not rel.startswith(CFG_SKIP):
            digest.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _check_software(settings: JPEGAISettings) -> dict:
    """The root, its version and cfg chain, and the models folder; returns cfg/info.json."""
    root = settings.root
    if root is None:
        raise UserError(
            "'encoder.root' is not set; point it at your JPEG AI reference-software checkout "
            "(encoder.root=/path/to/jpeg-ai-reference-software or export JPEGAI_ROOT)"
        )
    if not root.is_dir():
        raise UserError(
            f"JPEG AI root '{root}' (encoder.root) does not exist; set encoder.root to your "
            f"jpeg-ai-reference-software checkout"
        )
    info_path = root / "cfg" / "info.json"
    if not (root / "src" / "codec" / "__init__.py").is_file() or not info_path.is_file():
        raise UserError(
            f"'{root}' (encoder.root) is not a JPEG AI reference-software checkout (no src/codec "
            f"or cfg/info.json); set encoder.root to the folder that contains src/ and cfg/"
        )
    info = json.loads(info_path.read_text())
    if str(info.get("version")) not in SUPPORTED_VERSIONS:
        raise UserError(
            f"JPEG AI reference software version {str(info.get('version'))!r} in '{info_path}' is not supported "
            f"(supported: {', '.join(SUPPORTED_VERSIONS)}); check out the IS version"
        )
    for cfg_file in settings.cfg_files:
        if not (root / cfg_file).is_file():
            raise UserError(
                f"cfg file '{root / cfg_file}' does not exist; check encoder.profile, "
                f"encoder.tools and encoder.extra_cfg"
            )
    if not settings.models_dir.is_dir():
        raise UserError(
            f"models folder '{settings.models_dir}' (encoder.models_dir) does not exist; "
            f"set encoder.models_dir to the folder holding VM_common_int/, VM_bop/, ..."
        )
    return info


def _check_weights(settings: JPEGAISettings, missing: list[str]) -> None:
    """Refuse missing weight files, or with ``allow_missing_weights`` warn loudly (log and stderr)."""
    if missing and not settings.allow_missing_weights:
        shown = ", ".join(missing[:6]) + (f" and {len(missing) - 6} more" if len(missing) > 6 else "")
        raise UserError(
            f"{len(missing)} JPEG AI weight files needed by profile '{settings.profile}' are missing "
            f"from '{settings.models_dir}': {shown}; install the weights (see the software's README) "
            f"or set encoder.models_dir"
        )
    if missing:
        banner = (
            f"WARNING: encoder.allow_missing_weights=true and {len(missing)} weight files are missing from "
            f"'{settings.models_dir}': those nets keep RANDOM weights. Latents are NOT valid for science; "
            f"use this for plumbing tests only."
        )
        log.warning(banner)
        print(banner, file=sys.stderr)


def inspect_checkout(settings: JPEGAISettings) -> Checkout:
    """Check the installation named by ``settings``; raise UserError with the fix if it cannot work."""
    info = _check_software(settings)
    python_version, suffix = _probe_interpreter(settings.python)
    missing = [stem + suffix for stem in EXTENSIONS if not (settings.root / (stem + suffix)).is_file()]
    if missing:
        raise UserError(
            f"the C++ extensions of '{settings.root}' are not built for {settings.python} (missing "
            f"{', '.join(Path(m).name for m in missing)}); run make in "
            f"src/codec/entropy_coding/cpp_exts/mans and .../direct with that interpreter on PATH"
        )
    files = tuple(required_files(settings.profile))
    _check_weights(settings, [f for f in files if not (settings.models_dir / f).is_file()])
    weights = weights_identity(settings.models_dir, files)  # hashed only once the files are all there or allowed
    version, codec = str(info.get("version")), str(info.get("codec_name"))
    return Checkout(version, codec, python_version, cfg_tree_sha256(settings.root), files, weights)
