"""`termigen synthesize`: taxonomy to verified Harbor task bundles, resumable.

Every task's progress lives in `<out>/.work/<task>/state.json`, written after each stage: run the
same command again after an interruption and finished stages are not redone and accepted tasks
are not lost. Seeds are kept per category in `<out>/.work/seeds-<category>.json`. Accepted tasks
are written as bundles in `<out>/<title>/` with their provenance (every prompt and reply per
stage, scores, rounds, build logs, gate results); `<out>/manifest.json` lists every task,
accepted or rejected with its reason, with tokens, cost and wall time per stage, the yield and
the funnel (seeds -> spec passed -> built -> tests approved -> gate passed).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, get_args

from harbor.models.dataset.manifest import DatasetInfo
from harbor.models.task.config import PackageInfo
from pydantic import BaseModel, Field, field_validator

from termigen_harbor.bundle import BundleError, BundleFile, TaskLabels
from termigen_harbor.data.task_dataset import DEFAULT_ORG, package_name, write_dataset_manifest
from termigen_harbor.files import exclusive, write_atomic
from termigen_harbor.leftovers import remove_orphans, remove_own
from termigen_harbor.runner import clear_leftovers_under
from termigen_harbor.images import BASE_IMAGE
from termigen_harbor.llm import LLM, BudgetExceeded, LLMError, ModelGone, RetryableError, TranscriptCall
from termigen_harbor.synthesis.build import BuildOutcome, build_until_ok
from termigen_harbor.synthesis.manifest import Manifest, ManifestItem, StageUsage, funnel, usage_by_stage
from termigen_harbor.synthesis.provenance import SynthesisProvenance
from termigen_harbor.synthesis.spec import SPEC_THRESHOLD, SpecOutcome, refine_spec, write_seeds
from termigen_harbor.synthesis.environment import PlannedFile, StageError, construct_files, plan_files
from termigen_harbor.synthesis.verify import VerifyOutcome, VerifyProgress, verify_task
from termigen_harbor.taxonomy import Category, Taxonomy

INTERRUPTED = "interrupted (Ctrl-C or SIGTERM)"  # the manifest then holds what was done so far; the same command goes on
MODEL_DOWN = "the model did not answer"  # how a run stopped by an unreachable model says so (the same command resumes it)
Stage = Literal["seeded", "specified", "environment", "built", "accepted", "rejected", "errored"]
RetryStage = Literal["spec", "plan", "build", "verify"]  # where a rejected task can be reopened (--retry-rejected)
RETRY_STAGES: tuple[str, ...] = get_args(RetryStage)


class SynthesisConfig(BaseModel):
    out: Path
    categories: list[str] | None = None  # default: every category of the taxonomy
    per_category: int = Field(default=1, ge=1)
    concurrency: int = Field(default=1, ge=1)
    env: str = "docker"
    org: str = DEFAULT_ORG  # accepted tasks are named <org>/<task> for Harbor's registry
    retry_rejected: RetryStage | None = None  # rejected tasks that reached this stage are reopened there on loading

    @field_validator("org")
    @classmethod
    def _org_is_a_registry_name(cls, org: str) -> str:
        if "/" in org or not DatasetInfo.is_valid_name_format(f"{org}/task"):
            raise ValueError(f"--org {org!r} is not a Harbor registry organization (letters, digits, '-', '_', '.'; no '/')")
        return org
    base_image: str = BASE_IMAGE
    threshold: int = Field(default=SPEC_THRESHOLD, ge=1, le=5)
    max_spec_rounds: int = Field(default=3, ge=1)
    max_build_iterations: int = Field(default=5, ge=1)
    k_lazy: int = Field(default=2, ge=0)
    max_gate_rounds: int = Field(default=3, ge=1)
    task_config: dict[str, Any] = Field(default_factory=lambda: {
        "agent": {"timeout_sec": 900}, "verifier": {"timeout_sec": 300},
        "environment": {"build_timeout_sec": 900, "cpus": 1, "memory_mb": 2048, "storage_mb": 4096},
    })  # fmt: skip


class TaskState(BaseModel):
    id: str
    category: str
    tier: int
    seed: str
    stage: Stage = "seeded"
    spec_outcome: SpecOutcome | None = None
    blueprint: list[PlannedFile] = Field(default_factory=list)
    files: dict[str, BundleFile] = Field(default_factory=dict)
    build: BuildOutcome | None = None
    verify: VerifyOutcome | None = None
    verifying: VerifyProgress | None = None  # the verification's work so far, while it has no outcome (or its gate trial errored): where it resumes
    reason: str | None = None
    error: str | None = None  # the run stopped inside this task's next stage for a reason not its own (the model did not answer)
    bundle_dir: Path | None = None
    usage: dict[str, StageUsage] = Field(default_factory=dict)  # stage -> tokens in/out, cost, seconds
    transcript: list[TranscriptCall] = Field(default_factory=list)


# each stage a rejected task can be reopened at, in order: whether the task reached it, the state it
# goes back to, and what that stage makes (cleared with what every later stage makes)
REOPENING: tuple[tuple[RetryStage, Callable[[TaskState], bool], str, dict[str, Any]], ...] = (
    ("spec", lambda _state: True, "seeded", {"spec_outcome": None}),
    ("plan", lambda state: bool(state.spec_outcome and state.spec_outcome.accepted), "specified", {"blueprint": [], "files": {}}),
    ("build", lambda state: bool(state.files), "environment", {"build": None}),
    ("verify", lambda state: bool(state.build and state.build.ok), "built", {"verify": None, "verifying": None}),
)


def reopened(state: TaskState, stage: RetryStage) -> TaskState:
    """A rejected task sent back to the start of `stage`, with what that stage and the later ones
    made cleared, when it reached that stage; otherwise as it was. Its usage so far is kept (a
    stage run again adds to it), so the manifest counts every attempt."""
    at = [row[0] for row in REOPENING].index(stage)
    _stage, reached, back_to, _made = REOPENING[at]
    if state.stage != "rejected" or not reached(state):
        return state
    cleared: dict[str, Any] = {"stage": back_to, "reason": None}
    for *_, made in REOPENING[at:]:
        cleared |= made
    return state.model_copy(update=cleared)


def why_not_built(build: BuildOutcome) -> str:
    last = build.attempts[-1].error if build.attempts else None
    tail = f": {last[-300:]}" if last else ""
    if build.reason:
        return f"{build.reason} (after {len(build.attempts)} failed builds{tail})"
    return f"never built in {len(build.attempts)} attempts{tail}"


class Progress:
    """Counts of tasks per stage, reported through a callback (the CLI draws them), and what a
    task's long stages (build, verification) are doing, through another."""

    def __init__(self, report: Callable[[dict[str, int]], None] | None = None, note: Callable[[str, str], None] | None = None):
        self.counts: dict[str, int] = {}
        self.report = report
        self.note = note

    def say(self, task_id: str, message: str) -> None:
        if self.note:
            self.note(task_id, message)

    def update(self, states: list[TaskState]) -> None:
        self.counts = {}
        for state in states:
            self.counts[state.stage] = self.counts.get(state.stage, 0) + 1
        if self.report:
            self.report(dict(self.counts))


class Pipeline:
    def __init__(self, llm: LLM, taxonomy: Taxonomy, config: SynthesisConfig, progress: Progress | None = None):
        self.llm = llm
        self.taxonomy = taxonomy
        self.config = config
        self.work = config.out / ".work"
        self.progress = progress or Progress()
        self.states: list[TaskState] = []
        self.stopped: str | None = None
        self.seed_failures: dict[str, str] = {}  # category -> why its seeds could not be written (the next run tries again)

    # ------------------------------------------------------------------ persistence
    def _state_path(self, task_id: str) -> Path:
        return self.work / task_id / "state.json"

    def save(self, state: TaskState) -> None:
        write_atomic(self._state_path(state.id), state.model_dump_json(indent=1))
        self.progress.update(self.states)

    def _categories(self) -> list[Category]:
        wanted = self.config.categories
        known = {c.id: c for c in self.taxonomy.categories}
        if wanted:
            unknown = [c for c in wanted if c not in known]
            if unknown:
                raise ValueError(f"unknown categories {', '.join(unknown)}: the taxonomy has {', '.join(known)}")
            return [known[c] for c in wanted]
        return self.taxonomy.categories

    def _existing_bundle_instructions(self) -> list[str]:
        return [p.read_text() for p in self.config.out.glob("*/instruction.md")]

    async def _seeds(self, category: Category) -> list[str]:
        """The category's seeds, written once and kept: a resumed run uses the same seeds."""
        path = self.work / f"seeds-{category.id}.json"
        if path.exists():
            return json.loads(path.read_text())
        existing = list(category.seeds) + self._existing_bundle_instructions()
        seeds, _dropped = await write_seeds(self.llm, category, self.config.per_category, existing)
        write_atomic(path, json.dumps(seeds, indent=1))
        return seeds

    async def load_or_seed(self) -> list[TaskState]:
        states = []
        for category in self._categories():
            try:
                seeds = await self._seeds(category)
            except (BudgetExceeded, RetryableError, ModelGone):
                raise
            except LLMError as exc:  # the model never wrote usable seeds for this category: the others go on
                self.seed_failures[category.id] = str(exc).split("\n--- last reply ---")[0][:600]
                continue
            for i, seed in enumerate(seeds):
                task_id = f"{category.id}-{i + 1:03d}"
                path = self._state_path(task_id)
                state = TaskState.model_validate_json(path.read_text()) if path.exists() else TaskState(
                    id=task_id, category=category.id, tier=self.taxonomy.tier_of(category.id), seed=seed)  # fmt: skip
                states.append(reopened(state, self.config.retry_rejected) if self.config.retry_rejected else state)
        return states

    # ------------------------------------------------------------------ one task
    async def _stage(self, state: TaskState, name: str, llm: LLM, work) -> Any:
        """The stage's tokens, time and model calls are kept whether it ends well or not: a
        rejected task's record shows the calls that failed it, and the funnel counts their cost."""
        started, mark = time.monotonic(), len(llm.records)
        try:
            return await work
        finally:
            usage = llm.usage_since(mark)
            state.usage[name] = state.usage.get(name, StageUsage()) + StageUsage(  # a stage run again (reopened, or after an errored gate) adds to its usage
                input_tokens=usage.input_tokens, output_tokens=usage.output_tokens, cost_usd=usage.cost_usd or 0.0, seconds=round(time.monotonic() - started, 1))
            state.transcript = list(llm.transcript or [])

    async def run_task(self, state: TaskState) -> None:
        category = next(c for c in self.taxonomy.categories if c.id == state.category)
        llm = self.llm.fork()
        llm.transcript = list(state.transcript)
        jobs = self.work / state.id / "jobs"

        def say(message: str) -> None:
            self.progress.say(state.id, message)

        if state.stage == "errored":  # a gate trial errored last time: no verdict yet, so verify again
            state.stage, state.reason = "built", None
        state.error = None
        try:
            if state.stage == "seeded":
                state.spec_outcome = await self._stage(state, "spec", llm, refine_spec(llm, state.seed, category, self.config.threshold, self.config.max_spec_rounds))
                state.stage, state.reason = ("specified", None) if state.spec_outcome.accepted else ("rejected", f"spec: {state.spec_outcome.reason}")
                self.save(state)
            spec = state.spec_outcome.spec if state.spec_outcome else None
            if state.stage == "specified":
                state.blueprint = await self._stage(state, "plan", llm, plan_files(llm, spec))
                state.files = await self._stage(state, "construct", llm, construct_files(llm, spec, state.blueprint))
                state.stage = "environment"
                self.save(state)
            if state.stage == "environment":
                state.build = await self._stage(state, "build", llm, build_until_ok(llm, spec, state.blueprint, state.files, jobs, self.config.max_build_iterations, self.config.base_image, self.config.env, say=say))
                state.stage, state.reason = ("built", None) if state.build.ok else ("rejected", f"build: {why_not_built(state.build)}")
                self.save(state)
            if state.stage == "built":
                config = {**self.config.task_config, "metadata": TaskLabels(category=state.category, tier=state.tier, difficulty=spec.difficulty, tags=[state.category]).model_dump()}

                def checkpoint(progress: VerifyProgress) -> None:
                    state.verifying = progress
                    self.save(state)

                state.verify = await self._stage(state, "verify", llm, verify_task(llm, spec, state.files, state.build.dockerfile, config, jobs, self.config.k_lazy, self.config.max_gate_rounds,
                                                                                   self.config.env, category=state.category, say=say, progress=state.verifying, checkpoint=checkpoint))  # fmt: skip
                if not state.verify.errored:  # an errored gate trial is tried again from the last progress saved
                    state.verifying = None
                if state.verify.accepted:
                    state.bundle_dir = self._write_bundle(state)
                    state.stage = "accepted"
                elif state.verify.errored:
                    state.stage, state.reason = "errored", f"gate: {state.verify.reason}"
                else:
                    state.stage, state.reason = "rejected", f"gate: {state.verify.reason}"
                self.save(state)
        except BudgetExceeded as exc:
            self.stopped = f"budget: {exc}"
            self.save(state)
        except (RetryableError, ModelGone) as exc:  # the endpoint is down, hung or gone: no verdict on the task, which resumes at this stage
            self.stopped = f"{MODEL_DOWN}: {exc}"
            state.error = f"{MODEL_DOWN} during the stage after '{state.stage}'"
            self.save(state)
        except (StageError, BundleError, LLMError) as exc:
            state.stage, state.reason = "rejected", f"{type(exc).__name__}: {exc}"
            self.save(state)

    def _write_bundle(self, state: TaskState) -> Path:
        bundle = state.verify.bundle
        provenance = SynthesisProvenance(
            created_at=datetime.now(timezone.utc).isoformat(), model=self.llm.model, seed=state.seed, spec_rounds=state.spec_outcome.rounds,
            blueprint=state.blueprint, build_attempts=state.build.attempts, test_rounds=state.verify.test_rounds, gate_rounds=state.verify.rounds,
            disputes=state.verify.disputes, transcript=state.transcript, usage=state.usage,
        )  # fmt: skip
        name = bundle.name
        if (self.config.out / name).exists():
            name = f"{name}-{state.id}"
        package = PackageInfo(name=package_name(self.config.org, name), description=state.spec_outcome.spec.title, keywords=[state.category])
        config = bundle.config.model_copy(update={"task": package})  # Harbor's registry name: the folder is a Harbor dataset
        return bundle.model_copy(update={"name": name, "config": config, "provenance": provenance}).write(self.config.out)

    # ------------------------------------------------------------------ the run
    async def run(self) -> Manifest:
        """Raises FolderBusy when another run is writing to the same output folder."""
        with exclusive(self.config.out / ".termigen.lock", f"the synthesis output {self.config.out}"):
            return await self._run()

    async def _run(self) -> Manifest:
        started = time.monotonic()
        self.config.out.mkdir(parents=True, exist_ok=True)
        if self.config.env == "docker":
            await asyncio.to_thread(clear_leftovers_under, self.work)  # what a killed run left on Docker
            await asyncio.to_thread(remove_orphans)
        try:
            self.states = await self.load_or_seed()
        except BudgetExceeded as exc:
            self.stopped = f"budget: {exc}"
        except (RetryableError, ModelGone) as exc:
            self.stopped = f"{MODEL_DOWN}: {exc}"
        self.progress.update(self.states)
        semaphore = asyncio.Semaphore(self.config.concurrency)

        async def guarded(state: TaskState) -> None:
            async with semaphore:
                if not self.stopped and state.stage not in ("accepted", "rejected"):
                    await self.run_task(state)

        try:
            await asyncio.gather(*(guarded(s) for s in self.states))
        except asyncio.CancelledError:  # Ctrl-C or SIGTERM: the manifest of what is done so far, then stop
            self.stopped = self.stopped or INTERRUPTED
            self.write_manifest(time.monotonic() - started)
            if self.config.env == "docker":
                remove_own()  # what the threads still running wait on: they then return, and the process can exit
            raise
        return self.write_manifest(time.monotonic() - started)

    def write_manifest(self, seconds: float) -> Manifest:
        items = [ManifestItem(id=s.id, category=s.category, seed=s.seed, stage=s.stage, reason=s.reason, error=s.error,
                              title=s.spec_outcome.spec.title if s.spec_outcome and s.spec_outcome.spec else None,
                              bundle=str(s.bundle_dir) if s.bundle_dir else None, usage=s.usage,
                              spec_scores=[r.evaluation.model_dump(exclude={"feedback"}) for r in s.spec_outcome.rounds] if s.spec_outcome else [])
                 for s in self.states]  # fmt: skip
        reached = {
            "spec_passed": {s.id for s in self.states if s.spec_outcome and s.spec_outcome.accepted},
            "built": {s.id for s in self.states if s.build and s.build.ok},
            "tests_approved": {s.id for s in self.states if s.verify and any(r.approved for r in s.verify.test_rounds)},
            "gate_passed": {s.id for s in self.states if s.stage == "accepted"},
        }
        by_stage = usage_by_stage(items)
        total = sum(by_stage.values(), StageUsage())
        accepted = len(reached["gate_passed"])
        manifest = Manifest(
            taxonomy=self.taxonomy.name, model=self.llm.model, wall_seconds_this_run=round(seconds, 1), stopped=self.stopped, seed_failures=self.seed_failures,
            tasks=len(self.states), accepted=accepted, errored=sum(s.stage == "errored" or bool(s.error) for s in self.states),
            yield_=round(accepted / len(self.states), 3) if self.states else None, by_stage=dict(self.progress.counts),
            funnel=funnel(items, reached), usage_by_stage=by_stage, usage_total=total,
            per_accepted_task=total.per(accepted) if accepted else None, items=items,
        )  # fmt: skip
        manifest.write(self.config.out / "manifest.json")
        write_dataset_manifest(self.config.out, self.config.org, f"Terminal tasks synthesized by termigen-harbor ({self.taxonomy.name} taxonomy, {self.llm.model})")
        return manifest
