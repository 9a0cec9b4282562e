"""Build (synthesis stage 3): the environment built for real, repairing the Dockerfile from the build's output.

The build runs as a no-op trial through the one runner, so it goes through Harbor's own
environment: `--env` sends it to a cloud sandbox without new code. A failed build's output
(Harbor puts its tail in the trial's exception) goes back to the Environment agent."""

from __future__ import annotations

import asyncio
import shlex
import tempfile
from collections.abc import Callable
from pathlib import Path

from harbor.models.task.config import TaskConfig
from pydantic import BaseModel

from termigen_harbor.bundle import BundleFile, TaskBundle
from termigen_harbor.images import BASE_IMAGE
from termigen_harbor.llm import LLM, StructuredOutputError
from termigen_harbor.runner import RunSpec, run_job
from termigen_harbor.synthesis.build_failure import read_failure, without_failure, without_package
from termigen_harbor.synthesis.environment import PlannedFile, write_dockerfile
from termigen_harbor.synthesis.spec import TaskSpec
from termigen_harbor.verifier_sandbox import output_paths

ERROR_TAIL = 3000  # characters of build output shown to the Environment agent
MISSING_INPUT = "missing input: "


def inputs_check(inputs: list[str]) -> str:
    """tests/test.sh of the build's no-op trial: prints each of the task's `inputs` that the built
    image lacks (build_once reads what it printed)."""
    checks = "".join(f"[ -e {shlex.quote(path)} ] || echo {shlex.quote(MISSING_INPUT + path)}\n" for path in inputs)
    return f"#!/bin/bash\n{checks}mkdir -p /logs/verifier && echo 0 > /logs/verifier/reward.txt\n"


def lacks_inputs(missing: list[str]) -> str:
    return (f"The image built, but it lacks input the task names: {', '.join(missing)}. Each input must be at its path in the image when "
            "the build ends: COPY it there from the build context (or write it in a RUN), and remove or move it in no later instruction.")  # fmt: skip


class BuildAttempt(BaseModel):
    dockerfile: str
    ok: bool
    error: str | None = None
    seconds: float | None = None
    repair: str | None = None  # how this Dockerfile came from the failed one before it, when no model wrote it


class BuildOutcome(BaseModel):
    ok: bool
    dockerfile: str | None
    attempts: list[BuildAttempt]
    reason: str | None = None  # why it stopped before its last attempt (the Environment agent wrote no usable Dockerfile)


def build_once(spec: TaskSpec, files: dict[str, BundleFile], dockerfile: str, jobs_dir: Path, env: str = "docker") -> BuildAttempt:
    """Builds the environment in a no-op trial; returns whether it built and, if not, the output.
    An image that lacks an input the task names did not build either (run Q: a Dockerfile ended
    with `rm numbers.csv`, and six solutions failed on the missing input before the task died)."""
    with tempfile.TemporaryDirectory(prefix="termigen-build-") as tmp:
        bundle = TaskBundle(
            name=spec.title,
            instruction=spec.objective + "\n",
            config=TaskConfig.model_validate({"agent": {"timeout_sec": 60}, "verifier": {"timeout_sec": 60}}),
            environment={**files, "Dockerfile": BundleFile.text(dockerfile)},
            tests={"test.sh": BundleFile.text(inputs_check(output_paths(spec.inputs)), executable=True)},
        )
        task = bundle.write(Path(tmp))
        outcome = run_job(RunSpec(tasks=[task], agent="nop", env=env, jobs_dir=jobs_dir, n_concurrent=1))
    trial = outcome.trials[0]
    seconds = trial.durations_sec.get("environment_setup")
    if trial.exception_type is None:
        printed = trial.trial_dir / "verifier" / "test-stdout.txt"
        lines = printed.read_text(errors="replace").splitlines() if printed.is_file() else []
        missing = [line.removeprefix(MISSING_INPUT) for line in lines if line.startswith(MISSING_INPUT)]
        return BuildAttempt(dockerfile=dockerfile, ok=not missing, error=lacks_inputs(missing) if missing else None, seconds=seconds)
    return BuildAttempt(dockerfile=dockerfile, ok=False, error=(trial.exception_message or trial.exception_type)[-ERROR_TAIL:], seconds=seconds)


async def build_until_ok(llm: LLM, spec: TaskSpec, blueprint: list[PlannedFile], files: dict[str, BundleFile], jobs_dir: Path,
                         max_iterations: int = 5, base_image: str = BASE_IMAGE, env: str = "docker", say: Callable[[str], None] = lambda _m: None) -> BuildOutcome:  # fmt: skip
    """Environment agent writes the Dockerfile (one not FROM the base image goes back to it before
    any build); each failed build goes back to it with what failed and the output, up to
    max_iterations. When its new Dockerfile keeps the instruction that failed as it was (a small
    model sends the whole file back unchanged, or changes only other lines, again and again), the
    one mechanical repair is made: the package no installer could find taken out, or, from a file
    sent back unchanged or a RUN that failed in two builds running, the failed RUN; the gate then
    judges the task built without it."""
    attempts: list[BuildAttempt] = []
    dockerfile, repair, failure = await write_dockerfile(llm, spec, blueprint, base_image), None, None
    for iteration in range(max_iterations):
        attempt = await asyncio.to_thread(build_once, spec, files, dockerfile, jobs_dir, env)
        attempt.repair = repair
        attempts.append(attempt)
        if attempt.ok:
            say(f"build {iteration + 1}: built")
            return BuildOutcome(ok=True, dockerfile=dockerfile, attempts=attempts)
        failure, earlier = read_failure(attempt.error or ""), failure
        summary = failure.summary() if failure else ""
        say(f"build {iteration + 1}: failed: " + (summary or (attempt.error or "no output").splitlines()[0]))
        if iteration + 1 == max_iterations:
            break
        try:
            written = await write_dockerfile(llm, spec, blueprint, base_image, build_error=f"{summary}\n\n{attempt.error}".strip(), previous=dockerfile,
                                             unchanged_ok=failure is not None and without_failure(dockerfile, failure) is not None)  # fmt: skip
        except StructuredOutputError as exc:
            return BuildOutcome(ok=False, dockerfile=None, attempts=attempts, reason=f"the Environment agent wrote no usable Dockerfile: {str(exc).splitlines()[0]}")
        # a missing package goes from every RUN that still installs it, whatever else changed; the failed
        # RUN from an unchanged file, or once it has failed in two builds running (a fix elsewhere, such as a
        # COPY added before it, may be the repair; run S: `cmake . && make` of the C program the task asks to
        # build, with no CMakeLists.txt, kept through four builds while other lines changed)
        unchanged = written.strip() == dockerfile.strip()
        rid = without_package(written, failure.missing_package) if failure and failure.missing_package else None
        if rid:
            mechanical = rid, f"took `{failure.missing_package}`, which the installer could not find, out of the lines that still install it"
        else:
            mechanical = without_failure(written, failure) if failure and (unchanged or failure.repeats(earlier)) else None
        if mechanical:
            dockerfile, repair = mechanical[0], f"the Environment agent kept the instruction that failed as it was, so this Dockerfile {mechanical[1]}"
        else:
            dockerfile, repair = written, None
    return BuildOutcome(ok=False, dockerfile=None, attempts=attempts)
