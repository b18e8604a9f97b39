"""The pixels of the demo dataset: a camera for reals, generators for fakes; the models, the ``legacy`` generator's
16-px trace and why: docs/concepts/offline-defaults.md."""

from collections.abc import Callable

import numpy as np
from scipy import ndimage

from jpegai_fd.errors import UserError

GENERATOR_VERSION = 2  # 2: one fixed generator per seed, traces of its earlier upsampling stages
TRACE_PERIOD = 16  # output pixels: the stage at 1/8 of the output size (16 = the latent grid's stride)
MAX_STAGE_GAIN = 0.12  # peak relative gain of that pattern (per image: 0.5 to 1 times this)
LEGACY = "legacy"
SKIN = np.array([[0.96, 0.80, 0.69], [0.88, 0.67, 0.52], [0.76, 0.55, 0.40], [0.55, 0.38, 0.26], [0.40, 0.27, 0.18]])
Generator = Callable[[np.ndarray, np.random.Generator], np.ndarray]
BILINEAR_TAPS = np.array([0.25, 0.75, 0.75, 0.25])


def render_face(params: dict, size: int) -> np.ndarray:
    """Render the scene ``params`` (from :func:`draw_scene`) at ``size`` x ``size``: float RGB in [0, 1]."""
    coords = (np.arange(size) + 0.5) / size
    x, y = np.meshgrid(coords, coords)
    soft = 1.5 / (size * 0.3)
    img = params["bg"][None, None, :] * (1 + 0.25 * (params["bg_grad"] * (x - 0.5)))[..., None]
    img = img + 0.08 * np.asarray(params["bg_tex"])[..., None]
    layers = (("hair", "hair_color"), ("head", "skin"), ("eye_l", "iris"), ("eye_r", "iris"), ("mouth", "lip"))
    for (cx, cy, rx, ry), color in ((params[shape], params[color]) for shape, color in layers):
        r = np.sqrt(((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2)  # soft ellipse: a ramp ``soft`` wide
        mask = np.clip((1 + soft - r) / (2 * soft), 0, 1)[..., None]
        img = img * (1 - mask) + mask * np.asarray(color)[None, None, :]
    light = 1 + params["light"] * ((x - 0.5) * params["light_dir"][0] + (y - 0.5) * params["light_dir"][1])
    return np.clip(img * light[..., None], 0, 1)


def draw_scene(rng: np.random.Generator, size: int) -> dict:
    """Random content parameters of one face; both classes use this same distribution."""
    cx, cy = 0.5 + rng.normal(0, 0.03), 0.53 + rng.normal(0, 0.03)
    rx, ry = rng.uniform(0.25, 0.32), rng.uniform(0.33, 0.40)
    eye_dx, eye_y = rng.uniform(0.09, 0.13), cy - ry * rng.uniform(0.15, 0.3)
    skin = SKIN[rng.integers(len(SKIN))] * rng.uniform(0.9, 1.1, 3)
    cells = int(rng.integers(4, 12))  # low-frequency background texture: random cells, cubic upsampling
    # One statement after another, in this order: the draws' order fixes every demo image.
    scene = {"bg": rng.uniform(0.1, 0.9, 3), "bg_grad": rng.normal(0, 1)}
    texture = ndimage.zoom(rng.uniform(-1, 1, (cells, cells)), size / cells, order=3, mode="nearest")
    scene["bg_tex"] = texture[:size, :size]
    scene["hair"] = (cx, cy - ry * rng.uniform(0.2, 0.4), rx * rng.uniform(1.0, 1.2), ry * rng.uniform(0.8, 1.0))
    scene |= {"hair_color": rng.uniform(0.02, 0.5) * rng.uniform(0.7, 1.0, 3), "head": (cx, cy, rx, ry)}
    scene["skin"] = np.clip(skin, 0, 1)
    for eye, dx in (("eye_l", -eye_dx), ("eye_r", eye_dx)):
        scene[eye] = (cx + dx, eye_y, rng.uniform(0.025, 0.04), rng.uniform(0.012, 0.022))
    scene["iris"] = rng.uniform(0.05, 0.45, 3)
    mouth = (cx + rng.normal(0, 0.01), cy + ry * rng.uniform(0.45, 0.6))
    scene["mouth"] = (*mouth, rng.uniform(0.06, 0.1), rng.uniform(0.015, 0.03))
    scene["lip"] = np.clip(skin * np.array([1.0, 0.6, 0.6]), 0, 1)
    return scene | {"light": rng.uniform(0, 0.5), "light_dir": rng.normal(0, 1, 2)}


def camera_pipeline(scene: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A camera's traces on a full-resolution scene: blur, RGGB mosaic, sensor noise, demosaicing."""
    blurred = ndimage.gaussian_filter(scene, sigma=(rng.uniform(0.3, 0.9),) * 2 + (0,))
    h, w, _ = scene.shape
    mask = np.zeros((h, w, 3))
    mask[0::2, 0::2, 0] = 1
    mask[0::2, 1::2, 1] = mask[1::2, 0::2, 1] = 1
    mask[1::2, 1::2, 2] = 1
    raw = (blurred * mask).sum(axis=2)
    read, shot = rng.uniform(0.5, 3.0) / 255, rng.uniform(0.0, 0.02)
    raw = raw + rng.normal(0, 1, raw.shape) * np.sqrt(read**2 + shot**2 * np.clip(raw, 0, 1))
    kernel_g = np.array([[0, 1, 0], [1, 4, 1], [0, 1, 0]]) / 4
    kernel_rb = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 4
    out = np.empty_like(scene)
    for c, kernel in enumerate((kernel_rb, kernel_g, kernel_rb)):
        out[..., c] = ndimage.convolve(raw * mask[..., c], kernel, mode="mirror")
    return np.clip(out, 0, 1)


def generator_weights(seed: int) -> dict:
    """The legacy generator's weights per dataset seed: ``taps`` perturb the last upsampling kernel per
    channel; ``phase_gains``: the 2x2 gains an earlier stride-2 stage leaves (period ``TRACE_PERIOD``)."""
    rng = np.random.default_rng([seed, 0x6A41])
    g = rng.normal(0, 1, (2, 2))
    g -= g.mean()
    return {"phase_gains": g / np.abs(g).max(), "taps": rng.normal(0, 0.12, (3, 4))}


def _transposed_upsample(img: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """Stride-2 transposed convolution, separable kernel ``taps[channel]`` (4 taps)."""
    h, w, c = img.shape
    up = np.zeros((2 * h, 2 * w, c))
    up[::2, ::2] = img * 4  # zero insertion; a 4-tap kernel summing to 2 per axis keeps the brightness
    out = np.empty_like(up)
    for ch in range(c):
        out[..., ch] = ndimage.convolve(up[..., ch], np.outer(taps[ch], taps[ch]) / 4, mode="mirror")
    return out


def stage_traces(size: int, phase_gains: np.ndarray) -> np.ndarray:
    """(size, size) gains in [-1, 1]: ``phase_gains`` repeated every ``TRACE_PERIOD`` pixels, slightly smoothed."""
    reps = size // TRACE_PERIOD + 1
    cells = np.kron(np.tile(phase_gains, (reps, reps)), np.ones((TRACE_PERIOD // 2, TRACE_PERIOD // 2)))
    trace = ndimage.uniform_filter(cells, TRACE_PERIOD // 8, mode="wrap")[:size, :size]
    return trace / max(np.abs(trace).max(), 1e-12)


def generator_pipeline(params: dict, size: int, rng: np.random.Generator, weights: dict) -> np.ndarray:
    """Half-resolution synthesis, uneven 2x transposed convolution, the earlier stage's periodic gains,
    sharpening and noise; strengths random per image."""
    img = render_face(params | {"bg_tex": ndimage.zoom(params["bg_tex"], 0.5, order=1)}, size // 2)
    img = _transposed_upsample(img, BILINEAR_TAPS + rng.uniform(0.05, 0.6) * weights["taps"])
    img = img * (1 + MAX_STAGE_GAIN * rng.uniform(0.5, 1.0) * stage_traces(size, weights["phase_gains"]))[..., None]
    blurred = ndimage.gaussian_filter(img, sigma=(1.0, 1.0, 0))
    img = img + rng.uniform(0.0, 0.8) * (img - blurred)
    noise = ndimage.gaussian_filter(rng.normal(0, 1, (size, size)), 0.7)
    img = img + rng.uniform(0.0, 3.0) / 255 * noise[..., None] / noise.std()
    return np.clip(img, 0, 1)


def _half(content: np.ndarray) -> np.ndarray:
    """2x2 mean: the content as a generator synthesising at half resolution would produce it."""
    h, w, c = content.shape
    return content.reshape(h // 2, 2, w // 2, 2, c).mean(axis=(1, 3))


def transposed_conv(content: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Half-resolution synthesis, uneven stride-2 transposed convolution, sharpening, correlated noise."""
    unevenness = rng.uniform(0.1, 0.6)
    taps = BILINEAR_TAPS + unevenness * rng.normal(0, 0.12, (3, 4))
    # Unequal phase sums (taps 0+2 vs 1+3) make the checkerboard; the total is kept at 2 so the
    # kernel does not also change brightness, which would be a colour cue, not an upsampling trace.
    out = _transposed_upsample(_half(content), taps * (2 / taps.sum(axis=1, keepdims=True)))
    out = out + rng.uniform(0.2, 0.8) * (out - ndimage.gaussian_filter(out, sigma=(1.0, 1.0, 0)))
    noise = ndimage.gaussian_filter(rng.normal(0, 1, out.shape[:2]), 0.7)
    out = out + rng.uniform(0.5, 3.0) / 255 * (noise / noise.std())[..., None]
    return np.clip(out, 0, 1)


def bilinear_noise(content: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Half-resolution synthesis, bilinear 2x upsampling (half-pixel centres), white per-channel noise."""
    low = _half(content)
    h, w = low.shape[:2]
    ys = np.clip((np.arange(2 * h) + 0.5) / 2 - 0.5, 0, h - 1)
    xs = np.clip((np.arange(2 * w) + 0.5) / 2 - 0.5, 0, w - 1)
    grid = np.meshgrid(ys, xs, indexing="ij")
    up = [ndimage.map_coordinates(low[..., ch], grid, order=1, mode="nearest") for ch in range(low.shape[2])]
    out = np.stack(up, axis=-1)
    out = out + rng.uniform(1.0, 4.0) / 255 * rng.normal(0, 1, out.shape)
    return np.clip(out, 0, 1)


def diffusion(content: np.ndarray, rng: np.random.Generator, steps: int = 6) -> np.ndarray:
    """A few DDPM-style ancestral denoising steps from the content under strong noise."""
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


GENERATORS: dict[str, Generator] = {f.__name__: f for f in (transposed_conv, bilinear_noise, diffusion)}


def get_generator(name: str) -> Generator:
    """The generator called ``name``; a UserError lists the choices otherwise."""
    if name not in GENERATORS:
        raise UserError(f"invalid value for 'dataset.generator': {name!r}; allowed values: {', '.join(GENERATORS)}")
    return GENERATORS[name]


def make_image(label: int, seed: int, index: int, size: int, generator: str = LEGACY) -> tuple[np.ndarray, int]:
    """Pixels (uint8 RGB) and JPEG quality of image ``index`` of class ``label`` (1 real, 0 fake), deterministic."""
    if generator != LEGACY:
        make = get_generator(generator)
        if size % 2:
            raise UserError(f"invalid value for 'dataset.image_size': {size}; the demo generators need an even size")
    rng = np.random.default_rng([seed, label, index])
    params = draw_scene(rng, size)
    if label == 1:
        pixels = camera_pipeline(render_face(params, size), rng)
    elif generator == LEGACY:
        pixels = generator_pipeline(params, size, rng, generator_weights(seed))
    else:
        pixels = make(render_face(params, size), rng)
    quality = int(rng.integers(75, 96))
    return np.round(pixels * 255).astype(np.uint8), quality
