"""The fake codec's arithmetic: deterministic latents from an RGB image, a weight seed and a rate.

Standalone (numpy only) so that the tests can load this file directly and compute what the adapter
must return. ``y``: fixed random projections (seeded by the weights and the base model) of 4x4
sub-block means of each 16x16 block of BT.709 Y (model_y, 160 ch) and of U, V and Y (model_uv, 96 ch).
"""

import hashlib

import numpy as np

BETAS = ("0.002", "0.012", "0.075", "0.5")
TABLE_MODELS = [0, 1, 2, 2, 3]          # base model per table rate (12, 25, 50, 75, 100)


def weight_names(encoder_dir):
    """The files ``load_models`` asks for, in order (same pattern as the real IS software)."""
    names = ["VM_common_int/%s_%s.pth" % (c, b) for c in ("Y", "UV") for b in BETAS]
    names += ["%s/decoder_%s_%s.pth" % (d, c, b) for d in ("VM_bop", "VM_hop", "VM_sop") for c in ("Y", "UV")
              for b in BETAS]
    names += ["eICCI_bophop_2d020448_20240229/eicci_%s_%s%s_300k.pth" % (o, l, r) for o in ("bop", "hop")
              for l in ("mse", "mss") for r in ("012", "025", "050", "075", "100")]
    names += ["%s/encoder_%s_%s.pth" % (encoder_dir, c, b) for c in ("Y", "UV") for b in BETAS]
    return names


def seed_from_blobs(blobs):
    """The fake's stand-in for loaded weights: one integer from the weight files' bytes."""
    digest = hashlib.sha256()
    for blob in blobs:
        digest.update(blob)
    return int(digest.hexdigest()[:8], 16)


def model_for_rate(bpp):
    """The base model the fake's rate search settles on."""
    return 0 if bpp <= 12 else 1 if bpp <= 25 else 2 if bpp <= 75 else 3


def step_for(tool_id, bpp):
    return 4.0 / (1.0 + tool_id) / (1.0 + bpp / 25.0)


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
    blocks = plane.reshape(gh, 4, 4, gw, 4, 4).mean(axis=(2, 5))      # (gh, 4, gw, 4)
    return blocks.transpose(1, 3, 0, 2).reshape(16, gh, gw)


def projections(seed, tool_id):
    rng = np.random.RandomState((int(seed) * 7 + tool_id) % (2 ** 32))
    return rng.standard_normal((160, 16)), rng.standard_normal((96, 48))


def latents(rgb, seed, tool_id, bpp, subsample_chroma):
    """{"model_y": (y, y_hat), "model_uv": (y, y_hat)} float32 (C, h, w) for one image."""
    y_plane, u_plane, v_plane = yuv_planes(rgb.astype(np.float64), subsample_chroma)
    fy = sub_block_means(y_plane)
    fuv = np.concatenate([sub_block_means(u_plane), sub_block_means(v_plane), fy])
    wy, wuv = projections(seed, tool_id)
    step = step_for(tool_id, bpp)
    out = {}
    for name, w, f in (("model_y", wy, fy), ("model_uv", wuv, fuv)):
        y = np.einsum("cf,fhw->chw", w, f).astype(np.float32)
        y_hat = (np.round(y / step) * step).astype(np.float32)
        out[name] = (y, y_hat)
    return out
