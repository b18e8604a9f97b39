"""Fake of the software's ``src.codec``: ``get_downloader`` resolves a relative folder against the CWD."""

import os


def get_cfg_def_dir():
    return os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "cfg")


def get_downloader(models_dir_name="models", *args, **kwargs):
    from src.codec.utils import Downloader

    path = models_dir_name if os.path.isabs(models_dir_name) else os.path.join(os.getcwd(), models_dir_name)
    return Downloader(path, *args, **kwargs)
