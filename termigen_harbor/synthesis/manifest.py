"""`<out>/manifest.json`: every task with its stage, reason and usage, and the funnel (seeds, spec
passed, built, tests approved, gate passed) with tokens and seconds per stage and per accepted
task. Pure functions of the task states."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from termigen_harbor.files import write_atomic

STAGES = ("spec", "plan", "construct", "build", "verify")  # the order in which a task spends


class StageUsage(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    seconds: float = 0.0

    def __add__(self, other: StageUsage) -> StageUsage:
        return StageUsage(input_tokens=self.input_tokens + other.input_tokens, output_tokens=self.output_tokens + other.output_tokens,
                          cost_usd=self.cost_usd + other.cost_usd, seconds=round(self.seconds + other.seconds, 1))  # fmt: skip

    def per(self, n: int) -> StageUsage:
        return StageUsage(input_tokens=round(self.input_tokens / n), output_tokens=round(self.output_tokens / n),
                          cost_usd=self.cost_usd / n, seconds=round(self.seconds / n, 1))  # fmt: skip


class Funnel(BaseModel):
    seeds: int = 0
    spec_passed: int = 0
    built: int = 0
    tests_approved: int = 0
    gate_passed: int = 0

    def line(self) -> str:
        return " -> ".join(f"{name.replace('_', ' ')} {value}" for name, value in self)


class ManifestItem(BaseModel):
    id: str
    category: str
    seed: str
    stage: str
    reason: str | None = None
    error: str | None = None  # stopped mid-stage for a reason not its own: resumes there
    title: str | None = None
    bundle: str | None = None
    usage: dict[str, StageUsage] = Field(default_factory=dict)
    spec_scores: list[dict[str, int]] = Field(default_factory=list)


class Manifest(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    schema_version: int = 1  # raised when a field changes meaning or goes away
    taxonomy: str
    model: str
    wall_seconds_this_run: float
    stopped: str | None = None
    seed_failures: dict[str, str] = Field(default_factory=dict)  # category -> why no seeds were written for it
    tasks: int
    accepted: int
    errored: int = 0
    yield_: float | None = Field(default=None, alias="yield")
    by_stage: dict[str, int] = Field(default_factory=dict)
    funnel: Funnel = Field(default_factory=Funnel)
    usage_by_stage: dict[str, StageUsage] = Field(default_factory=dict)  # summed over every task
    usage_total: StageUsage = Field(default_factory=StageUsage)
    per_accepted_task: StageUsage | None = None  # everything spent, divided by the tasks accepted
    items: list[ManifestItem] = Field(default_factory=list)

    def write(self, path: Path) -> None:
        write_atomic(path, self.model_dump_json(indent=2, by_alias=True))


def funnel(items: list[ManifestItem], reached: dict[str, set[str]]) -> Funnel:
    """`reached` maps each funnel step to the ids of the tasks that got past it."""
    return Funnel(seeds=len(items), **{step: len(ids) for step, ids in reached.items()})


def usage_by_stage(items: list[ManifestItem]) -> dict[str, StageUsage]:
    totals: dict[str, StageUsage] = {}
    for item in items:
        for stage, usage in item.usage.items():
            totals[stage] = totals.get(stage, StageUsage()) + usage
    return {stage: totals[stage] for stage in sorted(totals, key=lambda s: STAGES.index(s) if s in STAGES else len(STAGES))}
