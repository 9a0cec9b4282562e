"""Verification (synthesis stage 4): a reference solution, tests with a Judge, and the gate.

The reference is written first and run in the task's image: one that fails or leaves an output the
task names missing goes back with what it printed, and the Test Generator is then shown the outputs
it really produced (as LiteCoder-Terminal writes the verifier after the solution). Tests come back as files; they must compile and pytest must collect them inside the task's image
before the Judge sees them, and tests the Judge never approves reject the task. The gate, on the
real engine through the runner: the reference solution scores 1 (oracle), the untouched container
scores 0 (nop), K lazy solutions, written by an adversary that reads the tests and tries to pass
them without doing the work, each score 0, and one independently written solution scores 1. When
that independent solution fails, a Judge decides from the evidence whether the tests or that
solution are wrong. Each failure goes back, with its evidence, to what must change, for a bounded
number of rounds. A trial that errors is retried once, then reported as an error: never as a 0."""

from __future__ import annotations

import ast
import asyncio
import re
import shlex
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Literal, NamedTuple, TypeVar

from harbor.models.task.config import TaskConfig
from pydantic import BaseModel, Field, model_validator

from termigen_harbor.bundle import BundleFile, TaskBundle
from termigen_harbor.llm import LLM, StructuredOutputError
from termigen_harbor.llm.fenced import blocks, file_text
from termigen_harbor.prompts import render
from termigen_harbor.runner import RunSpec, TrialOutcome, run_job
from termigen_harbor.synthesis.checks import (IMAGE_NOT_BUILT, MODULE_LEVEL_RE, ImageNotBuilt, bash_problem, collect_problem, copied_values_problem, output_writers_problem,
                                              python_problem, python_run_by_bash, stray_statements_problem, unknown_fixtures_problem, unnamed_files, unnamed_files_problem)
from termigen_harbor.synthesis.image_packages import KNOWN_VERSIONS, Installs, image_installs, pip_pinned, unpinned_pip, with_installs
from termigen_harbor.synthesis.examples import MAX_TEST_EXAMPLE, Example, examples_for
from termigen_harbor.synthesis.environment import agent_outputs
from termigen_harbor.synthesis.python_source import copied_values, outputless_tests, output_writers, python_fixed, unknown_fixtures, without_broken_tests, without_empty_tests, without_stray_statements
from termigen_harbor.synthesis.reference_run import (NOP_PASSES, PYTHON_INSTEAD, ReferenceRun, RunReference, TestsOnReference, TestsRun, crashes_problem, failures_evidence,
                                                     installed_versions, lacking_modules, run_reference, tests_on_reference, unknown_keys_hint, what_modules_offer)
from termigen_harbor.synthesis.shell_fixes import solution_fixed
from termigen_harbor.synthesis.spec import TaskSpec
from termigen_harbor.validate import static_findings
from termigen_harbor.verifier_sandbox import describe, output_paths, sandbox_for_outputs

STANDARD_TEST_SH = resources.files("termigen_harbor.bundle_data").joinpath("test.sh").read_text()
FILE_PREVIEW = 2000  # characters of each environment file shown to the writers
SOLUTION_OUTPUT_LINES = 12  # the last lines of a solution's own output shown with its test results
GATE_RETRIES = 1  # an errored trial runs once more before it is reported as an error

Collect = Callable[[dict[str, BundleFile], str, str], str | None]


class Verdict(BaseModel):
    approve: bool
    problems: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def says_why(self) -> Verdict:
        if not self.approve and not any(p.strip() for p in self.problems):
            raise ValueError("a rejection must list at least one concrete problem in `problems`")
        return self


class GateVerdict(BaseModel):
    """The Judge's call when a solution fails the tests: the reference, or the independent
    solution where the reference passes."""

    wrong: Literal["tests", "solution"]
    reason: str = Field(min_length=1)


class TestRound(BaseModel):
    __test__ = False  # not a pytest test class
    tests: str
    approved: bool
    problems: list[str] = Field(default_factory=list)
    by: Literal["judge", "pytest", "checks"] = "judge"  # who sent the tests back (checks: no reply passed the checks on the file)


class WrittenTests(NamedTuple):
    tests: str
    rounds: list[TestRound]
    approved: bool
    dockerfile: str  # the task's Dockerfile, with what the tests needed installed
    reference_fault: str | None = None  # the reference failed the approved tests by an assertion, and was found at fault (OnReference): why
    disputes: tuple[Dispute, ...] = ()  # the Judge's calls between the tests and the reference, before the gate


class LazySolution(BaseModel):
    idea: str
    script: str


class Problem(BaseModel):
    stage: Literal["tests", "solution", "alternative"]
    reason: str


class Dispute(BaseModel):
    evidence: str
    verdict: GateVerdict
    solution: Literal["reference", "independent"] = "independent"  # which solution failed the tests


class GateResult(BaseModel):
    oracle: float | None = None
    nop: float | None = None
    lazy: list[tuple[str, float | None]] = Field(default_factory=list)
    alternative: float | None = None
    problems: list[Problem] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)  # trials that errored twice: no verdict at all

    @property
    def passed(self) -> bool:
        return not self.problems and not self.errors

    def scores(self) -> str:
        """`reference 1, no-op 0, lazy 0 0, independent 1`, `error` for a trial with no reward."""

        def shown(score: float | None) -> str:
            return "error" if score is None else f"{score:g}"

        lazy = " ".join(shown(score) for _, score in self.lazy)
        return f"reference {shown(self.oracle)}, no-op {shown(self.nop)}" + (f", lazy {lazy}" if self.lazy else "") + f", independent {shown(self.alternative)}"


def first_line(text: str, limit: int = 200) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."


def verifier_skeleton(spec: TaskSpec) -> str:
    """The opening of a test file with the task's own paths as constants, each input and each
    output the agent makes, and the one test every such task needs: the Test Generator fills in
    the rest. In run O the 1.5B's tests read `numbers.csv` relative, summed csv rows as numbers and
    compared with a value they made up, and never read the output at all."""
    def constant(path: str, taken: set[str]) -> str:
        name = re.sub(r"\W+", "_", PurePosixPath(path.rstrip("/")).name).strip("_").upper() or "PATH"
        name = name if name[0].isalpha() else f"F_{name}"
        while name in taken:
            name += "_2"
        taken.add(name)
        return name

    taken: set[str] = set()
    made = agent_outputs(spec.outputs, spec.inputs)
    changed = set(output_paths(spec.outputs))
    inputs = [(constant(p, taken), p) for p in output_paths(spec.inputs) if p not in made]
    outputs = [(constant(p, taken), p) for p in made]
    lines = ["import csv", "import json", "from pathlib import Path", ""]
    lines += [f'{name} = Path("{path}")  # input' + (", which the solution changes in place" if path in changed else "") for name, path in inputs]
    lines += [f'{name} = Path("{path}")  # output the solution makes' for name, path in outputs]
    if outputs:
        lines += ["", "", "def test_outputs_exist():"] + [f'    assert {name}.exists(), "{path} was not created"' for name, path in outputs]
    return "\n".join(lines) + "\n"


def instruction_text(spec: TaskSpec) -> str:
    return spec.objective + "\n\nOutputs:\n" + "\n".join(f"- {o}" for o in spec.outputs) + "\n"


def environment_text(files: dict[str, BundleFile], dockerfile: str, contents: bool = True) -> str:
    """The Dockerfile and each file as the writers are shown them; without `contents`, each file's
    name and size only (the adversary's view: see lazy_solutions)."""
    parts = [f"--- Dockerfile\n{dockerfile}"]
    for path, file in sorted(files.items()):
        text = file.content.decode(errors="replace")
        if contents:
            parts.append(f"--- {path}\n{text[:FILE_PREVIEW]}{' [...]' if len(text) > FILE_PREVIEW else ''}")
        else:
            parts.append(f"--- {path} ({len(text.splitlines())} lines, {len(file.content)} bytes; not shown)")
    return "\n".join(parts)


def tests_fixed(text: str) -> str:
    """A test file as python_fixed sets it right, without the tests that check nothing."""
    return without_empty_tests(python_fixed(text))


async def generate_tests(llm: LLM, spec: TaskSpec, files: dict[str, BundleFile], dockerfile: str, collect: Collect | None = collect_problem,
                         judge: LLM | None = None, max_rounds: int = 3, feedback: str | None = None, previous: str | None = None,
                         category: str = "", say: Callable[[str], None] = lambda _m: None, observed: str | None = None,
                         run_tests: Callable[[str, str], TestsRun | None] | None = None, reference: str = "",
                         run_alternative: Callable[[str, str], TestsRun | None] | None = None) -> WrittenTests:  # fmt: skip
    """Test Generator until its tests compile, pytest collects them in the task's image, they pass
    the reference and fail the untouched image (`run_tests(dockerfile, tests)`, see
    _judged_on_reference), and the Judge approves them, or out of rounds. A well-known package the
    tests import and the image lacks goes into the image (the Dockerfile returned), not back to the
    Test Generator. `observed`: the reference solution's run and outputs (ReferenceRun.shown), shown
    to the Test Generator; `reference`: that solution's script; `run_alternative(dockerfile, tests)`:
    the tests run after the independent solution instead."""
    environment = environment_text(files, dockerfile)
    sandbox = describe(sandbox_for_outputs(TaskConfig(), spec.outputs))
    rounds: list[TestRound] = []
    disputes: list[Dispute] = []
    tests = previous or ""
    named = "\n".join([spec.as_text(), dockerfile, *(f"/app/{path}" for path in files)])
    example = verifier_example(category, named)
    made = output_paths(spec.outputs)  # a file changed in place too (run Q: a config test rewrote /app/config.txt, which the solution repairs)
    skeleton = verifier_skeleton(spec)
    known = "\n".join([named, *(f.content.decode(errors="replace") for f in files.values())])  # the task's own numbers: not copied from a run

    def check(text: str) -> str | None:
        return (stray_statements_problem(text) or python_problem(text, "test_outputs.py") or unnamed_files_problem(text, named)
                or unknown_fixtures_problem(text) or output_writers_problem(text, made) or copied_values_problem(text, observed or "", known))  # fmt: skip

    def last_resort(text: str) -> str:
        text = without_stray_statements(text)
        unnamed, dropped = unnamed_files(text, named), [*unknown_fixtures(text), *output_writers(text, made), *copied_values(text, observed or "", known)]
        return without_broken_tests(text, also=lambda function: any(path in function for path in unnamed) or any(f"def {test}(" in function for test in dropped))

    for _ in range(max_rounds):
        prompt = render("test_generator", spec=spec.as_text(), environment=environment, sandbox=sandbox, example=example, feedback=feedback, previous=previous, observed=observed,
                        skeleton=skeleton)  # fmt: skip
        try:
            tests = await llm.file(prompt, purpose="test_generator", check=check, fix=tests_fixed, last_resort=last_resort)
            if previous is not None and feedback and tests.split() == previous.split():  # run O: one test file, sent back unchanged three times
                tests = await llm.file(f"{prompt}\n\n{UNCHANGED_TESTS}", purpose="test_generator", check=check, fix=tests_fixed, last_resort=last_resort)
        except StructuredOutputError as exc:  # no reply got through the checks: a round lost, not the task (run O: a typo, `tmp_dir`, three replies)
            if len(rounds) + 1 == max_rounds:
                raise
            problem = str(exc).split("\n--- last reply ---")[0]
            rounds.append(TestRound(tests=exc.raw_text, approved=False, problems=[problem], by="checks"))
            say(f"tests, round {len(rounds)}: no reply passed the checks: {first_line(problem)}")
            feedback, previous = f"- {problem}", _file_or_reply(exc.raw_text)
            continue
        problem = await asyncio.to_thread(collect, files, dockerfile, tests) if collect else None
        if problem and (installed := await with_what_it_lacks(dockerfile, problem, lambda d: collect(files, d, tests), lambda retried: not (retried or "").startswith(IMAGE_NOT_BUILT))):  # fmt: skip
            dockerfile, installs, problem = installed
            environment = environment_text(files, dockerfile)
            say(f"tests, round {len(rounds) + 1}: the image lacks what they import; the Dockerfile now installs {installs}")
        if problem and collect and len(rounds) + 1 == max_rounds and (kept := without_import_crash(tests, problem)) != tests:
            say(f"tests, round {len(rounds) + 1}: dropped the module-level value that crashed when pytest imported them, and the tests reading it")
            tests, problem = kept, await asyncio.to_thread(collect, files, dockerfile, kept)
        reference_fault, by = None, "pytest"
        if not problem and run_tests and (ran := await asyncio.to_thread(run_tests, dockerfile, tests)):
            checked = await _judged_on_reference(judge or llm, spec, tests, reference or "", ran, last=len(rounds) + 1 == max_rounds,
                                                 on_alternative=partial(run_alternative, dockerfile) if run_alternative else None)  # fmt: skip
            tests, problem, by, reference_fault = checked.tests, checked.problem, checked.by, checked.reference_fault
            if problem and ran.crashes and (keys := unknown_keys_hint("\n".join(c.error for c in ran.crashes), files)):
                problem += f"\n{keys}"  # tests that read a column the input lacks, as solutions do
            disputes += [checked.dispute] if checked.dispute else []
            if checked.dropped:
                say(f"tests, round {len(rounds) + 1}: dropped {checked.dropped}")
        if problem:
            rounds.append(TestRound(tests=tests, approved=False, problems=[problem], by=by))
        else:
            verdict = await (judge or llm).structured(render("judge", spec=spec.as_text(), tests=tests), Verdict, purpose="judge")
            rounds.append(TestRound(tests=tests, approved=verdict.approve, problems=verdict.problems))
            if verdict.approve:
                say(f"tests, round {len(rounds)}: approved by the judge")
                return WrittenTests(tests, rounds, True, dockerfile, reference_fault, tuple(disputes))
        say(f"tests, round {len(rounds)}: sent back by {'pytest' if rounds[-1].by == 'pytest' else 'the judge'}: {first_line(rounds[-1].problems[0])}")
        feedback, previous = "\n".join(f"- {p}" for p in rounds[-1].problems), tests
    return WrittenTests(tests, rounds, False, dockerfile, disputes=tuple(disputes))


class OnReference(NamedTuple):
    """What the tests' run in the image decided before the Judge reads them."""

    tests: str  # the tests, without those the last round dropped
    problem: str | None = None  # why they go back to the Test Generator
    by: Literal["judge", "pytest"] = "pytest"  # who found them at fault
    reference_fault: str | None = None  # why the reference is at fault and the tests stand
    dropped: str | None = None  # the tests the last round dropped, and why
    dispute: Dispute | None = None  # the Judge's call, when one was asked


async def _judged_on_reference(judge: LLM, spec: TaskSpec, tests: str, reference: str, ran: TestsRun, last: bool,
                               on_alternative: Callable[[str], TestsRun | None] | None = None) -> OnReference:  # fmt: skip
    """What the tests' run in the image (TestsRun) says before the Judge reads them. A test that
    crashed in its own code goes back with pytest's traceback. Tests that all pass the untouched
    image go back (the no-op would pass). A test the reference failed by an assertion is run after
    the independent solution too (`on_alternative(tests)`): failed by both, two solutions written
    apart agree against it, and the tests go back; passed by that solution, the reference is at
    fault and the tests stand. Otherwise the gate's Judge decides, with pytest's report (run P: the
    1.5B Judge blamed a reference that summed every column, where the tests summed one). In the
    last round (`last`) the tests at fault are dropped instead, as long as one that fails the
    untouched image remains, and what is left is checked the same way (run Q: once the crashing
    test was dropped, two that the reference failed, one of them `assert False`, went to the
    Judge, which approved them). A test that reads an input and no output, and fails in the
    untouched image as well as after the reference, expects of the inputs what they do not hold:
    it goes back with no one asked (run Q: `assert total == 55` on the input's first column; the
    independent solution had not run, and the Judge blamed the reference). Each check costs a
    gate round otherwise: 5 to 10 minutes on 2 cores."""
    if ran.crashes:
        rest = await _rest_judged(judge, spec, tests, reference, ran, [c.test for c in ran.crashes], "which crashed on the reference's outputs", last, on_alternative)
        return rest or OnReference(tests, crashes_problem(ran.crashes))
    if ran.pass_the_nop:
        return OnReference(tests, NOP_PASSES)
    if not ran.failures:
        return OnReference(tests)
    evidence, failing = failures_evidence(ran.failures), {f.test for f in ran.failures}
    if blind := sorted(input_only_tests(tests, spec) & failing & ran.nop_failed):
        named, outputs = ", ".join(f"`{test}`" for test in blind), ", ".join(f"`{path}`" for path in output_paths(spec.outputs))
        found = OnReference(tests, f"{named} read an input and none of the outputs ({outputs}), and fail in the untouched image too, where every input is as "
                                   f"the task ships it: they expect of the inputs what the inputs do not hold. A test judges a solution by the outputs it "
                                   f"leaves: read an output and compare it with what it should hold, computed from the inputs\nEvidence: {evidence}")  # fmt: skip
        rest = await _rest_judged(judge, spec, tests, reference, ran, blind, "which read no output and fail in the untouched image", last, on_alternative)
        return rest or found
    other = await asyncio.to_thread(on_alternative, tests) if on_alternative else None
    other_failing = {f.test for f in [*other.failures, *other.crashes]} if other else set()
    at_fault, named = sorted(failing), ", ".join(f"`{test}`" for test in sorted(failing))
    if other and failing <= other_failing:
        why = "which the reference and the independent solution both fail"
        found = OnReference(tests, f"the reference solution and a solution written independently from the specification both fail {named}: "
                                   f"the tests expect what neither makes; compute the expected values as the task asks\nEvidence: {evidence}")  # fmt: skip
    elif other and not failing & other_failing:
        return OnReference(tests, reference_fault=f"a solution written independently from the specification passes {named}, which the reference fails\nEvidence: {evidence}")
    else:
        try:
            verdict = await judge_dispute(judge, spec, tests, reference, evidence, reference=True)
        except StructuredOutputError as exc:  # no verdict: the tests stand, and the gate's Judge looks again
            verdict = GateVerdict(wrong="solution", reason=f"the judge gave no usable verdict ({first_line(str(exc))})")
        dispute = Dispute(evidence=evidence, verdict=verdict, solution="reference")
        if verdict.wrong == "solution":
            return OnReference(tests, reference_fault=f"a judge found the reference at fault: {verdict.reason}\nEvidence: {evidence}", dispute=dispute)
        why = "which a judge found wrong about the reference's outputs"
        found = OnReference(tests, f"the reference solution fails them, and a judge found the tests at fault: {verdict.reason}\nEvidence: {evidence}", by="judge",
                            dispute=dispute)  # fmt: skip
    kept = _without_at_fault(tests, at_fault, ran) if last else tests
    if kept != tests:
        return OnReference(kept, by=found.by, dropped=f"{', '.join(at_fault)}, {why}", dispute=found.dispute)
    return found


async def _rest_judged(judge: LLM, spec: TaskSpec, tests: str, reference: str, ran: TestsRun, at_fault: list[str], why: str, last: bool,
                       on_alternative: Callable[[str], TestsRun | None] | None) -> OnReference | None:  # fmt: skip
    """In the last round, the tests without those `at_fault` (`why` says why), judged in turn as
    their run showed them; None when they are not dropped (not the last round, or no test that
    fails the untouched image would be left)."""
    kept = _without_at_fault(tests, at_fault, ran) if last else tests
    if kept == tests:
        return None
    left = ran._replace(crashes=[c for c in ran.crashes if c.test not in at_fault], failures=[f for f in ran.failures if f.test not in at_fault],
                        nop_failed=ran.nop_failed - set(at_fault))  # fmt: skip
    rest = await _judged_on_reference(judge, spec, kept, reference, left, last, on_alternative)
    dropped = f"{', '.join(at_fault)}, {why}"
    return rest._replace(dropped=f"{dropped}; {rest.dropped}" if rest.dropped else dropped)


def input_only_tests(tests: str, spec: TaskSpec) -> set[str]:
    """The tests that read one of the task's inputs and none of its outputs (outputless_tests)."""
    outputless = outputless_tests(tests, output_paths(spec.outputs))
    return set(outputless) - set(outputless_tests(tests, output_paths(spec.inputs)))


def _without_at_fault(tests: str, at_fault: list[str], ran: TestsRun) -> str:
    """The tests without those `at_fault`, as long as one that fails the untouched image remains; else as they are."""
    if ran.nop_ran and not ran.nop_failed - set(at_fault):
        return tests
    return without_broken_tests(tests, also=lambda function: any(f"def {test}(" in function for test in at_fault))


def without_import_crash(tests: str, problem: str) -> str:
    """The tests without the module-level value whose computation crashed when pytest imported them
    (the collection's `test_outputs.py:N: in <module>`), and the tests that read it (while a test
    is left); else unchanged. Run O: `expected_sum = compute_sum([...])` at the top of the file,
    read by no test, failed the collection in all three rounds."""
    at = MODULE_LEVEL_RE.search(problem)
    try:
        tree = ast.parse(tests)
    except SyntaxError:
        return tests
    value = next((node for node in tree.body if at and isinstance(node, (ast.Assign, ast.AnnAssign)) and node.lineno <= int(at[1]) <= (node.end_lineno or node.lineno)), None)
    if value is None:
        return tests
    text = ast.get_source_segment(tests, value)
    return without_broken_tests(tests, also=lambda segment: segment == text)


def _file_or_reply(reply: str) -> str:
    try:
        return file_text(reply, ended=True)
    except ValueError:
        return reply


Retried = TypeVar("Retried")


async def with_what_it_lacks(dockerfile: str, failure: str, retry: Callable[[str], Retried], built: Callable[[Retried], bool]) -> tuple[str, Installs, Retried] | None:
    """What `failure` shows the image lacks, when well-known packages provide it, installed: the new
    Dockerfile, what it installs, and `retry` run again on it. None when nothing is to install, or
    the image did not build with it (`built` says from the retry): then the script must do without."""
    installs = image_installs(failure)
    if not installs:
        return None
    installing = with_installs(dockerfile, installs)
    retried = await asyncio.to_thread(retry, installing)
    return (installing, installs, retried) if built(retried) else None


def verifier_example(category: str, named: str) -> Example | None:
    """The example the Test Generator is shown: the tests of a template of the task's own category,
    when they fit a small prompt and run no program under /app that this task does not name (`named`:
    its specification, Dockerfile and files); else none. The 1.5B copies an example's tests whole:
    the maze template's `SOLVER = Path("/app/solve_maze.py")` went into algorithms tasks whose
    outputs were files (runs H, I and K, where it rejected a task), and other categories' HTTP or
    Makefile checks into a maze and a CSV task (runs F and G)."""
    found = next((e for e in examples_for(category, 1, max_test_chars=MAX_TEST_EXAMPLE) if e.category == category), None)
    return None if found is None or any(path.endswith((".py", ".sh")) for path in unnamed_files(found.tests, named)) else found


UNCHANGED_TESTS = "Your reply is the previous tests, unchanged, and they were sent back for the reasons above. Write tests that fix each of them."
UNCHANGED = ("Your reply is the previous solution, unchanged, and it failed as shown above. Write a different script that fixes "
             "that failure: create every output the task names, at its exact path.")  # fmt: skip


def script_problem(script: str) -> str | None:
    """`bash -n`'s complaint about a solution, with the way out a small model takes: in a real run
    the 1.5B's independent solution built JSON with `echo "{\"$city\": ...}"` and three replies
    ended in `unexpected EOF while looking for matching '"'`, which rejected a task with approved tests."""
    problem = bash_problem(script)
    return f"{problem}\n{PYTHON_INSTEAD}" if problem else None


def python_only(feedback: str | None, ran: bool) -> bool:
    """Whether a rewrite is asked for in Python alone: its last run failed in a way Python avoids
    (run O: an SCC search by recursive bash functions crashed three rounds running, offered Python each time)."""
    return ran and PYTHON_INSTEAD in (feedback or "")


async def revised_script(llm: LLM, prompt: str, previous: str | None, purpose: str, outputs: list[str]) -> str:
    """A solution script, mended by solution_fixed; when a revision comes back as the script that
    failed (the 1.5B reference writer sent one failing script back in all three gate rounds), it is
    asked once more, told so."""
    fix = partial(solution_fixed, outputs=outputs)
    script = await llm.file(prompt, purpose=purpose, check=script_problem, fix=fix)
    if previous is not None and script.split() == previous.split():
        script = await llm.file(f"{prompt}\n\n{UNCHANGED}", purpose=purpose, check=script_problem, fix=fix)
    return script


async def write_solution(llm: LLM, spec: TaskSpec, environment: str, tests: str | None, feedback: str | None = None, previous: str | None = None,
                         ran: bool = False) -> str:  # fmt: skip
    """The reference solution: first from the task alone (tests None), run in the image before any
    test exists; when a gate round finds it failing the tests, rewritten with them in view (the
    independent solution never sees them). `ran`: the feedback is from its own run in the image."""
    prompt = render("solution_writer", spec=spec.as_text(), environment=environment, tests=tests, feedback=feedback, previous=previous, ran=ran,
                    python_only=python_only(feedback, ran))  # fmt: skip
    return await revised_script(llm, prompt, previous, "solution_writer", spec.outputs)


def parse_lazy_solutions(text: str, k: int) -> list[LazySolution]:
    """Up to k attacks: each a bash block, its idea the `Idea:` line (else the last line) above it."""
    found = [b for b in blocks(text) if b.body.strip()][:k]
    if not found:
        raise ValueError("no attack found: each must be a bash script in a fenced code block, after a line `Idea: ...`")
    solutions = []
    for i, block in enumerate(found, 1):
        script = python_run_by_bash(block.body)
        problem = bash_problem(script)
        if problem:
            raise ValueError(f"attack {i}: {problem}")
        lines = [line.strip() for line in block.note.splitlines() if line.strip()]
        idea = next((line for line in reversed(lines) if line.lower().lstrip("*-# ").startswith("idea")), lines[-1] if lines else f"attack {i}")
        idea = idea.lstrip("*-# ").removeprefix("Idea").removeprefix("idea").lstrip(":*  ").strip() or f"attack {i}"
        solutions.append(LazySolution(idea=idea[:300], script=script))
    return solutions


async def lazy_solutions(llm: LLM, spec: TaskSpec, layout: str, tests: str, k: int, known: list[str] | None = None) -> list[LazySolution]:
    """The adversary's attacks, and the one attack that needs no model: every output the task names,
    created empty, once (run P: tests that only checked that the outputs exist passed the Judge, and
    the 1.5B adversary's one attack wrote the wrong file; the 1.5B adversary's heredoc inside `$(...)`
    had failed `bash -n` three times in an earlier run). `layout`: the environment without the files'
    contents (environment_text with contents=False). The adversary attacks the tests: an answer it
    worked out from the input data would be the task done by hand, which no test can or should
    reject (run P: the 1.5B read the nine numbers of a sum task, hard-coded their sum, 45, and
    passed tests that computed the sum from the file, in two gate rounds)."""
    prompt = render("lazy_solutions", instruction=instruction_text(spec), environment=layout, tests=tests, k=k, known=known or [])
    try:
        attacks = await llm.parsed(prompt, lambda text: parse_lazy_solutions(text, k), purpose="adversary")
    except StructuredOutputError:
        attacks = []
    attack = empty_outputs_attack(spec)
    return attacks + ([attack] if attack.idea not in (known or []) else [])


def empty_outputs_attack(spec: TaskSpec) -> LazySolution:
    # `/app/count.txt: the word count` names the file /app/count.txt; `/app/out/: ...` a folder
    lines = [f"mkdir -p {shlex.quote(p)}" if p.endswith("/") else f"mkdir -p {shlex.quote(str(PurePosixPath(p).parent))} && : > {shlex.quote(p)}"
             for p in output_paths(spec.outputs)]  # fmt: skip
    return LazySolution(idea=EMPTY_OUTPUTS_IDEA, script="#!/bin/bash\n" + "\n".join(lines) + "\n")


EMPTY_OUTPUTS_IDEA = "create every output the task names, empty, without doing the work"


async def alternative_solution(llm: LLM, spec: TaskSpec, environment: str, feedback: str | None = None, previous: str | None = None, ran: bool = False) -> str:
    """The independent solution, from the task alone; rewritten from its own run in the image
    (`ran`), or when a judge found it at fault in a gate round (it never sees the tests)."""
    prompt = render("alternative_solution", spec=spec.as_text(), environment=environment, feedback=feedback, previous=previous, ran=ran,
                    python_only=python_only(feedback, ran))  # fmt: skip
    return await revised_script(llm, prompt, previous, "alternative_solution", spec.outputs)


async def judge_dispute(llm: LLM, spec: TaskSpec, tests: str, solution: str, evidence: str, reference: bool = False, others_fail: bool = False) -> GateVerdict:
    prompt = render("gate_judge", spec=spec.as_text(), tests=tests, solution=solution, evidence=evidence, reference=reference, others_fail=others_fail)
    return await llm.structured(prompt, GateVerdict, purpose="gate_judge")


def with_solution(bundle: TaskBundle, name: str, script: str) -> TaskBundle:
    return bundle.model_copy(update={"name": name, "solution": {"solve.sh": BundleFile.text(script, executable=True)}})


def _evidence(trial: TrialOutcome | None) -> str:
    if trial is None:
        return "the trial did not run"
    if trial.errored:
        return f"{trial.exception_type}: {(trial.exception_message or '')[-800:]}"
    failed, passed = trial.test_names("failed", "error", messages=True), trial.test_names("passed")
    tests = f"reward {trial.reward}; failing tests: {'; '.join(failed) or 'none'}; passing tests: {', '.join(passed) or 'none'}"
    return tests + (f"\n{run}" if (run := solution_run(trial.trial_dir / "agent")) else "")


def solution_run(agent_dir: Path) -> str:
    """How the solution script itself ended, from what Harbor's oracle agent leaves in the trial:
    a non-zero exit code (`exit-code.txt`) and the end of its output (`oracle.txt`). A reference
    that printed `Usage: solve.sh <input_file>` and exited 1 was rewritten three times by a writer
    shown only the failing tests."""
    try:
        code = (agent_dir / "exit-code.txt").read_text().strip()
    except OSError:
        code = ""
    try:
        output = (agent_dir / "oracle.txt").read_text(errors="replace").strip()
    except OSError:
        output = ""
    if not code and not output:
        return ""
    tail = output.splitlines()[-SOLUTION_OUTPUT_LINES:]
    shown = "\n".join(f"    {line[:200]}" for line in tail) if output else "    (no output)"
    return f"solve.sh {'exited with code ' + code if code else 'exited with code 0'}; the end of its output:\n{shown}"


def run_gate(bundle: TaskBundle, lazies: list[LazySolution], alternative: str | None, jobs_dir: Path, env: str = "docker", n_concurrent: int = 2) -> GateResult:
    """Two jobs: the oracle over the reference, each lazy variant and the alternative; the nop
    agent over the untouched task. Problems name what to send back to, with the evidence; a trial
    that errored on its retry too is an error, which no reward stands in for."""
    name = bundle.name
    variants = [bundle] + [with_solution(bundle, f"{name}--lazy-{i + 1}", lazy.script) for i, lazy in enumerate(lazies)]
    if alternative is not None:
        variants.append(with_solution(bundle, f"{name}--alternative", alternative))
    with tempfile.TemporaryDirectory(prefix="termigen-gate-") as tmp:
        tasks = [variant.write(Path(tmp)) for variant in variants]
        oracle = {t.task: t for t in run_job(RunSpec(tasks=tasks, agent="oracle", env=env, jobs_dir=jobs_dir, n_concurrent=n_concurrent, max_retries=GATE_RETRIES)).trials}
        nop = {t.task: t for t in run_job(RunSpec(tasks=tasks[:1], agent="nop", env=env, jobs_dir=jobs_dir, max_retries=GATE_RETRIES)).trials}
    result = GateResult()

    def reward(trial: TrialOutcome | None, label: str) -> float | None:
        if trial is None or trial.reward is None:
            result.errors.append(f"{label}: {_evidence(trial)}")
            return None
        return trial.reward

    reference = oracle.get(name)
    result.oracle = reward(reference, "the reference solution")
    if result.oracle is not None and result.oracle < 1:
        result.problems.append(Problem(stage="solution", reason=f"the reference solution does not pass the tests: {_evidence(reference)}"))
    result.nop = reward(nop.get(name), "the untouched container (nop)")
    if result.nop:
        result.problems.append(Problem(stage="tests", reason=f"the tests pass on the untouched container: {_evidence(nop[name])}"))
    for i, lazy in enumerate(lazies):
        score = reward(oracle.get(f"{name}--lazy-{i + 1}"), f"lazy solution {i + 1}")
        result.lazy.append((lazy.idea, score))
        if score:
            result.problems.append(Problem(stage="tests", reason=f"a lazy solution passes ({lazy.idea}): make the tests reject it. Its script:\n{lazy.script}"))
    if alternative is not None:
        trial = oracle.get(f"{name}--alternative")
        result.alternative = reward(trial, "the independent solution")
        if result.alternative is not None and result.alternative < 1 and result.oracle == 1:
            result.problems.append(Problem(stage="alternative", reason=_evidence(trial)))
    return result


def assemble(spec: TaskSpec, files: dict[str, BundleFile], dockerfile: str, tests: str, solution: str, config: dict) -> TaskBundle:
    return TaskBundle(
        name=spec.title,
        instruction=instruction_text(spec),
        config=sandbox_for_outputs(TaskConfig.model_validate(config), spec.outputs),
        environment={**files, "Dockerfile": BundleFile.text(dockerfile)},
        solution={"solve.sh": BundleFile.text(solution, executable=True)},
        tests={"test.sh": BundleFile.text(STANDARD_TEST_SH, executable=True), "test_outputs.py": BundleFile.text(tests)},
    )


def static_problems(bundle: TaskBundle) -> list[str]:
    """What the static checks of `termigen validate` (Harbor's lint among them) find wrong with `bundle`."""
    with tempfile.TemporaryDirectory(prefix="termigen-static-") as tmp:
        return [finding.message for finding in static_findings(bundle.write(Path(tmp))) if finding.severity == "error"]


class VerifyOutcome(BaseModel):
    accepted: bool
    errored: bool = False  # a gate trial errored twice: the task has no verdict (a rerun tries again)
    bundle: TaskBundle | None = None
    rounds: list[GateResult] = Field(default_factory=list)
    test_rounds: list[TestRound] = Field(default_factory=list)  # every test generator / judge exchange
    disputes: list[Dispute] = Field(default_factory=list)  # the Judge's calls on a failing independent solution
    dockerfile: str | None = None  # set when the tests or a solution needed a package the image lacked: the Dockerfile that installs it
    reference_runs: list[ReferenceRun] = Field(default_factory=list)  # the reference run in the image before the tests were written
    alternative_runs: list[ReferenceRun] = Field(default_factory=list)  # the independent solution's own runs in the image, before the gate
    reason: str | None = None


class VerifyProgress(BaseModel):
    """A verification's work so far, saved after each step that cost model calls (the reference, the
    independent solution, the approved tests, the attacks, each repaired gate round): a stopped run
    (Ctrl-C, the budget, the model down, a gate trial that errored) resumes from it instead of
    writing everything again; in run P a task's verification took up to 40 minutes."""

    dockerfile: str  # with what the scripts needed installed
    solution: str = ""
    alternative: str = ""
    tests: str = ""
    lazies: list[LazySolution] | None = None  # None: the tests were not attacked yet
    observed: str | None = None
    outcome: VerifyOutcome

    def done(self) -> str:
        """What is done, as the console says it."""
        steps = [name for name, text in [("the reference", self.solution), ("the independent solution", self.alternative), ("the tests", self.tests)] if text]
        steps += ["the attacks"] if self.lazies is not None else []
        steps += [f"{len(self.outcome.rounds)} gate round(s)"] if self.outcome.rounds else []
        return ", ".join(steps) or "nothing"


async def verify_task(llm: LLM, spec: TaskSpec, files: dict[str, BundleFile], dockerfile: str, config: dict, jobs_dir: Path,
                      k_lazy: int = 2, max_rounds: int = 3, env: str = "docker", collect: Collect | None = collect_problem,
                      category: str = "", say: Callable[[str], None] = lambda _m: None, reference_run: RunReference | None = run_reference,
                      tests_run: TestsOnReference | None = tests_on_reference, progress: VerifyProgress | None = None,
                      checkpoint: Callable[[VerifyProgress], None] = lambda _p: None) -> VerifyOutcome:  # fmt: skip
    """The reference (run in the image), tests written against its outputs (checked, then judged),
    the independent solution and lazy attacks on the tests, then the gate; each failure goes back
    to what must change, for max_rounds rounds. `collect`, `reference_run` and `tests_run` (the
    tests in the untouched image and after the reference, TestsRun) run only on the docker environment (they
    build the image locally). `checkpoint(progress)` is called after each step, and `progress` (the
    last one saved) is where a stopped verification resumes."""
    local = env == "docker"
    timeout_s = min(int((config.get("agent") or {}).get("timeout_sec") or 600), REFERENCE_RUN_LIMIT)  # the task's own time limit, up to REFERENCE_RUN_LIMIT
    if reference_run is run_reference:
        reference_run = partial(run_reference, timeout_s=timeout_s)
    if tests_run is tests_on_reference:
        tests_run = partial(tests_on_reference, timeout_s=timeout_s, tests_timeout_s=int((config.get("verifier") or {}).get("timeout_sec") or 300))
    verification = _Verification(llm, spec, files, dockerfile, config, jobs_dir, k_lazy, max_rounds, env, collect if local else None, category, say,
                                 reference_run if local else None, tests_run if local else None, checkpoint)  # fmt: skip
    if progress is not None:
        verification.resume(progress)
    try:
        await verification.run()
    except StructuredOutputError as exc:  # no usable reply from a writer: rejected, with every round so far kept
        verification.outcome.reason = f"{type(exc).__name__}: {exc}"
    return verification.outcome


# seconds a solution's own run before the gate may take: a synthesized task is sized for a CPU, and a
# reference that served in the foreground ran out the task's 900 s in a real run, in each round
REFERENCE_RUN_LIMIT = 300


@dataclass
class _Verification:
    """One task's verification: what the writers last wrote, and the outcome each round adds to."""

    llm: LLM
    spec: TaskSpec
    files: dict[str, BundleFile]
    dockerfile: str
    config: dict
    jobs_dir: Path
    k_lazy: int
    max_rounds: int
    env: str
    collect: Collect | None
    category: str
    say: Callable[[str], None]
    reference_run: RunReference | None = None
    tests_run: TestsOnReference | None = None
    checkpoint: Callable[[VerifyProgress], None] = lambda _p: None
    outcome: VerifyOutcome = field(default_factory=lambda: VerifyOutcome(accepted=False))
    observed: str | None = None  # the reference's run in the image, as the Test Generator is shown it
    tests: str = ""
    solution: str = ""
    alternative: str = ""
    lazies: list[LazySolution] | None = None  # None until the tests are attacked
    environment: str = field(init=False)  # the Dockerfile and files, as the writers are shown them
    versions: dict[str, dict[str, str]] = field(default_factory=dict)  # Dockerfile -> what image_versions found in its image

    def __post_init__(self) -> None:
        self.environment = environment_text(self.files, self.dockerfile)

    def resume(self, progress: VerifyProgress) -> None:
        """Picks up where a stopped verification saved its progress."""
        progress = progress.model_copy(deep=True)
        self.solution, self.alternative, self.tests, self.lazies, self.observed, self.outcome = (
            progress.solution, progress.alternative, progress.tests, progress.lazies, progress.observed, progress.outcome)  # fmt: skip
        self._use(progress.dockerfile)
        self.say(f"resumed after {progress.done()}")

    def save(self) -> None:
        self.checkpoint(VerifyProgress(dockerfile=self.dockerfile, solution=self.solution, alternative=self.alternative, tests=self.tests,
                                       lazies=self.lazies, observed=self.observed, outcome=self.outcome).model_copy(deep=True))  # fmt: skip

    async def run(self) -> None:
        """Fills `outcome`: accepted, errored, or rejected with the reason; each step done is saved
        (save), and a resumed verification skips the steps its progress holds."""
        if unpinned_pip(self.dockerfile):
            await self.pin_installs()
        if not self.solution:
            if not await self.write_reference():
                return
            self.save()
        if not self.alternative:
            await self.write_alternative()  # before the tests, which are then run after it too (it never sees them)
            self.save()
        if not self.tests:
            if not await self.write_tests():
                return
            self.save()
        if self.lazies is None:
            self.lazies = await lazy_solutions(self.llm, self.spec, self.layout(), self.tests, self.k_lazy) if self.k_lazy else []
            self.save()
        for number in range(len(self.outcome.rounds) + 1, self.max_rounds + 1):
            self.say(f"gate, round {number}: the reference, the no-op, {len(self.lazies)} lazy and the independent solution against the tests")
            self.solution = await self.pinned(self.solution)
            bundle = assemble(self.spec, self.files, self.dockerfile, self.tests, self.solution, self.config)
            if problems := static_problems(bundle):  # what `termigen validate` would refuse is never accepted
                self.outcome.reason = "the task fails the static checks of `termigen validate`: " + "; ".join(problems)[:600]
                return
            gate = await asyncio.to_thread(run_gate, bundle, self.lazies, self.alternative, self.jobs_dir, self.env)
            self.outcome.rounds.append(gate)
            self.say(f"gate, round {number}: {gate.scores()}" + ("" if gate.passed else f"; {first_line((gate.errors or [p.reason for p in gate.problems])[0])}"))
            if gate.errors:
                self.outcome.errored, self.outcome.reason = True, "a gate trial errored twice: " + "; ".join(gate.errors)[:600]
                return
            if gate.passed:
                self.outcome.accepted, self.outcome.bundle = True, bundle
                return
            if number == self.max_rounds:  # no round left to try a repair in: no Judge, no rewrite
                break
            if not await self.repair(gate):
                return
            self.save()
        self.outcome.reason = "the gate never passed: " + "; ".join(p.reason.splitlines()[0] for p in self.outcome.rounds[-1].problems)

    async def write_reference(self) -> bool:
        """The reference from the task alone, run in the image and rewritten with what the run
        showed until it exits 0 and leaves every output the task names; when it never does, the
        independent writer's solution, written and run the same way, becomes the reference if it
        runs cleanly (both are written from the task alone, before any test; the independent
        solution is then written anew). False (the reason set) when neither runs cleanly, or the
        image does not build. In run P the 1.5B's references ended 4 of the 6 built tasks."""
        run = await self.reference_that_runs()
        if run is None:  # no image to run it in
            return True
        if run.image_problem:
            self.outcome.reason = run.image_problem[:600]
            return False
        if problem := run.problem():
            self.say("reference: none ran cleanly; the independent writer's solution is tried as the reference")
            await self.write_alternative()
            other = self.outcome.alternative_runs[-1] if self.outcome.alternative_runs else None
            if other is None or other.problem() is not None:
                self.outcome.reason = (f"the reference solution never ran cleanly in the task's image: {first_line(problem, 500)}"
                                       " (nor did the independent writer's solution)")  # fmt: skip
                return False
            self.solution, self.alternative, run = self.alternative, "", other
            self.outcome.reference_runs.append(other)  # the reference's last run is the one its outputs come from
            self.say("reference: the independent writer's solution ran cleanly and is the reference; another independent solution is written")
        self.observed = run.shown()
        return True

    async def reference_that_runs(self, feedback: str | None = None) -> ReferenceRun | None:
        """The reference (re)written, run in the image, and rewritten from its run until it runs
        cleanly: first from the task alone; after a gate round (`feedback`: why it failed the tests)
        with the tests in view. In a real run both gate-round rewrites crashed at once (`NameError`
        in a heredoc), which cost a gate round each."""
        async def write(problem: str | None, previous: str | None) -> str:
            return await write_solution(self.llm, self.spec, self.environment, self.tests or None, feedback=problem or feedback,
                                        previous=previous or self.solution or None, ran=problem is not None)  # fmt: skip

        self.solution, run = await self.until_it_runs("reference", write, self.outcome.reference_runs)
        return run

    async def write_alternative(self, feedback: str | None = None) -> None:
        """The independent solution, run in the image like the reference and rewritten from its own
        run (never the tests, never the reference) until it exits 0 and leaves every output the task
        names: one that crashes or writes nothing cannot pass, and would only cost a gate round and a
        Judge's verdict (in run J the 1.5B's independent solution scored 0 in every gate round). After
        max_rounds it goes to the gate as it is, where the Judge sorts out who is wrong. `feedback`:
        the Judge's finding against it in a gate round, which its first rewrite starts from."""
        async def write(problem: str | None, previous: str | None) -> str:
            return await alternative_solution(self.llm, self.spec, self.environment, feedback=problem or feedback,
                                              previous=previous or self.alternative or None, ran=problem is not None)  # fmt: skip

        self.alternative, _ = await self.until_it_runs("independent solution", write, self.outcome.alternative_runs)

    async def until_it_runs(self, name: str, write: Callable[[str | None, str | None], Awaitable[str]], runs: list[ReferenceRun]) -> tuple[str, ReferenceRun | None]:
        """A solution written by `write(problem, previous)`, run in the image and rewritten from what
        its run showed until it exits 0 and leaves every output the task names, the image does not
        build, or max_rounds; each run goes to `runs`. A well-known package it needs and the image
        lacks goes into the image, and the same script runs again with no rewrite. Returns the last
        script and its last run (None without an image to run it in)."""
        script, run, problem = "", None, None
        for number in range(1, self.max_rounds + 1):
            try:
                script = await write(problem, script or None)
            except StructuredOutputError as exc:  # no usable rewrite: the last script stands (run P: a reference lost the task so)
                if not script:
                    raise
                self.say(f"{name}, round {number}: no usable rewrite ({first_line(str(exc))}); the last one stands")
                break
            if self.reference_run is None:
                return script, None
            script = await self.pinned(script)
            run = await asyncio.to_thread(self.run_in_image, script, self.dockerfile)
            problem = run.problem()
            if problem and (installed := await with_what_it_lacks(self.dockerfile, run.log, partial(self.run_in_image, script), lambda again: not again.image_problem)):
                runs.append(run)
                dockerfile, installs, run = installed
                self.adopt(dockerfile)
                script = await self.pinned(script)  # to what the new image now holds
                self.say(f"{name}, round {number}: the image lacks what it uses; the Dockerfile now installs {installs}")
            run.pip_installs = unpinned_pip(script)
            problem = run.problem()
            if problem and (offered := await self.modules_offered(lacking_modules(run.log))):
                problem += f"\n{offered}"
            if problem and (keys := unknown_keys_hint(run.log, self.files)):
                problem += f"\n{keys}"
            runs.append(run)
            self.say(f"{name}, round {number}: " + ("it ran and wrote every output the task names" if problem is None else first_line(problem)))
            if problem is None or run.image_problem:
                break
        return script, run

    def run_in_image(self, script: str, dockerfile: str) -> ReferenceRun:
        assert self.reference_run is not None
        return self.reference_run(self.files, dockerfile, script, self.spec.outputs)

    async def modules_offered(self, modules: list[str]) -> str:
        """What `modules` offer in the image, for a writer whose program asked them for a name they lack."""
        try:
            return await asyncio.to_thread(what_modules_offer, self.files, self.dockerfile, modules) if modules else ""
        except ImageNotBuilt:  # the run reports it
            return ""

    def tests_in_image(self, solution: str, dockerfile: str, tests: str) -> TestsRun | None:
        assert self.tests_run is not None
        return self.tests_run(self.files, dockerfile, tests, solution)

    def layout(self) -> str:
        return environment_text(self.files, self.dockerfile, contents=False)

    def _use(self, dockerfile: str) -> None:
        """Every later run and writer uses `dockerfile`."""
        self.dockerfile, self.environment = dockerfile, environment_text(self.files, dockerfile)

    def adopt(self, dockerfile: str) -> None:
        """A Dockerfile that installs what the task's scripts need: every later run and writer uses it."""
        self._use(dockerfile)
        self.outcome.dockerfile = dockerfile

    async def image_versions(self) -> dict[str, str]:
        """Canonical name -> version: each Python package the image holds, when it is built here
        (docker), over our table of well-known releases."""
        if self.reference_run is None:
            return dict(KNOWN_VERSIONS)
        if self.dockerfile not in self.versions:  # built and asked once per Dockerfile: pinning, each run of a solution, each gate round
            try:
                self.versions[self.dockerfile] = await asyncio.to_thread(installed_versions, self.files, self.dockerfile)
            except ImageNotBuilt:  # the reference run reports it
                return dict(KNOWN_VERSIONS)
        return KNOWN_VERSIONS | self.versions[self.dockerfile]

    async def pinned(self, script: str) -> str:
        """`script` with each `pip install` pinned to the version the image holds (a solution's `pip
        install pandas`, which the image has, then does the same); as it is when it installs nothing."""
        return pip_pinned(script, await self.image_versions()) if unpinned_pip(script) else script

    async def pin_installs(self) -> None:
        """Each `pip install` of the Dockerfile pinned to the exact version the image holds: Harbor's
        lint refuses it unpinned, and run Q's first task past the gate failed `termigen validate` on
        `RUN pip install pandas && pip install pyarrow`."""
        pinned = pip_pinned(self.dockerfile, await self.image_versions())
        if pinned != self.dockerfile:
            done = [name for name in unpinned_pip(self.dockerfile) if name not in unpinned_pip(pinned)]
            self.say(f"Dockerfile: pinned {', '.join(done)} to the versions the image holds")
            if self.dockerfile in self.versions:  # the same packages, pinned: not built and asked again
                self.versions[pinned] = self.versions[self.dockerfile]
            self._use(pinned)

    async def write_tests(self, feedback: str | None = None) -> bool:
        """New tests (revising the last ones when there is feedback); False when they were never approved."""
        runs_cleanly = self.tests_run is not None and bool(self.outcome.reference_runs) and self.outcome.reference_runs[-1].problem() is None
        run_tests = partial(self.tests_in_image, self.solution) if runs_cleanly else None  # against a reference that fails, a test run proves nothing
        alternative_ran = bool(self.outcome.alternative_runs) and self.outcome.alternative_runs[-1].problem() is None
        run_alternative = partial(self.tests_in_image, self.alternative) if runs_cleanly and alternative_ran else None
        written = await generate_tests(self.llm, self.spec, self.files, self.dockerfile, self.collect, feedback=feedback, previous=self.tests or None,
                                       category=self.category, say=self.say, observed=self.observed, run_tests=run_tests, reference=self.solution,
                                       run_alternative=run_alternative)  # fmt: skip
        self.outcome.test_rounds += written.rounds
        self.outcome.disputes += written.disputes
        if written.dockerfile != self.dockerfile:
            self.adopt(written.dockerfile)
        if not written.approved:
            self.outcome.reason = f"the tests were never approved ({written.rounds[-1].by}): " + "; ".join(written.rounds[-1].problems)[:600]
            return False
        self.tests = written.tests
        if written.reference_fault:  # the reference fails the approved tests and was found at fault: rewritten now, not after a gate round
            self.say(f"tests: {first_line(written.reference_fault)}")  # it says who found the reference at fault
            await self.reference_that_runs(f"- {written.reference_fault}")
        return True

    async def repair(self, gate: GateResult) -> bool:
        """Sends each failure of the gate to what must change: the tests, the reference or the
        independent solution (a Judge decides between tests and solution); False when new tests
        were never approved."""
        for_tests = [p.reason for p in gate.problems if p.stage == "tests"]
        for_solution = []
        if not for_tests:  # the reference is judged only against tests nothing else objects to
            for problem in (p for p in gate.problems if p.stage == "solution"):
                verdict = await self.judged(gate, problem, reference=True, for_tests=for_tests)
                if verdict.wrong == "solution":
                    for_solution.append(f"{problem.reason}\nA judge found the solution at fault: {verdict.reason}")
        for problem in (p for p in gate.problems if p.stage == "alternative"):
            verdict = await self.judged(gate, problem, reference=False, for_tests=for_tests)
            if verdict.wrong == "solution":
                await self.write_alternative(f"{verdict.reason}\nEvidence: {problem.reason}")
        if for_tests:
            if not await self.write_tests("\n".join(f"- {r}" for r in for_tests)):
                return False
            if self.k_lazy:  # attack the new tests too; the old attacks must still fail
                self.lazies += await lazy_solutions(self.llm, self.spec, self.layout(), self.tests, self.k_lazy, known=[lazy.idea for lazy in self.lazies])
        elif for_solution:  # the reference is rewritten only against tests nothing else objects to (and the judge upheld)
            await self.reference_that_runs("\n".join(f"- {r}" for r in for_solution))
        return True

    async def judged(self, gate: GateResult, problem: Problem, reference: bool, for_tests: list[str]) -> GateVerdict:
        """The Judge's verdict on a solution that failed the tests; tests found at fault go to `for_tests`."""
        others_fail = reference and gate.alternative is not None and gate.alternative < 1
        script = self.solution if reference else self.alternative
        try:
            verdict = await judge_dispute(self.llm, self.spec, self.tests, script, problem.reason, reference=reference, others_fail=others_fail)
        except StructuredOutputError as exc:  # no verdict (the 1.5B Judge's reply was cut off): the tests stand, the solution is rewritten
            verdict = GateVerdict(wrong="solution", reason=f"the judge gave no usable verdict ({first_line(str(exc))}): the tests stand")
        self.outcome.disputes.append(Dispute(evidence=problem.reason, verdict=verdict, solution="reference" if reference else "independent"))
        if verdict.wrong == "tests":
            which = "the reference solution fails" if reference else "an independent solution fails"
            for_tests.append(f"{which} them, and a judge found the tests at fault: {verdict.reason}\nEvidence: {problem.reason}")
        return verdict
