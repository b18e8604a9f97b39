"""Perturbations applied to images before encoding (``conf/robustness/``): see :mod:`.base`."""

from jpegai_fd.perturb.base import PerturbedReader, Perturbation
from jpegai_fd.perturb.codec import CodecRecompress
from jpegai_fd.perturb.pixels import CenterCrop, GaussianBlur, GaussianNoise, JPEGRecompress, Rescale, jpeg_bytes

__all__ = ["CenterCrop", "CodecRecompress", "GaussianBlur", "GaussianNoise", "JPEGRecompress", "PerturbedReader"]
__all__ += ["Perturbation", "Rescale", "jpeg_bytes"]
