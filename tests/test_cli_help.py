"""``python -m jpegai_fd --help``: the groups, their options and the grid keys, not Hydra's generic text."""

from __future__ import annotations

from jfd_testing import CONF_DIR, run_cli


def test_help_lists_groups_options_and_grid_keys(tmp_path):
    result = run_cli("jpegai_fd", ["--help"], cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    text = result.stdout
    for group in ("dataset", "encoder", "preprocess", "classifier", "experiment", "debug"):
        options = sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))
        assert f"{group}: {', '.join(options)}" in text, group
    for key in ("bpp", "component", "latent", "seed", "n_jobs"):
        assert f"\n  {key} " in text, key
    assert "now: 12" in text and "dataset=synthetic encoder=dct preprocess=flatten classifier=rf" in text
    assert "powered by Hydra" not in text and "== Config ==" not in text
    assert not (tmp_path / "outputs").exists()  # help does no work
