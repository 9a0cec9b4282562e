"""The BashAgent's own overhead per step, against a bare `docker exec` of the same commands.

    .venv/bin/python benchmarks/agent_overhead.py [--commands 20]

The agent runs through the real runner and Harbor's Docker environment with the scripted
backend (no model latency), so its time per step is everything the agent and Harbor add: the
persistent shell, output capture, parsing, trajectory writing. The same commands are then run
with a bare `docker exec` in a container of the same image. Both in one run; the ratio is printed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path

from termigen_harbor.agents.collect import BASH_AGENT
from termigen_harbor.runner import RunSpec, run_job
from termigen_harbor.testing import make_bundle  # the small count-words task

COMMANDS = [
    "echo hello", "ls -la /app", "cat /etc/os-release | head -3", "python3 -c 'print(sum(range(1000)))'",
    "wc -w /app/input.txt", "mkdir -p /tmp/w && cd /tmp/w && pwd", "export X=1; echo $X", "seq 1 2000 | tail -1",
    "grep -c root /etc/passwd", "date +%Y", "uname -s", "df -h / | tail -1", "ps aux | wc -l", "true", "ls /nope",
    "printf 'a\\nb\\n' | sort -r", "head -c 100 /dev/urandom | wc -c", "env | grep -c PATH", "id -u", "echo done",
]  # fmt: skip


def agent_seconds_per_step(task: Path, commands: list[str], jobs: Path) -> float:
    replies = [f"Step {i}.\n```bash\n{c}\n```" for i, c in enumerate(commands)] + ["Done.\n```bash\necho TASK_COMPLETE\n```"]
    replies_file = jobs / "replies.json"
    replies_file.write_text(json.dumps(replies))
    outcome = run_job(RunSpec(tasks=[task], agent=BASH_AGENT, model=f"scripted:{replies_file}", agent_kwargs={"max_steps": len(replies)}, jobs_dir=jobs))
    trajectory = json.loads(outcome.trials[0].trajectory_path.read_text())
    stamps = [datetime.fromisoformat(s["timestamp"]) for s in trajectory["steps"] if s["source"] == "agent"]
    gaps = [(b - a).total_seconds() for a, b in zip(stamps, stamps[1:])]
    return statistics.mean(gaps[1:])  # the first gap includes nothing special, but skip warm-up anyway


def bare_seconds_per_step(commands: list[str], image: str = "termigen/base:bookworm") -> float:
    name = f"termigen-bench-{int(time.time())}"
    subprocess.run(["docker", "run", "-d", "--rm", "--name", name, image, "sleep", "600"], check=True, capture_output=True)
    try:
        subprocess.run(["docker", "exec", name, "true"], check=True)  # warm-up
        times = []
        for command in commands:
            started = time.perf_counter()
            subprocess.run(["docker", "exec", name, "bash", "-c", command], capture_output=True)
            times.append(time.perf_counter() - started)
        return statistics.mean(times)
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commands", type=int, default=len(COMMANDS))
    args = parser.parse_args()
    commands = (COMMANDS * 10)[: args.commands]
    with tempfile.TemporaryDirectory() as tmp:
        task = make_bundle("overhead").write(Path(tmp) / "tasks")
        agent = agent_seconds_per_step(task, commands, Path(tmp))
    bare = bare_seconds_per_step(commands)
    print(json.dumps({"steps": len(commands), "agent_s_per_step": round(agent, 3), "bare_docker_exec_s_per_step": round(bare, 3), "ratio": round(agent / bare, 2)}))


if __name__ == "__main__":
    main()
