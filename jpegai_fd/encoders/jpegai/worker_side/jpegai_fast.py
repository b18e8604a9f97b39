"""The latents-only fast path: wrappers put around the reference software's objects at run time.

Runs inside the software's interpreter (standard library and torch only; no code of the software is
copied, only its objects are wrapped). What the rate search (the software's bitrate matcher) does per
image, and what this changes:

* It codes the image with each of the 4 base models at rate offset 0, then bisects the offset of the
  closest model, then the engine codes the image once more with the chosen model and offset. Every
  fresh candidate runs the base model's analysis transform, although its output depends only on the
  image and the model (6 runs for 4 distinct results), and every candidate runs the hyper-decoder and
  hyper-scale-decoder on a ``z_hat`` that does not change with the offset. ``ForwardMemo`` keeps, for
  one image, the output of those pure nets per exact input: an identical input (compared with
  ``torch.equal``) returns a copy of the stored output, any other input runs the net.
* A candidate within the rate tolerance is decoded to an image for a distortion figure. The search
  only tests that figure against infinity (``inf`` marks a candidate out of tolerance, decided by its
  bits), never against another candidate's, so the synthesis nets are replaced by zeros: the decoder
  side still runs (hyper-decoding, context decoding, LSBS), because it writes ``y_hat`` and the state
  later candidates read, only the picture is not made. The post-filters, which only change the
  reconstruction, are skipped.

The chosen model, rate offset and every tensor read from the decisions are therefore those of the
reference path; the benchmark and the tests compare both bit for bit.
"""

import torch

SYNTHESIS_NOTE = "fast path: synthesis skipped"


def _same(a, b):
    """Exact equality of call arguments (tensors: dtype, shape, device and every value)."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return (
            isinstance(a, torch.Tensor)
            and isinstance(b, torch.Tensor)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and a.device == b.device
            and torch.equal(a, b)
        )
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _copy(value):
    """A copy the caller may modify in place without touching the stored one."""
    if isinstance(value, torch.Tensor):
        return value.clone()
    if isinstance(value, (list, tuple)):
        return type(value)(_copy(v) for v in value)
    if isinstance(value, dict):
        return type(value)((k, _copy(v)) for k, v in value.items())
    return value


class ForwardMemo:
    """Per-image memo of pure nets: ``wrap(module, kind)`` replaces ``module.forward``; ``clear()``."""

    def __init__(self):
        self.entries = {}
        self.runs = {}  # kind -> forward passes actually computed since the last clear
        self.hits = {}  # kind -> forward passes answered from the memo

    def wrap(self, module, kind):
        original = module.forward
        slot = id(module)
        self.runs.setdefault(kind, 0)
        self.hits.setdefault(kind, 0)

        def forward(*args, **kwargs):
            for stored_args, stored_kwargs, stored_out in self.entries.get(slot, ()):
                if _same(stored_args, args) and _same(stored_kwargs, kwargs):
                    self.hits[kind] += 1
                    return _copy(stored_out)
            out = original(*args, **kwargs)
            self.runs[kind] += 1
            self.entries.setdefault(slot, []).append((_copy(args), _copy(kwargs), _copy(out)))
            return out

        module.forward = forward

    def clear(self):
        self.entries.clear()
        for counts in (self.runs, self.hits):
            for kind in counts:
                counts[kind] = 0

    def stats(self):
        return {"runs": dict(self.runs), "hits": dict(self.hits)}


def _no_synthesis(branch):
    """Replace a branch's synthesis net by zeros of the picture's shape (see the module docstring)."""
    channels = int(branch.chs_input)

    def forward(y_hat, h, w, *args, **kwargs):
        return torch.zeros((y_hat.shape[0], channels, int(h), int(w)), dtype=torch.float32, device=y_hat.device)

    branch.decoder.forward = forward


def _first_image(images, *args, **kwargs):
    return images


def base_models(ce):
    """The base-model objects (one per trained model) of the core model: ``ce.model.get_tool().tools``."""
    core = ce.model.get_tool()
    tools = getattr(core, "tools", None)
    if not tools:
        raise AttributeError("the core model %r has no sub-models ('tools')" % type(core).__name__)
    return list(tools)


def install(ce):
    """Wrap the engine ``ce`` in place for latent extraction; returns the memo (clear it per image)."""
    memo = ForwardMemo()
    for tool in base_models(ce):
        for branch in (tool.model_y, tool.model_uv):
            memo.wrap(branch.encoder, "analysis")
            common = branch.common_modules
            memo.wrap(common.hyper_encoder, "hyper_encoder")
            memo.wrap(common.hyper_decoder, "hyper_decoder")
            memo.wrap(common.hyper_scale_decoder, "hyper_scale_decoder")
            _no_synthesis(branch)
    ce.post_filters.compress = _first_image
    ce.post_filters.decompress = _first_image
    return memo
