"""Per-image quantiser step search that meets a target rate, the way JPEG AI's rate search does.

The rate is the empirical entropy of the quantised symbols, one model per channel (what an ideal
context-free coder spends). A bisection finds, for every image of a batch at once, the finest step
whose rate does not exceed the target. The steps form a grid of exactly representable numbers
(``2**iters`` points: ``iters - 5`` mantissa bits in each of 32 octaves, 2**-24 up to 2**8) and the
bisection runs on the integer index, so no step depends on the machine's math library; ``log2`` in
the rate enters only through the comparison with the target.
"""

from __future__ import annotations

import numpy as np

OCTAVE_BITS = 5  # 32 octaves of steps, [2**-24, 2**8): far finer and coarser than any rate needs
TOP_EXPONENT = 7  # the octave [2**7, 2**8) is the last


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


def grid_steps(index: np.ndarray, iters: int) -> np.ndarray:
    """The step of each grid ``index`` (int64 in [0, 2**iters)), increasing with the index:
    ``(1 + f / 2**m) * 2**e`` for mantissa ``f`` (the low ``m = iters - 5`` bits) and octave ``e``
    (the high bits), computed exactly (with fewer than 5 iterations: whole octaves up to 2**7)."""
    octave_bits = min(OCTAVE_BITS, iters)
    mantissa_bits = iters - octave_bits
    index = np.asarray(index, dtype=np.int64)
    mantissa = 1.0 + (index & ((1 << mantissa_bits) - 1)) / float(1 << mantissa_bits)
    octave = (index >> mantissa_bits) + (TOP_EXPONENT - (1 << octave_bits) + 1)
    return np.ldexp(mantissa, octave.astype(np.int32))


def search_steps(coefs: np.ndarray, target_bits: float, iters: int) -> np.ndarray:
    """For (B, C, P) weighted coefficients, the per-image step whose estimated size is closest to
    ``target_bits`` from below (the finest step of the grid the budget allows; the coarsest when
    none does). ``iters`` >= 1 bisection steps. Returns (B,) float64."""
    if iters < 1:
        raise ValueError(f"rate search needs at least one iteration, got {iters}")
    # Rounding is monotone: rows sorted once stay sorted at any step, so symbol counts are run lengths.
    sorted_coefs = np.sort(np.asarray(coefs, dtype=np.float64), axis=-1)
    batch = coefs.shape[0]
    # Invariant: index lo is over budget (-1 stands for "finer than the grid"), index hi is not
    # (assumed for the coarsest step). Each iteration halves hi - lo exactly, from 2**iters to 1.
    lo = np.full(batch, -1, dtype=np.int64)
    hi = np.full(batch, (1 << iters) - 1, dtype=np.int64)
    for _ in range(iters):
        mid = (lo + hi) // 2
        over = estimated_bits(sorted_coefs, grid_steps(mid, iters)) > target_bits
        lo = np.where(over, mid, lo)
        hi = np.where(over, hi, mid)
    return grid_steps(hi, iters)
