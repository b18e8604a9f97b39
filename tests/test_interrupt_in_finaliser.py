"""A Ctrl-C that lands inside a finaliser still interrupts the job, and prints nothing of its own."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import gc, os, signal, time
from jpegai_fd.tracking import interrupts

class Finalised:
    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)  # the handler runs at the next bytecode: still in here
        for _ in range(1000):
            pass

interrupts.install()
try:
    Finalised()  # dropped at once: __del__ runs and the signal lands inside it
    gc.collect()
    for _ in range(200):
        time.sleep(0.01)
    print("not interrupted")
except KeyboardInterrupt as exc:
    print("interrupted outside:", exc)
"""


def test_a_signal_inside_a_finaliser_is_raised_again_outside_it():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "interrupted outside: interrupted by SIGINT", proc.stdout + proc.stderr
    assert "Exception ignored" not in proc.stderr, proc.stderr
