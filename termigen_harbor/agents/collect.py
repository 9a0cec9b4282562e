"""Rollouts: the BashAgent (with error injection) over tasks through the one runner, summarized."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from termigen_harbor.agents.injection_stats import InjectionStats
from termigen_harbor.agents.rollout import RolloutReport
from termigen_harbor.agents.trajectory import recovery_problems
from termigen_harbor.runner import JobOutcome, RunSpec, run_job

BASH_AGENT = "termigen_harbor.agents:BashAgent"


class RolloutSummary(BaseModel):
    job_dir: Path
    n_trials: int
    n_passed: int
    n_errors: int
    pass_rate: float | None
    injected_errors: dict[str, int]
    injections_abandoned: int
    recoveries: int
    injection: InjectionStats  # the realized rate, per category, the Critic's acceptance, over every trial
    steps: int
    agent_seconds: float  # the agents' run time, all trials: with `steps`, the cost of a step
    input_tokens: int
    output_tokens: int
    trajectories: list[Path]
    ungrounded_recoveries: list[str]  # recoveries whose quoted evidence is not in the mistake's output (none expected)

    @property
    def seconds_per_step(self) -> float | None:
        return self.agent_seconds / self.steps if self.steps else None


def summarize(outcome: JobOutcome) -> RolloutSummary:
    injected: Counter[str] = Counter()
    recoveries = steps = abandoned = 0
    stats = []
    for trial in outcome.trials:
        report = RolloutReport.of(trial.agent_metadata)
        stats.append(report.injection)
        abandoned += report.n_injections_abandoned
        injected.update(report.injected_errors)
        recoveries += report.recoveries
        steps += report.steps
    verified = [t for t in outcome.trials if not t.errored]  # an errored trial is neither a pass nor a failure
    n_passed = sum(t.passed for t in verified)
    return RolloutSummary(
        job_dir=outcome.job_dir,
        n_trials=len(outcome.trials),
        n_passed=n_passed,
        n_errors=outcome.n_errors,
        pass_rate=(n_passed / len(verified)) if verified else None,
        injected_errors=dict(sorted(injected.items())),
        injections_abandoned=abandoned,
        recoveries=recoveries,
        injection=InjectionStats.total(stats),
        steps=steps,
        agent_seconds=sum(t.durations_sec.get("agent_execution") or 0.0 for t in outcome.trials),
        input_tokens=outcome.n_input_tokens,
        output_tokens=outcome.n_output_tokens,
        trajectories=[t.trajectory_path for t in outcome.trials if t.trajectory_path],
        ungrounded_recoveries=[f"{t.trial} {problem}" for t in outcome.trials for problem in _recovery_problems(t.trajectory_path)],
    )


def _recovery_problems(path: Path | None) -> list[str]:
    """recovery_problems of a saved trajectory; one that does not load as ATIF says so."""
    from harbor.models.trajectories import Trajectory
    from pydantic import ValidationError

    if path is None:
        return []
    try:
        return recovery_problems(Trajectory.model_validate_json(path.read_text()))
    except (OSError, ValidationError) as exc:
        return [f"{path} cannot be read as an ATIF trajectory: {str(exc).splitlines()[0]}"]


def run_rollouts(tasks: list[Path], model: str, agent_kwargs: dict[str, Any], n_attempts: int = 1, n_concurrent: int = 1,
                 env: str = "docker", jobs_dir: Path = Path("jobs/rollouts"), job_name: str | None = None,
                 agent_timeout_multiplier: float | None = None) -> tuple[JobOutcome, RolloutSummary]:  # fmt: skip
    outcome = run_job(RunSpec(tasks=tasks, agent=BASH_AGENT, model=model, agent_kwargs=agent_kwargs, n_attempts=n_attempts,
                              n_concurrent=n_concurrent, env=env, jobs_dir=jobs_dir, job_name=job_name,
                              agent_timeout_multiplier=agent_timeout_multiplier))  # fmt: skip
    return outcome, summarize(outcome)
