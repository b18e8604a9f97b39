"""The documentation under docs/: every config key is documented, the generated reference is current,
and the site builds with broken links and anchors refused (what .ci/run runs)."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import tomllib

import pytest
from omegaconf import OmegaConf

from jfd_testing import CONF_DIR, REPO, compose_cfg

DOCS = REPO / "docs"
GROUPS = ("dataset", "encoder", "preprocess", "classifier")


def _gen_reference():
    spec = importlib.util.spec_from_file_location("gen_reference", DOCS / "gen_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _keys(node, prefix: str = "") -> list[str]:
    if isinstance(node, dict) and node:
        return [k for key, value in node.items() for k in _keys(value, f"{prefix}.{key}" if prefix else str(key))]
    return [prefix]


def _docs_text() -> str:
    return "\n".join(p.read_text() for p in DOCS.rglob("*.md"))


def test_every_config_key_is_documented():
    text = _docs_text()
    keys = _keys(OmegaConf.to_container(compose_cfg([]), resolve=False))
    for group in GROUPS:
        for option in sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml")):
            cfg = OmegaConf.to_container(compose_cfg([f"{group}={option}"]), resolve=False)
            keys += _keys(cfg[group], group)
    assert "tuning.pruner.n_startup_trials" in keys and "classifier.estimator.n_estimators" in keys
    missing = sorted({k for k in keys if f"`{k}`" not in text})
    assert not missing, f"config keys not in docs/ (run python docs/gen_reference.py): {missing}"


def test_config_reference_is_up_to_date():
    page = (DOCS / "reference" / "config.md").read_text()
    assert page == _gen_reference().config_page(), "docs/reference/config.md is stale: run python docs/gen_reference.py"


def test_every_console_script_has_a_reference_entry():
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    page = (DOCS / "reference" / "commands.md").read_text()
    assert [name for name in scripts if f"## `{name}`" not in page] == []


def test_readme_is_short_keeps_the_test_command_and_links_to_pages_that_exist():
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= 300
    assert "python -m pytest -q" in readme
    links = re.findall(r"\]\((docs/[^)#]+)", readme)  # mkdocs checks the pages' links, not the README's
    assert links and [link for link in links if not (REPO / link).exists()] == []


def test_the_site_builds_strictly(tmp_path):
    pytest.importorskip("mkdocs", reason="mkdocs is in the docs extra (pip install -e '.[docs]'); CI installs it")
    pytest.importorskip("material", reason="mkdocs-material is in the docs extra; CI installs it")
    cmd = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "site" / "reference" / "config" / "index.html").exists()
