"""The run as an ATIF trajectory (Harbor's models), rewritten after every step so that a run cut
short by a timeout keeps everything up to its last step."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from harbor.models.trajectories import (
    Agent,
    FinalMetrics,
    Metrics,
    Observation,
    ObservationResult,
    Step,
    ToolCall,
    Trajectory,
)

from termigen_harbor.files import write_atomic
from termigen_harbor.llm import Usage


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat()


class TrajectoryRecorder:
    def __init__(self, path: Path, session_id: str | None, agent: Agent):
        self.path = Path(path)
        self.session_id = session_id
        self.agent = agent
        self.steps: list[Step] = []

    def _add(self, **fields: Any) -> Step:
        step = Step(step_id=len(self.steps) + 1, timestamp=_now(), **fields)
        self.steps.append(step)
        return step

    def add_system(self, text: str) -> None:
        self._add(source="system", message=text)

    def add_user(self, text: str) -> None:
        self._add(source="user", message=text)

    def add_agent(
        self,
        message: str,
        reasoning: str | None,
        command: str | None,
        observation: str | None,
        usage: Usage,
        model_name: str | None,
        labels: dict[str, Any],
    ) -> Step:
        step_id = len(self.steps) + 1
        call_id = f"call_{step_id}"
        tool_calls = [ToolCall(tool_call_id=call_id, function_name="bash", arguments={"command": command})] if command is not None else None
        results = [ObservationResult(source_call_id=call_id if command is not None else None, content=observation)] if observation is not None else None
        return self._add(
            source="agent",
            model_name=model_name,
            message=message,
            reasoning_content=reasoning or None,
            tool_calls=tool_calls,
            observation=Observation(results=results) if results else None,
            metrics=Metrics(prompt_tokens=usage.input_tokens, completion_tokens=usage.output_tokens, cached_tokens=usage.cache_read_tokens, cost_usd=usage.cost_usd),
            extra=labels,
        )

    def write(self, total: Usage, summary: dict[str, Any]) -> None:
        """Validates the whole trajectory with Harbor's model and replaces the file atomically."""
        if not self.steps:
            return
        trajectory = Trajectory(
            session_id=self.session_id,
            agent=self.agent,
            steps=self.steps,
            final_metrics=FinalMetrics(
                total_prompt_tokens=total.input_tokens,
                total_completion_tokens=total.output_tokens,
                total_cached_tokens=total.cache_read_tokens,
                total_cost_usd=total.cost_usd,
                total_steps=len(self.steps),
                extra=summary,
            ),
        )
        write_atomic(self.path, trajectory.model_dump_json(indent=2, exclude_none=True))


def recovery_problems(trajectory: Trajectory) -> list[str]:
    """Recovery steps of a saved trajectory whose diagnosis quotes nothing that exists in the
    output of the mistake they repair (the last executed mistake before them): empty when every
    recovery is grounded."""
    from termigen_harbor.agents.step_checks import quoted_evidence

    problems: list[str] = []
    mistake_output: str | None = None
    for step in trajectory.steps:
        labels = step.extra or {}
        output = step.observation.results[0].content if step.observation and step.observation.results else None
        if labels.get("intent") == "error" and labels.get("feedback_observed"):
            mistake_output = output
        elif labels.get("repair_abandoned"):
            mistake_output = None  # that mistake was left unrepaired
        elif labels.get("recovery"):
            quote = labels.get("evidence")
            if mistake_output is None or not quote or quote not in mistake_output:
                problems.append(f"step {step.step_id}: its diagnosis quotes {quote!r}, which is not in the mistake's output")
            elif quoted_evidence(step.reasoning_content or step.message, mistake_output) is None:
                problems.append(f"step {step.step_id}: its reasoning does not repeat the mistake's output")
            if labels.get("repaired") or labels.get("unrepaired"):
                mistake_output = None
    return problems
