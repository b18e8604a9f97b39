"""Fake ``Image`` (``components`` a, b, c as (1,1,H,W) tensors, ``get_tensor``), ``Decisions`` and ``TensorOps``."""

import hashlib

import torch


class TensorOps:
    @staticmethod
    def get_hash(tensor):  # as the real one: md5 of the bytes, for the log's "control points"
        return hashlib.md5(tensor.detach().contiguous().cpu().numpy()).hexdigest()


class Decisions(dict):
    pass


class Image:
    def __init__(self, a, b, c, data_range, bit_depth, color_space):
        self.components = {"a": a, "b": b, "c": c}
        self.data_range, self.bit_depth, self.color_space = data_range, bit_depth, color_space
        self.input_file = None
        self.format = 444

    @classmethod
    def create_from_tensor(cls, tensor, data_range, bit_depth, color_space):
        assert tensor.dim() == 4 and tensor.shape[:2] == (1, 3) and tensor.dtype == torch.float32
        return cls(tensor[:, 0:1], tensor[:, 1:2], tensor[:, 2:3], list(data_range), bit_depth, color_space)

    @classmethod
    def read_file(cls, path):
        if not path.endswith((".png", ".yuv")):
            raise NotImplementedError(path)
        raise NotImplementedError("the fake reads no files")

    def get_tensor(self):
        assert self.format == 444
        return torch.cat([self.components[k] for k in "abc"], 1)

    @property
    def shape(self):
        return self.components["a"].shape
