"""The weight files a profile needs, and their identity for the fingerprint.

The software's own loader silently keeps random weights for a missing file, so the adapter checks
first. Which files are requested was measured by logging every ``Downloader.get_file_path`` call of
the IS version (the worker logs them again at every start and the adapter compares): every profile
loads the integerised common modules, all decoders and the post-filters; only the analysis
(encoder) nets differ: BOP for ``simple`` and ``base``, HOP for ``high``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

BETAS = ("0.002", "0.012", "0.075", "0.5")  # the 4 base models
POST_FILTER_DIR = "eICCI_bophop_2d020448_20240229"
ENCODER_DIR = {"simple": "VM_bop", "base": "VM_bop", "high": "VM_hop"}


def required_files(profile: str) -> list[str]:
    """Paths relative to the models folder that ``profile`` loads."""
    files = [f"VM_common_int/{c}_{b}.pth" for c in ("Y", "UV") for b in BETAS]
    files += [f"{d}/decoder_{c}_{b}.pth" for d in ("VM_bop", "VM_hop", "VM_sop") for c in ("Y", "UV") for b in BETAS]
    files += [
        f"{POST_FILTER_DIR}/eicci_{op}_{loss}{rate}_300k.pth"
        for op in ("bop", "hop")
        for loss in ("mse", "mss")
        for rate in ("012", "025", "050", "075", "100")
    ]
    files += [f"{ENCODER_DIR[profile]}/encoder_{c}_{b}.pth" for c in ("Y", "UV") for b in BETAS]
    return files


def file_sha256(path: Path) -> str:
    stat = path.stat()
    return _sha256(str(path), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=None)  # keyed by (path, size, mtime_ns): a job hashes each unchanged file once
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


@dataclass(frozen=True)
class WeightSet:
    """The needed files of one profile in one models folder: which are missing, and an identity."""

    models_dir: Path
    files: tuple[str, ...]

    @classmethod
    def for_profile(cls, models_dir: Path, profile: str) -> "WeightSet":
        return cls(models_dir, tuple(required_files(profile)))

    @property
    def missing(self) -> list[str]:
        return [f for f in self.files if not (self.models_dir / f).is_file()]

    def identity(self) -> dict:
        """Count, total size and one sha256 over (name, size, sha256) of every present file; missing names."""
        digest = hashlib.sha256()
        total = 0
        present = [f for f in self.files if (self.models_dir / f).is_file()]
        for name in present:
            path = self.models_dir / name
            size = path.stat().st_size
            total += size
            digest.update(f"{name}\0{size}\0{file_sha256(path)}\n".encode())
        return {"files": len(present), "bytes": total, "sha256": digest.hexdigest(), "missing": self.missing}
