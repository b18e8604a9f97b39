"""A fit that the measured peaks say will not fit in memory is announced in one line before it starts."""

from __future__ import annotations

import numpy as np

from jfd_testing import compose_cfg
from jfd_testing import build_group
from jpegai_fd.classifiers.memory import memory_warning


def test_a_fit_that_will_not_fit_in_memory_is_announced():
    X = np.zeros((100, 1000), dtype=np.float32)  # 0.4 MB
    hgb = build_group(compose_cfg(["classifier=hgb"]), "classifier")
    line = memory_warning(hgb, X, available=1_000_000)
    assert line.startswith("classifier=hgb needs about 0.0 GB") and "use classifier=lgbm" in line
    assert memory_warning(hgb, X, available=10_000_000) is None  # 12 x 0.4 MB fits in 10 MB
    assert (
        memory_warning(build_group(compose_cfg(["classifier=cnn"]), "classifier"), X, available=1) is None
    )  # no figure
    assert memory_warning(hgb, X) is None  # 4.8 MB fits in what this machine has available
