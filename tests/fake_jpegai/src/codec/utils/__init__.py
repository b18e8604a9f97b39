"""Fake ``Downloader``: only looks files up; a missing one is None unless critical (then exit -200)."""

import os
import sys


class Downloader:
    def __init__(self, models_dir, critical_for_file_absence=False):
        self.models_dir = models_dir
        self.critical_for_file_absence = critical_for_file_absence

    def get_file_path(self, model_name, file_name):
        path = os.path.join(self.models_dir, model_name, file_name)
        if not os.path.exists(path):
            if self.critical_for_file_absence:
                print("CRITICAL: cannot find file %s in model %s" % (file_name, model_name))
                sys.exit(-200)
            return None
        return path
