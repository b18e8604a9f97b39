"""Per-image quantiser step search that meets a target rate, the way JPEG AI's rate search does.

The rate of a quantised latent is estimated as the empirical entropy of its symbols, one adaptive model
per channel (what an ideal context-free entropy coder would spend). A bisection on log(step) finds, for
every image of a batch at once, the finest step whose estimated rate does not exceed the target.
"""

from __future__ import annotations

import numpy as np

LOG_STEP_RANGE = (np.log(1e-6), np.log(1e2))


def _sorted_rows(coefs: np.ndarray) -> np.ndarray:
    # Rounding is monotone, so rows sorted once stay sorted after quantisation at any step: the
    # symbol histogram becomes run lengths, and each bisection step costs no sort.
    return np.sort(coefs, axis=-1)


def estimated_bits(sorted_coefs: np.ndarray, step: np.ndarray) -> np.ndarray:
    """Entropy-coded size in bits of each image's latent quantised with its ``step``.

    ``sorted_coefs``: (B, C, P) coefficients already divided by their channel weight and sorted along
    P (the positions of a channel). ``step``: (B,). Returns (B,) bits.
    """
    b, c, p = sorted_coefs.shape
    q = np.rint(sorted_coefs / step[:, None, None])
    new_run = np.ones(q.shape, dtype=bool)
    new_run[..., 1:] = q[..., 1:] != q[..., :-1]
    starts = np.flatnonzero(new_run)
    lengths = np.diff(np.append(starts, q.size))
    bits = lengths * np.log2(p / lengths)
    return np.bincount(starts // (c * p), weights=bits, minlength=b)


def search_steps(coefs: np.ndarray, target_bits: float, iters: int) -> np.ndarray:
    """For (B, C, P) weighted coefficients, the per-image step whose estimated size is closest to
    ``target_bits`` from below (the finest step the budget allows). Returns (B,) float64."""
    sorted_coefs = _sorted_rows(np.asarray(coefs, dtype=np.float64))
    batch = coefs.shape[0]
    lo = np.full(batch, LOG_STEP_RANGE[0])
    hi = np.full(batch, LOG_STEP_RANGE[1])
    for _ in range(iters):
        mid = (lo + hi) / 2
        over = estimated_bits(sorted_coefs, np.exp(mid)) > target_bits
        lo = np.where(over, mid, lo)
        hi = np.where(over, hi, mid)
    return np.exp(hi)
