"""The DCT encoder's bytes do not depend on thread counts: the same images encoded in fresh processes
under different BLAS/OpenMP thread limits (environment variables, threadpoolctl) give identical y and
y_hat, byte for byte (the joblib launcher's workers run one thread, a plain process several)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

# Encodes one chunk of generated faces (256x256, big enough for a multi-threaded BLAS to split the
# work) and saves the raw bytes of every latent array. argv: output file, threadpoolctl limit or "-".
WORKER = """
import sys
import numpy as np
from jpegai_fd.datasets.generators import make_image
from jpegai_fd.encoders.dct import DCTEncoder

images = np.stack([make_image(i % 2, 5, i, 256)[0] for i in range(16)])
def encode():
    return DCTEncoder().encode(images, 12)
if sys.argv[2] == "-":
    out = encode()
else:
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=int(sys.argv[2])):
        out = encode()
np.savez(sys.argv[1], **{f"{lat}/{comp}": np.frombuffer(np.ascontiguousarray(a).tobytes(), dtype=np.uint8)
                         for lat, comps in out.items() for comp, a in comps.items()})
"""

CASES = {
    "env-1": ({v: "1" for v in THREAD_VARS}, "-"),
    "env-2": ({v: "2" for v in THREAD_VARS}, "-"),
    "env-unset": ({}, "-"),
    "threadpoolctl-1": ({}, "1"),
    "env-2+threadpoolctl-1": ({v: "2" for v in THREAD_VARS}, "1"),
}


def encode_in_subprocess(out: Path, env_threads: dict, limit: str) -> dict[str, np.ndarray]:
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    proc = subprocess.run(
        [sys.executable, "-c", WORKER, str(out), limit],
        env={**env, **env_threads},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    with np.load(out) as data:
        return {k: data[k] for k in data.files}


@pytest.mark.slow
def test_latent_bytes_do_not_depend_on_thread_limits(tmp_path):
    results = {name: encode_in_subprocess(tmp_path / f"{name}.npz", env, limit) for name, (env, limit) in CASES.items()}
    reference = results["env-1"]
    assert set(reference) == {"y/model_y", "y/model_uv", "y_hat/model_y", "y_hat/model_uv"}
    assert all(a.size > 0 for a in reference.values())
    for name, got in results.items():
        assert got.keys() == reference.keys()
        for key in reference:
            assert np.array_equal(got[key], reference[key]), f"{key} differs between {name} and env-1"


@pytest.mark.parametrize("shape", [(3, 32, 48), (2, 64, 64)])
def test_fixed_order_dct_equals_the_matrix_product(shape):
    """The BLAS-free kernel computes the same transform as D @ X @ D.T per block (to float32 rounding)."""
    from jpegai_fd.encoders.dct import block_dct, dct_matrix

    planes = np.random.default_rng(4).normal(size=shape).astype(np.float32)
    block = 16
    d = dct_matrix(block)
    n, h, w = shape
    got = block_dct(planes, block)
    for i in range(h // block):
        for j in range(w // block):
            tile = planes[:, i * block : (i + 1) * block, j * block : (j + 1) * block].astype(np.float64)
            want = (d @ tile @ d.T).reshape(n, block * block)
            np.testing.assert_allclose(got[:, :, i, j], want, atol=2e-5)
