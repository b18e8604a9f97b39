"""Per-image quantiser step search that meets a target rate, as JPEG AI's rate search does. Rate: empirical entropy
of the quantised symbols per channel (an ideal context-free coder). A bisection over a grid of exactly representable
steps finds the finest step within the target, so no step depends on the machine's math library."""

import numpy as np

OCTAVE_BITS = 5  # 32 octaves of steps, [2**-24, 2**8): far finer and coarser than any rate needs
TOP_EXPONENT = 7  # the octave [2**7, 2**8) is the last


def estimated_bits(sorted_coefs: np.ndarray, step: np.ndarray) -> np.ndarray:
    """(B,) bits of each image's (B, C, P) weighted coefficients, sorted along P, quantised with its (B,) ``step``."""
    b, c, p = sorted_coefs.shape
    q = np.rint(sorted_coefs / step[:, None, None])
    new_run = np.ones(q.shape, dtype=bool)
    new_run[..., 1:] = q[..., 1:] != q[..., :-1]
    starts = np.flatnonzero(new_run)
    lengths = np.diff(np.append(starts, q.size))
    bits = lengths * np.log2(p / lengths)
    return np.bincount(starts // (c * p), weights=bits, minlength=b)


def grid_steps(index: np.ndarray, iters: int) -> np.ndarray:
    """Exact step ``(1 + f / 2**m) * 2**e`` of each ``index``: ``f`` the low ``m = iters - 5`` bits, ``e`` the rest."""
    octave_bits = min(OCTAVE_BITS, iters)
    mantissa_bits = iters - octave_bits
    index = np.asarray(index, dtype=np.int64)
    mantissa = 1.0 + (index & ((1 << mantissa_bits) - 1)) / float(1 << mantissa_bits)
    octave = (index >> mantissa_bits) + (TOP_EXPONENT - (1 << octave_bits) + 1)
    return np.ldexp(mantissa, octave.astype(np.int32))


def search_steps(coefs: np.ndarray, target_bits: float, iters: int) -> np.ndarray:
    """(B,) finest grid steps keeping the (B, C, P) weighted coefficients within ``target_bits`` (else the coarsest)."""
    # Rounding is monotone: rows sorted once stay sorted at any step, so symbol counts are run lengths.
    sorted_coefs = np.sort(np.asarray(coefs, dtype=np.float64), axis=-1)
    # Invariant: index lo is over budget (-1: finer than the grid), hi is not (assumed for the coarsest).
    lo = np.full(coefs.shape[0], -1, dtype=np.int64)
    hi = np.full(coefs.shape[0], (1 << iters) - 1, dtype=np.int64)
    for _ in range(iters):
        mid = (lo + hi) // 2
        over = estimated_bits(sorted_coefs, grid_steps(mid, iters)) > target_bits
        lo = np.where(over, mid, lo)
        hi = np.where(over, hi, mid)
    return grid_steps(hi, iters)
