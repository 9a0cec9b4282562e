"""Synthesis wall time per accepted task, by stage, with a scripted model (no model latency),
and the build stage against a plain `docker build` of the same final Dockerfile, in one run.

    .venv/bin/python benchmarks/synthesis_stages.py [--tasks 2]

The scripted model is the one the pipeline test uses: one revised spec, one failed build then a
good one, weak tests caught by the gate, then strong ones.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import tempfile
import time
from pathlib import Path

from termigen_harbor.llm import LLM, ScriptedBackend
from termigen_harbor.synthesis.pipeline import Pipeline, SynthesisConfig
from termigen_harbor.taxonomy import load_taxonomy
from termigen_harbor.testing import SynthesisRoles


def plain_build_seconds(dockerfile: str, files: dict[str, str]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        for path, content in files.items():
            (Path(tmp) / path).write_text(content)
        (Path(tmp) / "Dockerfile").write_text(dockerfile)
        started = time.perf_counter()
        # --no-cache: rebuild the final Dockerfile's own layers, as the build stage had to (FROM stays local)
        subprocess.run(["docker", "build", "-q", "--no-cache", "-t", "termigen-bench-plain", tmp], check=True, capture_output=True)
        return time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=2, help="categories to synthesize one task each in")
    args = parser.parse_args()
    categories = ["data_etl", "algorithms", "software_dev", "sysadmin_devops"][: args.tasks]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for category in categories:
            out = Path(tmp) / category
            config = SynthesisConfig(out=out, categories=[category], per_category=1, k_lazy=1, max_gate_rounds=2)
            started = time.perf_counter()
            manifest = await Pipeline(LLM(ScriptedBackend(SynthesisRoles())), load_taxonomy("termigen"), config).run()
            wall = time.perf_counter() - started
            item = manifest.items[0]
            state = json.loads((out / ".work" / item.id / "state.json").read_text())
            final = state["build"]["attempts"][-1]
            plain = plain_build_seconds(final["dockerfile"], {"input.txt": "a b c\nd e\n"})
            rows.append({"category": category, "accepted": item.stage == "accepted", "wall_s": round(wall, 1),
                         "stages_s": {k: v.seconds for k, v in item.usage.items()},
                         "build_stage_s": item.usage["build"].seconds, "successful_build_attempt_s": final["seconds"],
                         "plain_docker_build_s": round(plain, 2), "build_stage_over_plain": round(item.usage["build"].seconds / plain, 1),
                         "successful_attempt_over_plain": round((final["seconds"] or 0) / plain, 1)})  # fmt: skip
    for row in rows:
        print(json.dumps(row))


if __name__ == "__main__":
    asyncio.run(main())
