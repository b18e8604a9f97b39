"""encoder=jpegai: config keys, installation and weight checks, fingerprint, tags (no workers started)."""

from __future__ import annotations

import json
import logging
import os
import sys

import pytest
from fake_jpegai.install import install_fake
from jfd_testing import compose_cfg

from jfd_testing import build_encoder, build_group
from jpegai_fd.encoders.jpegai import JPEGAIEncoder
from jpegai_fd.encoders.jpegai.checkout import required_files
from jpegai_fd.errors import UserError
from jpegai_fd.config import factor_tags


def jpegai_cfg(root, *extra):
    return compose_cfg(["encoder=jpegai", f"encoder.root={root}", *extra])


@pytest.fixture
def fake(tmp_path):
    return install_fake(tmp_path)


def test_defaults_reproduce_the_thesis(monkeypatch):
    for var in ("JPEGAI_ROOT", "JPEGAI_PYTHON", "JPEGAI_MODELS"):
        monkeypatch.delenv(var, raising=False)
    enc = build_group(compose_cfg(["encoder=jpegai", "encoder.root=/x"]), "encoder")
    s = enc.settings
    assert (s.profile, s.tools, s.rate_mode, s.chroma, s.device) == ("high", "on", "search", "444", ("cpu",))
    assert s.cfg_files == ["cfg/tools_on.json", "cfg/profiles/high.json"]
    assert s.python == sys.executable and str(s.models_dir) == "/x/models"
    assert not s.allow_missing_weights and not s.keep_extras
    assert s.threads_per_worker == 1 and s.num_workers == os.cpu_count()
    assert s.fast_path is True and s.worker_settings(12)["fast_path"] is True


def test_environment_variables_fill_root_python_models(monkeypatch):
    monkeypatch.setenv("JPEGAI_ROOT", "/opt/jai")
    monkeypatch.setenv("JPEGAI_PYTHON", "/opt/py37/bin/python")
    s = build_group(compose_cfg(["encoder=jpegai"]), "encoder").settings
    assert str(s.root) == "/opt/jai" and s.python == "/opt/py37/bin/python"


@pytest.mark.parametrize(
    "override, key",
    [
        ("encoder.profile=mega", "encoder.profile"),
        ("encoder.rate_mode=fast", "encoder.rate_mode"),
        ("encoder.chroma=422", "encoder.chroma"),
        ("encoder.device=gpu", "encoder.device"),
        ("encoder.num_workers=0", "encoder.num_workers"),
        ("encoder.tools=maybe", "encoder.tools"),
        ("encoder.image_timeout_s=-1", "encoder.image_timeout_s"),
        ("encoder.fast_path=maybe", "encoder.fast_path"),
    ],
)
def test_bad_values_name_the_key(override, key):
    with pytest.raises(UserError, match=f"'{key}'") as err:
        build_group(compose_cfg(["encoder=jpegai", "encoder.root=/x", override]), "encoder").settings
    assert "\n" not in str(err.value)


def test_missing_root_says_how_to_set_it(monkeypatch):
    monkeypatch.delenv("JPEGAI_ROOT", raising=False)
    with pytest.raises(UserError, match="encoder.root.*JPEGAI_ROOT"):
        build_encoder(compose_cfg(["encoder=jpegai"]))


def test_table_mode_refuses_unsupported_rate(fake):
    root, _ = fake
    with pytest.raises(UserError, match="bpp=6 is not available with encoder.rate_mode=table"):
        build_encoder(jpegai_cfg(root, "encoder.rate_mode=table", "bpp=6"))
    assert build_encoder(jpegai_cfg(root, "encoder.rate_mode=table", "bpp=25")).name == "jpegai"
    assert build_encoder(jpegai_cfg(root, "bpp=6")).name == "jpegai"  # search mode: any rate


def test_installation_errors_are_one_line_with_the_fix(tmp_path, fake):
    root, _ = fake
    cases = {
        "does not exist": jpegai_cfg(tmp_path / "nowhere"),
        "not a JPEG AI reference-software checkout": jpegai_cfg(tmp_path),
        "cannot run the interpreter": jpegai_cfg(root, f"encoder.python={tmp_path}/no-python"),
        "cfg file .*does not exist": jpegai_cfg(root, "encoder.extra_cfg=[cfg/tools/RDLR.json]"),
    }
    for pattern, cfg in cases.items():
        with pytest.raises(UserError, match=pattern) as err:
            build_encoder(cfg)
        assert "\n" not in str(err.value)


def test_unsupported_version_and_unbuilt_extensions(tmp_path):
    root, _ = install_fake(tmp_path / "a", extensions=False)
    with pytest.raises(UserError, match="C\\+\\+ extensions .* not built.*run make"):
        build_encoder(jpegai_cfg(root))
    root, _ = install_fake(tmp_path / "b")
    (root / "cfg" / "info.json").write_text(json.dumps({"version": "VM4.3", "codec_name": "JAI"}))
    with pytest.raises(UserError, match="version 'VM4.3'.*not supported"):
        build_encoder(jpegai_cfg(root))


def test_missing_weights_are_refused_naming_files_and_folder(fake):
    root, models = fake
    (models / "VM_hop" / "encoder_Y_0.5.pth").unlink()
    (models / "VM_common_int" / "UV_0.002.pth").unlink()
    with pytest.raises(UserError) as err:
        build_encoder(jpegai_cfg(root))
    msg = str(err.value)
    assert "2 JPEG AI weight files" in msg and str(models) in msg
    assert "VM_hop/encoder_Y_0.5.pth" in msg and "VM_common_int/UV_0.002.pth" in msg
    # The simple profile does not use the HOP encoder but still needs the common modules.
    with pytest.raises(UserError, match="1 JPEG AI weight files needed by profile 'simple'"):
        build_encoder(jpegai_cfg(root, "encoder.profile=simple"))


def test_allow_missing_weights_warns_loudly_and_marks_results(fake, caplog, capsys):
    root, models = fake
    (models / "VM_hop" / "encoder_Y_0.5.pth").unlink()
    cfg = jpegai_cfg(root, "encoder.allow_missing_weights=true")
    with caplog.at_level(logging.WARNING):
        enc = build_encoder(cfg)
    assert "NOT valid for science" in capsys.readouterr().err and "RANDOM weights" in caplog.text
    assert enc.fingerprint()["valid_for_science"] is False
    assert enc.fingerprint()["weights"]["missing"] == ["VM_hop/encoder_Y_0.5.pth"]
    tags = factor_tags(cfg)
    assert tags["science.valid"] == "false" and tags["encoder.chroma"] == "444"
    assert "science.valid" not in factor_tags(jpegai_cfg(root))
    assert "encoder.chroma" not in factor_tags(compose_cfg([]))  # the DCT encoder has no such key


def test_profile_needs_sixty_files_differing_only_in_the_analysis_nets():
    high, simple = set(required_files("high")), set(required_files("simple"))
    assert len(high) == len(simple) == 60 and required_files("base") == required_files("simple")
    assert high ^ simple == {
        f"{d}/encoder_{c}_{b}.pth"
        for d in ("VM_hop", "VM_bop")
        for c in ("Y", "UV")
        for b in ("0.002", "0.012", "0.075", "0.5")
    }


@pytest.mark.slow
def test_fingerprint_changes_with_everything_that_changes_latents(fake):
    root, models = fake

    def fp(*extra):
        return build_encoder(jpegai_cfg(root, *extra)).fingerprint()

    base = fp()
    assert base["software_version"] == "IS" and base["chroma"] == "444" and base["rate_mode"] == "search"
    assert base["weights"]["files"] == 60 and base["valid_for_science"] is True
    for extra in (
        ["encoder.profile=simple"],
        ["encoder.tools=off"],
        ["encoder.chroma=420"],
        ["encoder.rate_mode=table"],
        ["encoder.overrides=[-max_iterations,30]"],
        ["encoder.keep_extras=true"],
        ["encoder.threads_per_worker=2"],
        ["encoder.device=0"],
    ):
        assert fp(*extra) != base, extra
    # Workers, devices, logs and the fast path do not change latents: the cache is shared.
    assert fp("encoder.num_workers=2", "encoder.log_dir=/tmp/elsewhere", "encoder.fast_path=false") == base
    weight = models / "VM_hop" / "encoder_UV_0.075.pth"
    weight.write_bytes(b"retrained")
    os.utime(weight, ns=(1, 1))
    assert fp()["weights"]["sha256"] != base["weights"]["sha256"]
    (root / "cfg" / "profiles" / "high.json").write_text('{"model": {"encoder_dir": "VM_hop", "x": 1}}')
    assert fp()["cfg_sha256"] != base["cfg_sha256"]
    # The betas lists that the software itself rewrites do not count.
    before = fp()
    (root / "cfg" / "betas" / "hop" / "betas_tools_on.txt").write_text("changed by a rate search\n")
    assert fp() == before


def test_extra_shapes_only_with_keep_extras(fake):
    root, _ = fake
    assert build_encoder(jpegai_cfg(root)).extra_shapes(256, 256) == {}
    shapes = build_encoder(jpegai_cfg(root, "encoder.keep_extras=true")).extra_shapes(300, 257)
    assert shapes["tool_id"] == ((), "int8")
    assert shapes["model_y/residual_quant"] == ((160, 19, 17), "int16")
    assert shapes["model_uv/scale_log"] == ((96, 19, 17), "int32")
    assert shapes["model_y/z_hat"] == ((160, 5, 5), "int8")
    assert isinstance(build_encoder(jpegai_cfg(root)), JPEGAIEncoder)
