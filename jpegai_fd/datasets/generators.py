"""Demo generator models with different upsampling and texture traces, for cross-generator tests.

Every generator takes a clean "content" image (float RGB in [0, 1], H x W x 3, H and W even), the
output of :func:`jpegai_fd.datasets.synthetic.render_face` on a scene of
:func:`~jpegai_fd.datasets.synthetic.draw_scene`, and a numpy Generator, and returns the fake (same
shape, float in [0, 1]). The content model is synthetic's, so content never separates generators
or classes; only the traces of how pixels were made do:

* ``transposed_conv``: synthesis at half resolution, then a stride-2 transposed convolution with a
  slightly uneven learned kernel per channel (periodic "checkerboard" traces at the 2-pixel period),
  learned sharpening and spatially correlated noise injection (as in StyleGAN);
* ``bilinear_noise``: synthesis at half resolution, fixed bilinear (resize-convolution) upsampling,
  which leaves a smooth spectrum with little energy above half the Nyquist frequency, then white
  per-pixel noise (independent per channel) at a few grey levels;
* ``diffusion``: a diffusion-like sampler at full resolution: start from the content under strong
  noise and run a few denoising steps, each a smoothing "denoiser" pulled towards the content plus
  fresh, smaller noise (DDPM-style ancestral steps); what is left is over-smoothed fine texture and
  low-amplitude, spatially correlated (blob-like) residual noise shared across channels.

Trace strengths are random per image, so that classes overlap. ``make_image`` mirrors
:func:`synthetic.make_image` with a ``generator`` choice; for label 1 (real) it is synthetic's
camera model on the same content.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import ndimage

from jpegai_fd.datasets.synthetic import camera_pipeline, draw_scene, render_face
from jpegai_fd.errors import UserError

Generator = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def _half(content: np.ndarray) -> np.ndarray:
    """2x2 mean: the content as a generator synthesising at half resolution would produce it."""
    h, w, c = content.shape
    return content.reshape(h // 2, 2, w // 2, 2, c).mean(axis=(1, 3))


def transposed_conv(content: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Half-resolution synthesis, uneven stride-2 transposed convolution, sharpening, correlated noise."""
    low = _half(content)
    h, w, c = low.shape
    up = np.zeros((2 * h, 2 * w, c))
    up[::2, ::2] = low * 4  # zero insertion; the 4-tap kernel below sums to 4 in 2-D (2 per axis)
    unevenness = rng.uniform(0.1, 0.6)
    out = np.empty_like(up)
    for ch in range(c):
        taps = np.array([0.25, 0.75, 0.75, 0.25]) + unevenness * rng.normal(0, 0.12, 4)
        # Unequal phase sums (taps 0+2 vs 1+3) make the checkerboard; the total is kept at 2 so the
        # kernel does not also change brightness, which would be a colour cue, not an upsampling trace.
        taps *= 2 / taps.sum()
        out[..., ch] = ndimage.convolve(up[..., ch], np.outer(taps, taps) / 4, mode="mirror")
    out = out + rng.uniform(0.2, 0.8) * (out - ndimage.gaussian_filter(out, sigma=(1.0, 1.0, 0)))
    noise = ndimage.gaussian_filter(rng.normal(0, 1, out.shape[:2]), 0.7)
    out = out + rng.uniform(0.5, 3.0) / 255 * (noise / noise.std())[..., None]
    return np.clip(out, 0, 1)


def _bilinear_up(low: np.ndarray) -> np.ndarray:
    """2x bilinear upsampling with half-pixel centres (as resize-convolution layers do)."""
    h, w = low.shape[:2]
    ys = np.clip((np.arange(2 * h) + 0.5) / 2 - 0.5, 0, h - 1)
    xs = np.clip((np.arange(2 * w) + 0.5) / 2 - 0.5, 0, w - 1)
    grid = np.meshgrid(ys, xs, indexing="ij")
    return np.stack(
        [ndimage.map_coordinates(low[..., ch], grid, order=1, mode="nearest") for ch in range(low.shape[2])], axis=-1
    )


def bilinear_noise(content: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Half-resolution synthesis, bilinear 2x upsampling, white per-channel noise."""
    out = _bilinear_up(_half(content))
    out = out + rng.uniform(1.0, 4.0) / 255 * rng.normal(0, 1, out.shape)
    return np.clip(out, 0, 1)


def diffusion(content: np.ndarray, rng: np.random.Generator, steps: int = 6) -> np.ndarray:
    """A few ancestral denoising steps from the content under strong noise (see the module docstring)."""
    sigmas = np.geomspace(rng.uniform(0.15, 0.3), rng.uniform(0.004, 0.012), steps)
    smooth = rng.uniform(0.8, 1.6)  # the denoiser's blur: how much fine texture it fails to restore
    h, w, _ = content.shape
    x = content + sigmas[0] * rng.normal(0, 1, content.shape)
    for t in range(1, steps):
        estimate = ndimage.gaussian_filter(x, sigma=(smooth, smooth, 0))
        guided = 0.6 * estimate + 0.4 * ndimage.gaussian_filter(content, sigma=(0.5 * smooth, 0.5 * smooth, 0))
        blob = ndimage.gaussian_filter(rng.normal(0, 1, (h, w)), 1.5)  # luminance-only, correlated
        x = guided + sigmas[t] * (blob / blob.std())[..., None]
    return np.clip(x, 0, 1)


GENERATORS: dict[str, Generator] = {
    "transposed_conv": transposed_conv,
    "bilinear_noise": bilinear_noise,
    "diffusion": diffusion,
}


def get_generator(name: str) -> Generator:
    """The generator called ``name``; a UserError lists the choices otherwise."""
    if name not in GENERATORS:
        raise UserError(f"invalid value for 'dataset.generator': {name!r}; allowed values: {', '.join(GENERATORS)}")
    return GENERATORS[name]


def make_image(label: int, seed: int, index: int, size: int, generator: str) -> tuple[np.ndarray, int]:
    """Pixels (uint8 RGB) and JPEG quality of image ``index`` of class ``label`` (1 real, 0 fake made
    by ``generator``); deterministic in (seed, label, index, size, generator). ``size`` must be even."""
    make = get_generator(generator)
    if size % 2:
        raise UserError(f"invalid value for 'dataset.image_size': {size}; the demo generators need an even size")
    rng = np.random.default_rng([seed, label, index])
    content = render_face(draw_scene(rng, size), size)
    pixels = camera_pipeline(content, rng) if label == 1 else make(content, rng)
    quality = int(rng.integers(75, 96))
    return np.round(pixels * 255).astype(np.uint8), quality
