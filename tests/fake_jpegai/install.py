"""Lay out the fake reference software in a temp folder as a user's installation would look.

``install_fake(dest)`` copies the fake (code and cfg), adds the two extension files named for this
interpreter (empty: the fake only checks they exist) and writes small weight files for every file
a profile needs. Returns (root, models_dir).
"""

from __future__ import annotations

import shutil
import sysconfig
from pathlib import Path

from jpegai_fd.encoders.jpegai.checkout import required_files

HERE = Path(__file__).resolve().parent
EXT_FILES = ("src/codec/entropy_coding/lib_wrappers/mans/ans", "src/codec/entropy_coding/lib_wrappers/direct/ec_direct")


def install_fake(dest: Path, weights: bool = True, extensions: bool = True) -> tuple[Path, Path]:
    root = dest / "jpeg-ai-reference-software"
    shutil.copytree(HERE / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(HERE / "cfg", root / "cfg")
    if extensions:
        for stem in EXT_FILES:
            path = root / (stem + sysconfig.get_config_var("EXT_SUFFIX"))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"")
    models = root / "models"
    models.mkdir()
    if weights:
        for name in sorted({f for p in ("simple", "base", "high") for f in required_files(p)}):
            (models / name).parent.mkdir(parents=True, exist_ok=True)
            (models / name).write_bytes(name.encode() * 3)
    return root, models


def load_fake_math():
    """The fake codec's arithmetic module, loaded by path (so the test process never imports ``src``)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("fake_jpegai_math", HERE / "src" / "codec" / "fake_math.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
