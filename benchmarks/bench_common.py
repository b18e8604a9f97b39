"""Helpers the benchmark scripts share: composing the project's config, and a process's memory."""

from __future__ import annotations

from pathlib import Path

from hydra import compose, initialize_config_dir

CONF = Path(__file__).resolve().parent.parent / "conf"
RESULTS = Path(__file__).resolve().parent / "results"


def compose_cfg(overrides: list[str]):
    """The primary config composed with ``overrides``, as the command line would."""
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(config_name="config", overrides=overrides)


def rss_kib(field: str) -> int:
    """A /proc/self/status memory field (VmRSS, VmHWM) in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(field)


def reset_peak_rss() -> None:
    """Reset the kernel's high-water mark (VmHWM) to the current resident size (Linux only)."""
    Path("/proc/self/clear_refs").write_text("5")
