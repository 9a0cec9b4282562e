"""`termigen validate --static` against `harbor lint` on the same tasks, side by side in one run.

    .venv/bin/python benchmarks/validate_static_speed.py [TASK_DIR_OR_FOLDER ...]

Without arguments: our task templates plus the TerminalBench 1.x tasks converted under
jobs/eval/converted (run `termigen evaluate --dataset <TB folder> -a nop` once to make them).
Each command runs as a user runs it (a fresh process: imports included), three times; the
median wall time of each and their ratio are printed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from termigen_harbor.testing import TEMPLATES
from termigen_harbor.validate import discover

BIN = Path(sys.executable).parent


def seconds(command: list[str], repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(command, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*", type=Path)
    args = parser.parse_args()
    paths = args.paths or [TEMPLATES, *Path("jobs/eval/converted").glob("*")]
    tasks = [str(t) for t in discover(paths)]
    ours = seconds([str(BIN / "termigen"), "validate", "--static", *tasks])
    harbor = seconds([str(BIN / "harbor"), "lint", *tasks])
    print(json.dumps({"tasks": len(tasks), "termigen_validate_static_s": round(ours, 2), "harbor_lint_s": round(harbor, 2), "ratio": round(ours / harbor, 2)}))


if __name__ == "__main__":
    main()
