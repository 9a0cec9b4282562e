"""Our BashAgent against Harbor's Terminus-2 with the same local model on the same tasks.

    .venv/bin/python benchmarks/bash_agent_vs_terminus.py [--model qwen2.5-coder-1.5b] [--max-steps 15] TASK...

One local model server serves both agents (BashAgent through TERMIGEN_LOCAL_BASE_URL,
Terminus-2 through litellm with api_base). Per task and agent: reward, steps (agent steps in
the ATIF trajectory), agent wall time, and input/output tokens.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from termigen_harbor.llm.local_server import LocalModelServer
from termigen_harbor.agents.collect import BASH_AGENT
from termigen_harbor.runner import RunSpec, TrialOutcome, run_job


def agent_steps(trial: TrialOutcome) -> int | None:
    if not trial.trajectory_path:
        return None
    return sum(s["source"] == "agent" for s in json.loads(trial.trajectory_path.read_text())["steps"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tasks", nargs="+", type=Path)
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--max-steps", type=int, default=15)
    parser.add_argument("--jobs-dir", type=Path, default=Path("jobs/bench-agents"))
    parser.add_argument("--agents", default="BashAgent,Terminus-2", help="which of the two to run")
    args = parser.parse_args()
    rows = []
    with LocalModelServer(args.model, say=print) as server:
        os.environ["TERMIGEN_LOCAL_BASE_URL"] = server.base_url
        os.environ.setdefault("OPENAI_API_KEY", "no-key-needed")  # litellm insists on a key; the local server needs none
        runs = {
            "BashAgent": RunSpec(tasks=args.tasks, agent=BASH_AGENT, model=f"local/{args.model}", agent_kwargs={"max_steps": args.max_steps}, n_concurrent=1, jobs_dir=args.jobs_dir),
            "Terminus-2": RunSpec(tasks=args.tasks, agent="terminus-2", model=f"openai/{args.model}", agent_kwargs={"api_base": server.base_url, "max_turns": args.max_steps}, n_concurrent=1, jobs_dir=args.jobs_dir),
        }  # fmt: skip
        for name, spec in runs.items():
            if name not in args.agents.split(","):
                continue
            for trial in run_job(spec).trials:
                rows.append({
                    "agent": name, "task": trial.task, "reward": trial.reward, "error": trial.exception_type,
                    "steps": agent_steps(trial), "agent_wall_s": trial.durations_sec.get("agent_execution"),
                    "input_tokens": trial.n_input_tokens, "output_tokens": trial.n_output_tokens,
                })  # fmt: skip
    print(f"{'agent':<11} {'task':<24} {'reward':>6} {'steps':>5} {'wall s':>7} {'tok in':>7} {'tok out':>7}")
    for r in rows:
        wall = f"{r['agent_wall_s']:.0f}" if r["agent_wall_s"] is not None else "-"
        print(f"{r['agent']:<11} {r['task']:<24} {str(r['reward']):>6} {str(r['steps']):>5} {wall:>7} {str(r['input_tokens']):>7} {str(r['output_tokens']):>7}")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
