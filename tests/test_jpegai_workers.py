"""encoder=jpegai against the fake reference software: real worker subprocesses, protocol, isolation,
retries, parallel equality and the cache."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from fake_jpegai.install import install_fake, load_fake_math
from jfd_testing import compose_cfg
from omegaconf import OmegaConf

from jfd_testing import build_encoder
from jpegai_fd.components import build_conditions
from jpegai_fd.errors import UserError

MATH = load_fake_math()


def make_encoder(root, tmp_path, *extra):
    workers = [] if any(e.startswith("encoder.num_workers=") for e in extra) else ["encoder.num_workers=1"]
    cfg = compose_cfg(
        [
            "encoder=jpegai",
            f"encoder.root={root}",
            f"encoder.log_dir={tmp_path}/logs",
            f"encoder.work_dir={tmp_path}/work",
            *workers,
            *extra,
        ]
    )
    return build_encoder(cfg)


def images(n, h=64, w=64, seed=0):
    return np.random.RandomState(seed).randint(0, 256, (n, h, w, 3)).astype(np.uint8)


def choice(models, image, bpp, mode="search", chroma420=False, encoder_dir="VM_hop"):
    """(seed, base model, rate offset) the fake software picks for ``image``."""
    blobs = [(models / name).read_bytes() for name in MATH.weight_names(encoder_dir)]
    seed = MATH.seed_from_blobs(blobs)
    if mode == "table":
        idx = [12, 25, 50, 75, 100].index(bpp)
        return seed, MATH.TABLE_MODELS[idx], MATH.TABLE_OFFSETS[idx]
    return (seed, *MATH.search_choice(image.astype(np.float32) / 255, seed, bpp, chroma420))


def expected(models, image, bpp, mode="search", chroma420=False, encoder_dir="VM_hop"):
    """{branch: (y, y_hat)} the fake software computes for ``image``."""
    seed, tool, offset = choice(models, image, bpp, mode, chroma420, encoder_dir)
    return MATH.latents(image.astype(np.float32) / 255, seed, tool, offset, chroma420)


@pytest.fixture
def fake(tmp_path):
    return install_fake(tmp_path / "install")


def test_latents_are_what_the_software_computed(fake, tmp_path, capfd):
    root, models = fake
    enc = make_encoder(root, tmp_path, "encoder.keep_extras=true")
    try:
        batch = images(3, 72, 40)
        out = enc.encode(batch, 12)
        assert set(out) == {"y", "y_hat", "extras"}
        for latent in ("y", "y_hat"):
            assert out[latent]["model_y"].shape == (3, 160, 5, 3) and out[latent]["model_uv"].shape == (3, 96, 5, 3)
            assert out[latent]["model_y"].dtype == np.float32
        for i, image in enumerate(batch):
            want = expected(models, image, 12)
            for c in ("model_y", "model_uv"):
                np.testing.assert_array_equal(out["y"][c][i], want[c][0])
                np.testing.assert_array_equal(out["y_hat"][c][i], want[c][1])
        assert out["extras"]["tool_id"].tolist() == [choice(models, im, 12)[1] for im in batch]
        assert out["extras"]["model_y/residual_quant"].dtype == np.int16
        assert out["extras"]["model_uv/z_hat"].shape == (3, 96, 2, 1)
        assert not np.array_equal(out["y"]["model_y"], out["y_hat"]["model_y"])
        # The software's output went to the log file, not to our output; its info level is off (-loglevel warn).
        assert "Logger[" not in capfd.readouterr().out
        log_text = "".join(p.read_text() for p in (tmp_path / "logs").glob("*.log"))
        assert log_text.count("Level=warn: Beta coefficients") == 3 and "Level=info" not in log_text
        # The rate search rewrote the betas list in the worker's copy of cfg/, not in the checkout.
        assert (root / "cfg" / "betas" / "hop" / "betas_tools_on.txt").read_text() == "00001.png_0.12 1 0 0\n"
        workdirs = list((tmp_path / "work").iterdir())
        assert len(workdirs) == 1
        assert (workdirs[0] / "cfg" / "betas" / "hop" / "betas_tools_on.txt").read_text().count("_0.12 ") == 3
    finally:
        enc.close()
    assert list((tmp_path / "work").iterdir()) == []


def test_rates_modes_and_chroma(fake, tmp_path):
    root, models = fake
    batch = images(2, 48, 48, seed=1)
    table = make_encoder(root, tmp_path, "encoder.rate_mode=table", "encoder.chroma=420")
    try:
        for bpp in (12, 50, 100):  # one worker switches table rates without a restart
            out = table.encode(batch, bpp)
            np.testing.assert_array_equal(
                out["y_hat"]["model_uv"][1], expected(models, batch[1], bpp, "table", True)["model_uv"][1]
            )
        with pytest.raises(UserError, match="bpp=6 is not available"):
            table.encode(batch, 6)
    finally:
        table.close()
    search = make_encoder(root, tmp_path, "bpp=6")
    try:
        a = search.encode(batch, 6)
        b = search.encode(batch, 200)  # a new search target rebuilds the coder in the same worker
        np.testing.assert_array_equal(a["y_hat"]["model_y"][0], expected(models, batch[0], 6)["model_y"][1])
        np.testing.assert_array_equal(b["y_hat"]["model_y"][0], expected(models, batch[0], 200)["model_y"][1])
    finally:
        search.close()


@pytest.mark.slow
def test_two_workers_give_the_same_latents_as_one(fake, tmp_path):
    root, models = fake
    (models / "VM_hop" / "encoder_Y_0.5.pth").unlink()  # random init must agree across workers too
    batch = images(6, 32, 48, seed=2)
    outs = []
    for n in (1, 2):
        enc = make_encoder(root, tmp_path / str(n), f"encoder.num_workers={n}", "encoder.allow_missing_weights=true")
        try:
            outs.append(enc.encode(batch, 12))
            assert enc.stats["images"] == 6
        finally:
            enc.close()
    for latent in ("y", "y_hat"):
        for c in ("model_y", "model_uv"):
            np.testing.assert_array_equal(outs[0][latent][c], outs[1][latent][c])
    assert len(list((tmp_path / "2" / "logs").glob("*worker1.log"))) == 1


def coloured(batch, index, rgb):
    batch = batch.copy()
    batch[index, 0, 0] = rgb
    return batch


@pytest.mark.slow
def test_crashes_are_retried_once_then_listed_and_the_batch_goes_on(fake, tmp_path, monkeypatch):
    root, models = fake
    monkeypatch.setenv("FAKE_JPEGAI_STATE", str(tmp_path))
    batch = images(5, seed=3)
    batch = coloured(batch, 1, (0, 255, 0))  # kills its worker once: the retry succeeds
    batch = coloured(batch, 2, (255, 0, 255))  # kills its worker every time: failed
    batch = coloured(batch, 3, (0, 0, 255))  # raises inside the software every time: failed
    enc = make_encoder(root, tmp_path, "encoder.num_workers=2")
    try:
        out = enc.encode(batch, 12)
        assert out["failed"].tolist() == [False, False, True, True, False]
        for i in (0, 1, 4):
            np.testing.assert_array_equal(out["y"]["model_y"][i], expected(models, batch[i], 12)["model_y"][0])
        assert not out["y"]["model_y"][2].any()
        assert enc.stats == {**enc.stats, "images": 3, "failed": 2}
        assert sum(w.starts for w in enc._pool.workers) == 2 + 3  # one restart per crash
        clean = enc.encode(images(2, seed=4), 12)  # the pool still works
        assert "failed" not in clean
    finally:
        enc.close()


@pytest.mark.slow
def test_a_hung_worker_is_killed_and_the_image_listed(fake, tmp_path):
    root, _ = fake
    batch = coloured(images(2, seed=5), 0, (255, 255, 0))
    enc = make_encoder(root, tmp_path, "encoder.image_timeout_s=3")
    try:
        out = enc.encode(batch, 12)
        assert out["failed"].tolist() == [True, False]
    finally:
        enc.close()


def test_interpreter_without_dependencies_is_named(fake, tmp_path):
    root, _ = fake
    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    enc = make_encoder(root, tmp_path, f"encoder.python={venv}/bin/python")
    with pytest.raises(UserError, match="lacks the module 'numpy'.*install it there") as err:
        enc.encode(images(1), 12)
    assert "\n" not in str(err.value)


def test_gpu_request_without_cuda_is_a_clear_error(fake, tmp_path):
    pytest.importorskip("torch")
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA; the fallback error cannot happen")
    root, _ = fake
    enc = make_encoder(root, tmp_path, "encoder.device=0")
    with pytest.raises(UserError, match="encoder.device=0 but the software chose the CPU"):
        enc.encode(images(1), 12)


def test_cache_keeps_extras_and_leaves_failed_images_not_done(fake, tmp_path, monkeypatch):
    from jpegai_fd.cache.store import LatentGroup
    import zarr

    root, _ = fake
    enc = make_encoder(root, tmp_path, "encoder.keep_extras=true")
    try:
        group = zarr.open_group(str(tmp_path / "c.zarr"), mode="w")
        n, shapes = 3, enc.latent_shapes(64, 64)
        for latent in ("y", "y_hat"):
            for c, shape in shapes.items():
                group.create_array(f"{latent}/{c}", shape=(n, *shape), chunks=(n, *shape), dtype="float32")
        for name, (shape, dtype) in enc.extra_shapes(64, 64).items():
            group.create_array(f"extras/{name}", shape=(n, *shape), chunks=(n, *shape), dtype=dtype)
        group.create_array("done", shape=(n,), chunks=(n,), dtype="bool", fill_value=False)
        group.create_array("failed", shape=(n,), chunks=(n,), dtype="bool", fill_value=False)
        group.create_array("failure", shape=(n,), chunks=(n,), dtype=str)
        group.create_array("labels", shape=(n,), chunks=(n,), dtype="int8")
        batch = coloured(images(n, seed=6), 1, (0, 0, 255))
        out = enc.encode(batch, 12)
        LatentGroup(group, n).write_chunk(0, out)
        assert group["done"][:].tolist() == [True, False, True]
        assert group["extras/model_y/residual_quant"].dtype == np.int16
        np.testing.assert_array_equal(group["y_hat/model_uv"][:], out["y_hat"]["model_uv"])
    finally:
        enc.close()


def log_count(log_dir, text):
    return sum(p.read_text().count(text) for p in log_dir.glob("*.log"))


@pytest.mark.parametrize("mode, bpp", [("search", 12), ("table", 50)])
def test_fast_path_is_bit_identical_and_runs_each_analysis_once(fake, tmp_path, mode, bpp):
    root, models = fake
    batch = images(3, 72, 40, seed=7)
    outs = {}
    for fast in (False, True):
        enc = make_encoder(
            root,
            tmp_path / str(fast),
            f"encoder.fast_path={str(fast).lower()}",
            "encoder.keep_extras=true",
            f"encoder.rate_mode={mode}",
            f"bpp={bpp}",
        )
        try:
            outs[fast] = enc.encode(batch, bpp)
        finally:
            enc.close()
    ref, fast = outs[False], outs[True]
    for latent in ("y", "y_hat"):
        for c in ("model_y", "model_uv"):
            np.testing.assert_array_equal(ref[latent][c], fast[latent][c])
    assert ref["extras"].keys() == fast["extras"].keys()
    for name in ref["extras"]:
        np.testing.assert_array_equal(ref["extras"][name], fast["extras"][name])
    for i, image in enumerate(batch):
        np.testing.assert_array_equal(fast["y_hat"]["model_uv"][i], expected(models, image, bpp, mode)["model_uv"][1])
    ref_logs, fast_logs = tmp_path / "False" / "logs", tmp_path / "True" / "logs"
    # Per image and branch: search mode runs the analysis for each of the 4 base models, again for the
    # bisection's first candidate and for the final coding (6); the fast path runs each model once (4).
    runs = {"search": (6, 4), "table": (1, 1)}[mode]
    assert log_count(ref_logs, "fake net analysis model_y") == 3 * runs[0]
    assert log_count(fast_logs, "fake net analysis model_y") == 3 * runs[1]
    assert log_count(fast_logs, "fake net analysis model_uv") == 3 * runs[1]
    assert log_count(ref_logs, "fake net synthesis") >= 3 * 2 and log_count(fast_logs, "fake net synthesis") == 0
    assert log_count(ref_logs, "fake post-filter") == 3 * 2 and log_count(fast_logs, "fake post-filter") == 0
    # The context model's first stage and hyper conv see only the hyper-decoder's output: once per model in the fast path.
    stage0 = (
        log_count(ref_logs, "fake net context stage0 model_y"),
        log_count(fast_logs, "fake net context stage0 model_y"),
    )
    assert stage0[1] == 3 * {"search": 4, "table": 1}[mode] and stage0[0] > stage0[1] * (mode == "search")
    assert log_count(fast_logs, "fake net context hyper model_y") == stage0[1]
    if mode == "search":  # candidates within tolerance were decoded for a distortion figure in both paths
        assert log_count(fast_logs, "fake net hyper_decoder") == 3 * 4 * 2
        assert log_count(ref_logs, "fake net hyper_decoder") > 3 * 4 * 2
        assert log_count(ref_logs, "fake distortion") == log_count(fast_logs, "fake distortion") > 0


def test_a_user_s_loglevel_wins_and_the_fast_path_writes_no_hashes_in_the_log(fake, tmp_path):
    # The real info level md5-hashes every candidate's latents for its log (~45 KB per search-mode image).
    root, _ = fake
    batch, outs = images(2, seed=3), {}
    for fast in ("false", "true"):
        enc = make_encoder(root, tmp_path / fast, f"encoder.fast_path={fast}", "encoder.overrides=[-loglevel,info]")
        try:
            outs[fast] = enc.encode(batch, 12)
        finally:
            enc.close()
    np.testing.assert_array_equal(outs["false"]["y"]["model_y"], outs["true"]["y"]["model_y"])
    ref_log, fast_log = ("".join(p.read_text() for p in (tmp_path / f / "logs").glob("*.log")) for f in outs)
    assert ref_log.count("Level=info: control point") == fast_log.count("Level=info: control point") == 40
    assert fast_log.count("Level=info: control point 0 -\n") == 2
    assert "Level=info: control point 0 -\n" not in ref_log  # the reference path: the software's own md5


@pytest.mark.parametrize("fast", ["true", "false"])
def test_an_image_s_latents_do_not_depend_on_the_images_coded_before(fake, tmp_path, fast):
    # The rate search narrows its tolerance in place after each image; the worker resets it per image.
    root, models = fake
    image = images(1, 64, 64, seed=8)[0]
    seed = choice(models, image, 12)[0]
    rgb = image.astype(np.float32) / 255
    assert MATH.search_choice(rgb, seed, 12, False, images_before=2) != MATH.search_choice(rgb, seed, 12, False)
    enc = make_encoder(root, tmp_path, f"encoder.fast_path={fast}", "encoder.keep_extras=true")
    try:
        out = enc.encode(np.stack([image] * 3), 12)
    finally:
        enc.close()
    for i in (1, 2):
        np.testing.assert_array_equal(out["y_hat"]["model_y"][i], out["y_hat"]["model_y"][0])
    np.testing.assert_array_equal(out["y_hat"]["model_y"][0], expected(models, image, 12)["model_y"][1])


def test_double_compression_hands_back_what_the_software_decoded(fake, tmp_path):
    root, models = fake
    cfg = compose_cfg(
        [
            "encoder=jpegai",
            f"encoder.root={root}",
            f"encoder.log_dir={tmp_path}/logs",
            "encoder.num_workers=1",
            "+robustness=standard",
        ]
    )
    condition = build_conditions(OmegaConf.to_container(cfg.robustness.conditions, resolve=True))["codec_bpp50"]
    batch = images(2, 72, 40, seed=9)
    out = condition.apply_batch(batch, ["a", "b"])
    assert out.shape == batch.shape and out.dtype == np.uint8
    for i, image in enumerate(batch):
        seed, tool, offset = choice(models, image, 50)
        y_hat = {c: pair[1] for c, pair in expected(models, image, 50).items()}
        want = np.clip(np.rint(MATH.reconstruction(y_hat, seed, tool, 72, 40)), 0, 255).astype(np.uint8)
        # The oracle runs in this process, the fake in the worker: float sums may round one step apart.
        assert np.abs(out[i].astype(int) - want).max() <= 1 and np.mean(out[i] == want) > 0.99
        assert not np.array_equal(out[i], image)
    # The job's encoder keeps the fast path; the codec's own workers run the synthesis, which it skips.
    assert log_count(tmp_path / "logs" / "codec", "fake net synthesis") >= 2
    assert condition.describe()["codec"]["weights"] == build_encoder(cfg).fingerprint()["weights"]


@pytest.mark.parametrize("fast", [False, True])
def test_the_worker_times_each_kind_of_net(fake, tmp_path, fast):
    root, _ = fake
    enc = make_encoder(root, tmp_path, f"encoder.fast_path={str(fast).lower()}")
    try:
        batch = enc._ensure_pool(12).encode(images(2, seed=10), 12, ["a", "b"])
    finally:
        enc.close()
    for meta in batch.meta:
        nets = meta["net_seconds"]
        assert set(nets) == {"analysis", "hyper", "context", "synthesis"}
        assert nets["analysis"] > 0 and nets["hyper"] > 0 and nets["context"] > 0
        assert sum(nets.values()) <= meta["seconds"] <= meta["encode_seconds"]
        # The fast path replaces the synthesis nets (after the clock wrapped them): never timed there.
        assert (nets["synthesis"] == 0) == fast
    assert (
        log_count(tmp_path / "logs", "timing a: encode ") == 1 and log_count(tmp_path / "logs", " outside nets ") == 2
    )


def test_workers_get_the_allocator_settings_unless_the_user_set_their_own(fake, tmp_path, monkeypatch):
    root, _ = fake
    monkeypatch.setenv("MALLOC_TOP_PAD_", "4096")
    enc = make_encoder(root, tmp_path)
    try:
        enc.encode(images(1), 12)
        pid = enc._pool.workers[0].proc.pid
        environ = dict(e.split("=", 1) for e in open(f"/proc/{pid}/environ").read().split("\0") if "=" in e)
    finally:
        enc.close()
    assert environ["MALLOC_TOP_PAD_"] == "4096"
    assert environ["MALLOC_MMAP_THRESHOLD_"] == "33554432" and environ["MALLOC_TRIM_THRESHOLD_"] == "4294967296"
