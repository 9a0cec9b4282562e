"""Stage 3b (validation): tests with a Judge, a reference solution, and the gate.

The gate, on the real engine through the runner: the reference solution scores 1 (oracle), the
untouched container scores 0 (nop), K lazy shortcut solutions written by an adversary each score
0, and one independently written solution scores 1. Each failure goes back, with its evidence,
to the stage that must change (the tests or the solution), for a bounded number of rounds."""

from __future__ import annotations

import asyncio
import tempfile
from importlib import resources
from pathlib import Path
from typing import Literal

from harbor.models.task.config import TaskConfig
from pydantic import BaseModel, Field

from termigen_harbor.bundle import BundleFile, TaskBundle
from termigen_harbor.llm import LLM
from termigen_harbor.prompts import render
from termigen_harbor.runner import RunSpec, TrialOutcome, run_job
from termigen_harbor.synthesis.stage1 import TaskSpec
from termigen_harbor.synthesis.stage2 import FileContent
from termigen_harbor.verifier_sandbox import describe, sandbox_for_outputs

STANDARD_TEST_SH = resources.files("termigen_harbor.bundle_data").joinpath("test.sh").read_text()
FILE_PREVIEW = 2000  # characters of each environment file shown to the writers


class Verdict(BaseModel):
    approve: bool
    problems: list[str] = Field(default_factory=list)


class LazySolution(BaseModel):
    idea: str
    script: str


class LazySolutions(BaseModel):
    solutions: list[LazySolution] = Field(min_length=1)


class Problem(BaseModel):
    stage: Literal["tests", "solution"]
    reason: str


class GateResult(BaseModel):
    oracle: float | None = None
    nop: float | None = None
    lazy: list[tuple[str, float | None]] = Field(default_factory=list)
    alternative: float | None = None
    problems: list[Problem] = Field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


def environment_text(files: dict[str, BundleFile], dockerfile: str) -> str:
    parts = [f"--- Dockerfile\n{dockerfile}"]
    for path, file in sorted(files.items()):
        text = file.content.decode(errors="replace")
        parts.append(f"--- {path}\n{text[:FILE_PREVIEW]}{' [...]' if len(text) > FILE_PREVIEW else ''}")
    return "\n".join(parts)


async def generate_tests(llm: LLM, spec: TaskSpec, environment: str, judge: LLM | None = None, max_rounds: int = 3,
                         feedback: str | None = None, previous: str | None = None) -> tuple[str, list[dict]]:  # fmt: skip
    """Test Generator, then Judge, until approved or out of rounds. Returns the last tests and every round."""
    rounds: list[dict] = []
    tests = previous or ""
    for _ in range(max_rounds):
        prompt = render("test_generator", spec=spec.as_text(), environment=environment, sandbox=describe(sandbox_for_outputs(TaskConfig(), spec.outputs)), feedback=feedback, previous=previous)
        tests = (await llm.structured(prompt, FileContent, purpose="test_generator")).content
        verdict = await (judge or llm).structured(render("judge", spec=spec.as_text(), tests=tests), Verdict, purpose="judge")
        rounds.append({"tests": tests, "approved": verdict.approve, "problems": verdict.problems})
        if verdict.approve:
            break
        feedback, previous = "\n".join(f"- {p}" for p in verdict.problems) or "the judge did not approve", tests
    return tests, rounds


async def write_solution(llm: LLM, spec: TaskSpec, environment: str, feedback: str | None = None, previous: str | None = None) -> str:
    return (await llm.structured(render("solution_writer", spec=spec.as_text(), environment=environment, feedback=feedback, previous=previous), FileContent, purpose="solution_writer")).content


async def lazy_solutions(llm: LLM, spec: TaskSpec, environment: str, k: int) -> list[LazySolution]:
    return (await llm.structured(render("lazy_solutions", spec=spec.as_text(), environment=environment, k=k), LazySolutions, purpose="adversary")).solutions[:k]


async def alternative_solution(llm: LLM, spec: TaskSpec, environment: str) -> str:
    return (await llm.structured(render("alternative_solution", spec=spec.as_text(), environment=environment), FileContent, purpose="alternative_solution")).content


def with_solution(bundle: TaskBundle, name: str, script: str) -> TaskBundle:
    return bundle.model_copy(update={"name": name, "solution": {"solve.sh": BundleFile.text(script, executable=True)}})


def _evidence(trial: TrialOutcome | None) -> str:
    if trial is None:
        return "the trial did not run"
    if trial.errored:
        return f"{trial.exception_type}: {(trial.exception_message or '')[-800:]}"
    failed = [t.name.rsplit("::", 1)[-1] + (f" ({t.message})" if t.message else "") for t in trial.tests if t.outcome in ("failed", "error")]
    passed = [t.name.rsplit("::", 1)[-1] for t in trial.tests if t.outcome == "passed"]
    return f"reward {trial.reward}; failing tests: {'; '.join(failed) or 'none'}; passing tests: {', '.join(passed) or 'none'}"


def run_gate(bundle: TaskBundle, lazies: list[LazySolution], alternative: str | None, jobs_dir: Path, env: str = "docker", n_concurrent: int = 2) -> GateResult:
    """Two jobs: the oracle over the reference, each lazy variant and the alternative; the nop
    agent over the untouched task. Problems name the stage to send back to, with the evidence."""
    name = bundle.name
    variants = [bundle] + [with_solution(bundle, f"{name}--lazy-{i + 1}", lazy.script) for i, lazy in enumerate(lazies)]
    if alternative is not None:
        variants.append(with_solution(bundle, f"{name}--alternative", alternative))
    with tempfile.TemporaryDirectory(prefix="termigen-gate-") as tmp:
        tasks = [variant.write(Path(tmp)) for variant in variants]
        oracle = {t.task: t for t in run_job(RunSpec(tasks=tasks, agent="oracle", env=env, jobs_dir=jobs_dir, n_concurrent=n_concurrent)).trials}
        nop = run_job(RunSpec(tasks=tasks[:1], agent="nop", env=env, jobs_dir=jobs_dir)).trials
    result = GateResult()
    reference = oracle.get(name)
    result.oracle = reference.reward if reference else None
    if not (reference and reference.passed):
        result.problems.append(Problem(stage="solution", reason=f"the reference solution does not pass the tests: {_evidence(reference)}"))
    result.nop = nop[0].reward if nop else None
    if nop and (nop[0].reward or 0) > 0:
        result.problems.append(Problem(stage="tests", reason=f"the tests pass on the untouched container: {_evidence(nop[0])}"))
    for i, lazy in enumerate(lazies):
        trial = oracle.get(f"{name}--lazy-{i + 1}")
        result.lazy.append((lazy.idea, trial.reward if trial else None))
        if trial and (trial.reward or 0) > 0:
            result.problems.append(Problem(stage="tests", reason=f"a lazy solution passes ({lazy.idea}): make the tests reject it. Its script:\n{lazy.script}"))
    if alternative is not None:
        trial = oracle.get(f"{name}--alternative")
        result.alternative = trial.reward if trial else None
        if not (trial and trial.passed) and reference and reference.passed:
            result.problems.append(Problem(stage="tests", reason=f"an independent correct solution fails the tests (overfitted to the reference?): {_evidence(trial)}"))
    return result


def assemble(spec: TaskSpec, files: dict[str, BundleFile], dockerfile: str, tests: str, solution: str, config: dict) -> TaskBundle:
    return TaskBundle(
        name=spec.title,
        instruction=spec.objective + "\n\nOutputs:\n" + "\n".join(f"- {o}" for o in spec.outputs) + "\n",
        config=sandbox_for_outputs(TaskConfig.model_validate(config), spec.outputs),
        environment={**files, "Dockerfile": BundleFile.text(dockerfile)},
        solution={"solve.sh": BundleFile.text(solution, executable=True)},
        tests={"test.sh": BundleFile.text(STANDARD_TEST_SH, executable=True), "test_outputs.py": BundleFile.text(tests)},
    )


class VerifyOutcome(BaseModel):
    accepted: bool
    bundle: TaskBundle | None = None
    rounds: list[dict] = Field(default_factory=list)  # per round: the gate's rewards and problems
    test_rounds: list[dict] = Field(default_factory=list)  # every test generator / judge exchange
    reason: str | None = None


async def verify_task(llm: LLM, spec: TaskSpec, files: dict[str, BundleFile], dockerfile: str, config: dict, jobs_dir: Path,
                      k_lazy: int = 2, max_rounds: int = 3, env: str = "docker") -> VerifyOutcome:  # fmt: skip
    """Tests (with the Judge), solution, lazy and alternative solutions, then the gate; each
    failure goes back to the tests or the solution with its evidence, for max_rounds rounds."""
    environment = environment_text(files, dockerfile)
    tests, test_rounds = await generate_tests(llm, spec, environment)
    solution = await write_solution(llm, spec, environment)
    lazies = await lazy_solutions(llm, spec, environment, k_lazy) if k_lazy else []
    alternative = await alternative_solution(llm, spec, environment)
    outcome = VerifyOutcome(accepted=False, test_rounds=test_rounds)
    for _ in range(max_rounds):
        bundle = assemble(spec, files, dockerfile, tests, solution, config)
        gate = await asyncio.to_thread(run_gate, bundle, lazies, alternative, jobs_dir, env)
        outcome.rounds.append(gate.model_dump())
        if gate.passed:
            outcome.accepted, outcome.bundle = True, bundle
            return outcome
        for_tests = "\n".join(f"- {p.reason}" for p in gate.problems if p.stage == "tests")
        for_solution = "\n".join(f"- {p.reason}" for p in gate.problems if p.stage == "solution")
        if for_tests:
            tests, more = await generate_tests(llm, spec, environment, feedback=for_tests, previous=tests)
            outcome.test_rounds += more
        if for_solution and not for_tests:  # the tests are trusted only once they pass the other checks
            solution = await write_solution(llm, spec, environment, feedback=for_solution, previous=solution)
    outcome.reason = "the gate never passed: " + "; ".join(p.reason.splitlines()[0] for p in GateResult.model_validate(outcome.rounds[-1]).problems)
    return outcome
