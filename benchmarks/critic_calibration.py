"""How well the Critic tells good steps from bad ones, on labelled steps over the task templates.

    .venv/bin/python benchmarks/critic_calibration.py [--model local] [--tasks task_templates] [--kinds correct,mistake]

For each task, the first step of a rollout (empty history) is put to the Critic exactly as a
rollout does (`Rollout._critique`, the shipped prompt and verdict schema), in labelled variants:
- correct steps it should accept: a look at the first folder the instruction names, and the
  reference solution's own script;
- correct-step intents it should reject: an unrelated command (`cal`), and a command that deletes
  the file the reasoning says it will read;
- mistakes it should accept: a missing tool (`tree`, a hallucination) and a misspelt option value
  (`ls --sort=sizee`, a command error);
- a "mistake" that is no mistake (a plain `ls -la`), which it should reject.
Prints one JSON line per case and the acceptance per label. No Docker: nothing is run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
from pathlib import Path

from termigen_harbor.agents.injection import ErrorCategory, Intent
from termigen_harbor.agents.parsing import Action
from termigen_harbor.agents.rollout import Rollout, RolloutOptions
from termigen_harbor.llm import Message, make_llm

CORRECT = Intent(error=False)


def first_paths(instruction: str) -> tuple[str, str]:
    """The first absolute path the instruction names in backticks, and its folder."""
    paths = re.findall(r"`(/[^`\s]+)`", instruction)
    path = paths[0] if paths else "/app"
    folder = path.rsplit("/", 1)[0] or "/" if re.search(r"\.\w+$", path) else path
    return path, folder


def cases(task: Path) -> list[tuple[str, Intent, bool, str, str]]:
    """(kind, intent, should be accepted, reasoning, command) for one task."""
    path, folder = first_paths((task / "instruction.md").read_text())
    solution = (task / "solution" / "solve.sh").read_text().split("set -euo pipefail", 1)[-1].strip()[:1200]
    hallucination, command_error = Intent(True, ErrorCategory.HALLUCINATION), Intent(True, ErrorCategory.COMMAND)
    return [
        ("correct: look", CORRECT, True, f"Before changing anything I want to see what is in {folder}.", f"ls -la {folder}"),
        ("correct: solution", CORRECT, True, "I know what the task needs; I will implement it now in one go.", solution),
        ("correct: unrelated", CORRECT, False, "Let me see what the calendar looks like this month.", "cal"),
        ("correct: deletes what it reads", CORRECT, False, f"I will read {path} to understand its contents.", f"rm -f {path}"),
        ("mistake: missing tool", hallucination, True, f"I want an overview of everything under {folder} before I start.", f"tree -L 2 {folder}"),
        ("mistake: bad option", command_error, True, f"Let me list {folder} sorted by size to spot the largest files.", f"ls -la --sort=sizee {folder}"),
        ("mistake: none", hallucination, False, f"Before changing anything I want to see what is in {folder}.", f"ls -la {folder}"),
    ]


async def main(model: str, tasks_dir: Path, kinds: set[str]) -> None:
    llm = make_llm(model, role="critic")
    rollout = Rollout(llm, shell=None, options=RolloutOptions(injection_rate=0.2), recorder=None)  # type: ignore[arg-type]
    tally: dict[str, list[int]] = {}
    for task in sorted(p for p in tasks_dir.iterdir() if (p / "instruction.md").is_file()):
        rollout.instruction = (task / "instruction.md").read_text()
        rollout.history = [Message(role="system", content=""), Message(role="user", content=rollout.instruction)]
        for kind, intent, label, reasoning, command in cases(task):
            if kind.split(":")[0] not in kinds:
                continue
            started = time.perf_counter()
            verdict = await rollout._critique(intent, False, Action(reasoning=reasoning, command=command))
            accepted = None if verdict is None else verdict.accept
            row = {"task": task.name, "kind": kind, "should_accept": label, "accepted": accepted, "seconds": round(time.perf_counter() - started, 1)}
            print(json.dumps(row | {"verdict": verdict.model_dump() if verdict else None}), flush=True)
            key = f"{kind.split(':')[0]} steps it should {'accept' if label else 'reject'}"
            tally.setdefault(key, [0, 0])
            tally[key][0] += accepted is label
            tally[key][1] += 1
    for key, (right, total) in tally.items():
        print(f"{key}: right on {right} of {total}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="local")
    parser.add_argument("--tasks", type=Path, default=Path("task_templates"))
    parser.add_argument("--kinds", default="correct,mistake")
    args = parser.parse_args()
    asyncio.run(main(args.model, args.tasks, set(args.kinds.split(","))))
