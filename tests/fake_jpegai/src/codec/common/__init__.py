"""Fake ``Image`` (components a, b, c as (1,1,H,W) tensors) and ``Decisions``."""

import torch


class Decisions(dict):
    pass


class Image:
    def __init__(self, a, b, c, data_range, bit_depth, color_space):
        self.a, self.b, self.c = a, b, c
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

    @property
    def shape(self):
        return self.a.shape
