"""Wall time of the README's main command: a fresh folder (dataset generated, latents extracted,
MLflow database created), then the same command again (cache warm).

    python benchmarks/bench_main_command.py            # the README grid: 6 jobs
    python benchmarks/bench_main_command.py --extra dataset.num_per_class.train=1000
    python benchmarks/bench_main_command.py --tiny     # at toy size (conf/debug/tiny.yaml): seconds

Both runs happen in one invocation, one after the other, in the same temporary folder.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_common import RESULTS, TINY

COMMAND = ["-m", "preprocess=flatten,single,multi", "bpp=6,12"]


def run(folder: Path, extra: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "jpegai_fd", *COMMAND, *extra], cwd=folder, capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"command failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return seconds, proc.stdout + proc.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extra", nargs="*", default=[], help="additional overrides")
    parser.add_argument("--tiny", action="store_true", help="at toy size (debug=tiny), a quick check of the script")
    args = parser.parse_args()
    args.extra = [*(TINY if args.tiny else []), *args.extra]
    folder = Path(tempfile.mkdtemp(prefix="bench_main_"))
    cold, log_cold = run(folder, args.extra)
    warm, log_warm = run(folder, args.extra)
    results = {
        "command": "python -m jpegai_fd " + " ".join(COMMAND + args.extra),
        "cold_s": cold,
        "warm_s": warm,
        "cold_over_warm": cold / warm,
        "result_lines": [line.split("RESULT ", 1)[1] for line in log_warm.splitlines() if "RESULT " in line],
    }
    print(f"fresh folder: {cold:.1f}s   second run (cache warm): {warm:.1f}s   ratio {cold / warm:.2f}")
    for line in results["result_lines"]:
        print("  ", line)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "main_command.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
