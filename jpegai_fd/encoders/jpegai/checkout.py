"""Checks on a reference-software installation before any worker starts.

``inspect_checkout(settings)`` verifies, each with a one-line fix: the root folder exists and looks like
the software (``src/codec``, ``cfg/info.json``), its version is supported, the interpreter runs, and
the two C++ extensions are built for that interpreter. It returns what the fingerprint records.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from jpegai_fd.encoders.jpegai.settings import JPEGAISettings
from jpegai_fd.errors import UserError

SUPPORTED_VERSIONS = ("IS",)
EXTENSIONS = (
    "src/codec/entropy_coding/lib_wrappers/mans/ans",
    "src/codec/entropy_coding/lib_wrappers/direct/ec_direct",
)
# Files under cfg/ that the software itself writes (the rate search's betas lists) or that are prose.
CFG_SKIP = ("cfg/betas/",)


@dataclass(frozen=True)
class Checkout:
    """What was found: software version and codec name, interpreter version, hash of the cfg tree."""

    version: str
    codec_name: str
    python_version: str
    cfg_sha256: str


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
    version, suffix = out.stdout.split()[:2]
    return version, suffix


def cfg_tree_sha256(root: Path) -> str:
    """One hash over every cfg file (path and content) except those the software rewrites."""
    digest = hashlib.sha256()
    for path in sorted((root / "cfg").rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not rel.startswith(CFG_SKIP):
            digest.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def inspect_checkout(settings: JPEGAISettings) -> Checkout:
    """Check the installation named by ``settings``; raise UserError with the fix if it cannot work."""
    root = settings.root
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
    version = str(info.get("version"))
    if version not in SUPPORTED_VERSIONS:
        raise UserError(
            f"JPEG AI reference software version {version!r} in '{info_path}' is not supported "
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
    python_version, suffix = _probe_interpreter(settings.python)
    missing = [stem + suffix for stem in EXTENSIONS if not (root / (stem + suffix)).is_file()]
    if missing:
        raise UserError(
            f"the C++ extensions of '{root}' are not built for {settings.python} (missing "
            f"{', '.join(Path(m).name for m in missing)}); run make in "
            f"src/codec/entropy_coding/cpp_exts/mans and .../direct with that interpreter on PATH"
        )
    return Checkout(version, str(info.get("codec_name")), python_version, cfg_tree_sha256(root))
