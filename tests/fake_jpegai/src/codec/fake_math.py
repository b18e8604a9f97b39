"""The fake codec's arithmetic: deterministic latents from an RGB image, a weight seed and a rate.

Standalone (numpy only) so that the tests can load this file directly and compute what the adapter
must return. ``y``: fixed random projections (seeded by the weights and the base model) of 4x4
sub-block means of each 16x16 block of BT.709 Y (model_y, 160 ch) and of U, V and Y (model_uv, 96 ch);
``y_hat``: ``y`` quantised with a step set by the base model and the integer rate offset; the synthesis
(``synthesis``, ``reconstruction``) inverts the projections: the decoded image has those sub-block means. The rate
search (``rate_search``) is structured like the real one: every base model at offset 0, then a
bisection on the offset of the closest one.
"""

import hashlib

import numpy as np

BETAS = ("0.002", "0.012", "0.075", "0.5")
TABLE_MODELS = [0, 1, 2, 2, 3]  # base model per table rate (12, 25, 50, 75, 100)


def weight_names(encoder_dir):
    """The files ``load_models`` asks for, in order (same pattern as the real IS software)."""
    names = ["VM_common_int/%s_%s.pth" % (c, b) for c in ("Y", "UV") for b in BETAS]
    names += [
        "%s/decoder_%s_%s.pth" % (d, c, b) for d in ("VM_bop", "VM_hop", "VM_sop") for c in ("Y", "UV") for b in BETAS
    ]
    names += [
        "eICCI_bophop_2d020448_20240229/eicci_%s_%s%s_300k.pth" % (o, m, r)
        for o in ("bop", "hop")
        for m in ("mse", "mss")
        for r in ("012", "025", "050", "075", "100")
    ]
    names += ["%s/encoder_%s_%s.pth" % (encoder_dir, c, b) for c in ("Y", "UV") for b in BETAS]
    return names


def seed_from_blobs(blobs):
    """The fake's stand-in for loaded weights: one integer from the weight files' bytes."""
    digest = hashlib.sha256()
    for blob in blobs:
        digest.update(blob)
    return int(digest.hexdigest()[:8], 16)


TABLE_OFFSETS = [0, 0, -184, 0, 0]  # rate offset (BDL) per table rate, as in the real table
BASE_STEPS = (64.0, 16.0, 4.0, 1.0)  # quantiser step of each base model at rate offset 0
OFFSET_RANGE = (-256, 256)  # the rate offsets the fake's search may try
TOLERANCE = (-0.10, 0.05)  # accepted (bits - target) / target, before any narrowing
TOLERANCE_STEP = 0.03  # how much the fake's search narrows tolerance_max per image


def step_for(tool_id, offset):
    """Quantiser step of base model ``tool_id`` at integer rate offset ``offset`` (more offset, finer)."""
    return BASE_STEPS[tool_id] * 2.0 ** (-offset / 128.0)


def bits_per_pixel(ys, step, pixels):
    """The fake's rate: sum of log2(1 + |y| / step) over both branches' latents, per pixel."""
    return float(sum(np.log2(1.0 + np.abs(y.astype(np.float64)) / step).sum() for y in ys)) / pixels


def rate_search(target, bits_of, tolerance_max):
    """(tool_id, offset): the base model whose rate at offset 0 is closest to ``target`` (bits per
    pixel), then the largest offset in OFFSET_RANGE whose rate stays within (TOLERANCE[0],
    ``tolerance_max``) of the target, found by bisection; ``bits_of(tool_id, offset)`` is called for
    each candidate in the order the fake's engine tries them (all models first)."""
    first = [bits_of(tool, 0) for tool in range(len(BASE_STEPS))]
    tool = min(range(len(first)), key=lambda t: (abs(first[t] - target) / first[t], t))
    lo, hi = OFFSET_RANGE
    best = None
    while lo <= hi:
        mid = (lo + hi) // 2
        mismatch = (bits_of(tool, mid) - target) / target
        if mismatch <= tolerance_max:
            if mismatch >= TOLERANCE[0]:
                best = mid
            lo = mid + 1
        else:
            hi = mid - 1
    return tool, (best if best is not None else hi)


def search_choice(rgb, seed, bpp, subsample_chroma, images_before=0):
    """What the fake's rate search picks for one image (the tests' oracle): (tool_id, offset)."""
    pixels = rgb.shape[0] * rgb.shape[1]

    def bits_of(tool, offset):
        lat = latents(rgb, seed, tool, offset, subsample_chroma)
        return bits_per_pixel([y for y, _ in lat.values()], step_for(tool, offset), pixels)

    return rate_search(bpp / 100.0, bits_of, TOLERANCE[1] - TOLERANCE_STEP * images_before)


def yuv_planes(rgb, subsample_chroma):
    """rgb (H, W, 3) float in [0, 1] -> Y, U, V planes (BT.709, no offsets); 4:2:0 if asked."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    u = (b - y) / 1.8556 + 0.5
    v = (r - y) / 1.5748 + 0.5
    if subsample_chroma:
        h, w = y.shape
        ph, pw = h % 2, w % 2
        u = np.pad(u, ((0, ph), (0, pw)), mode="edge")
        v = np.pad(v, ((0, ph), (0, pw)), mode="edge")
        u = u.reshape(u.shape[0] // 2, 2, u.shape[1] // 2, 2).mean(axis=(1, 3)).repeat(2, 0).repeat(2, 1)[:h, :w]
        v = v.reshape(v.shape[0] // 2, 2, v.shape[1] // 2, 2).mean(axis=(1, 3)).repeat(2, 0).repeat(2, 1)[:h, :w]
    return y, u, v


def sub_block_means(plane):
    """(H, W) -> (16, ceil(H/16), ceil(W/16)): means of the 4x4 sub-blocks of each 16x16 block."""
    h, w = plane.shape
    plane = np.pad(plane, ((0, -h % 16), (0, -w % 16)), mode="edge")
    gh, gw = plane.shape[0] // 16, plane.shape[1] // 16
    blocks = plane.reshape(gh, 4, 4, gw, 4, 4).mean(axis=(2, 5))  # (gh, 4, gw, 4)
    return blocks.transpose(1, 3, 0, 2).reshape(16, gh, gw)


def projections(seed, tool_id):
    rng = np.random.RandomState((int(seed) * 7 + tool_id) % (2**32))
    return rng.standard_normal((160, 16)), rng.standard_normal((96, 48))


def analysis(planes, seed, tool_id, branch):
    """The fake analysis transform: (C, h, w) float32 ``y`` of one branch from its planes."""
    wy, wuv = projections(seed, tool_id)
    if branch == "model_y":
        return np.einsum("cf,fhw->chw", wy, sub_block_means(planes[0])).astype(np.float32)
    feats = np.concatenate([sub_block_means(p) for p in planes])
    return np.einsum("cf,fhw->chw", wuv, feats).astype(np.float32)


def synthesis(y_hat, seed, tool_id, branch, height, width):
    """The fake synthesis transform: the least-squares inverse of ``analysis`` -> (1, H, W) Y for model_y, (2, H, W)
    U, V for model_uv, each 4x4 pixel sub-block at its decoded mean (a blocky, rate-dependent copy of the input)."""
    wy, wuv = projections(seed, tool_id)
    w = wy if branch == "model_y" else wuv
    feats = np.einsum("fc,chw->fhw", np.linalg.pinv(w), y_hat.astype(np.float64))[: 16 if branch == "model_y" else 32]
    k, gh, gw = feats.shape[0] // 16, feats.shape[1], feats.shape[2]
    planes = feats.reshape(k, 4, 4, gh, gw).transpose(0, 3, 1, 4, 2).reshape(k, 4 * gh, 4 * gw)
    return planes.repeat(4, 1).repeat(4, 2)[:, :height, :width]


def rgb_from_yuv(y, u, v):
    """Inverse of ``yuv_planes`` (BT.709, no offsets): (H, W, 3) RGB on the planes' scale."""
    r, b = y + 1.5748 * (v - 0.5), y + 1.8556 * (u - 0.5)
    return np.stack([r, (y - 0.2126 * r - 0.0722 * b) / 0.7152, b], axis=-1)


def reconstruction(latents_hat, seed, tool_id, height, width):
    """What the fake's ``compress`` returns as its reconstruction, RGB in [0, 255] (unclipped, float64), from
    {branch: y_hat}; the tests' oracle for the decoded image."""
    (y,) = synthesis(latents_hat["model_y"], seed, tool_id, "model_y", height, width)
    u, v = synthesis(latents_hat["model_uv"], seed, tool_id, "model_uv", height, width)
    return 255.0 * rgb_from_yuv(y, u, v)


def quantise(y, step):
    """(residual_quant int16, y_hat float32) of ``y`` at quantiser step ``step``."""
    q = np.round(y / step)
    return q.astype(np.int16), (q * step).astype(np.float32)


def latents(rgb, seed, tool_id, offset, subsample_chroma):
    """{"model_y": (y, y_hat), "model_uv": (y, y_hat)} float32 (C, h, w) for one image."""
    y_plane, u_plane, v_plane = yuv_planes(rgb.astype(np.float64), subsample_chroma)
    step = step_for(tool_id, offset)
    out = {}
    for name, planes in (("model_y", [y_plane]), ("model_uv", [u_plane, v_plane, y_plane])):
        y = analysis(planes, seed, tool_id, name)
        out[name] = (y, quantise(y, step)[1])
    return out
