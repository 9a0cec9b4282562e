"""Spec (synthesis stage 1): seeds per category, then a Proposer-Evaluator loop that turns a seed into a
feasible specification, or rejects it with its scores and reasons."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from termigen_harbor.llm import LLM
from termigen_harbor.prompts import render
from termigen_harbor.synthesis.examples import examples_for
from termigen_harbor.taxonomy import Category
from termigen_harbor.text import words
from termigen_harbor.verifier_sandbox import ABSOLUTE_PATH_RE as WHOLE_PATH_RE, output_paths  # WHOLE_PATH_RE: a whole path, `/var/log/nginx/error.log`

DUPLICATE_JACCARD = 0.6  # word-set overlap from which two seeds count as the same task


MIN_SEED_WORDS = 3
SEED_ROUNDS = 3  # seed-writer replies at most, while it repeats seeds that exist


class Seeds(BaseModel):
    seeds: list[str] = Field(min_length=1)

    @field_validator("seeds")
    @classmethod
    def _sentences(cls, seeds: list[str]) -> list[str]:
        """A seed names a problem in a sentence; a small model sometimes lists file paths or names instead."""
        bad = [s for s in seeds if len(s.split()) < MIN_SEED_WORDS or s.strip().startswith(("/", "./", "~"))]
        if bad:
            raise ValueError(f"each seed must be one sentence of at least {MIN_SEED_WORDS} words naming a concrete problem, "
                             f"not a path or a name; these are not: {bad[:5]}")  # fmt: skip
        return seeds


RESTATED_CONSTRAINT_RE = re.compile(
    r"docker container|network access|\b1 cpu\b|\b2 ?gb\b|an expert|5 to 30 minutes|constraints and requirements|debian (?:bookworm|packages)", re.I
)


RELATIVE_PATH_RE = re.compile(r"(?:\./)?[\w.-]+(?:/[\w.-]+)*/?")  # `out.json`, `data/orders.csv`: no spaces, no leading / or ~


ABSOLUTE_PATH_RE = re.compile(r"(?<![\w.:/])/[\w.*-]+")  # `/app/out.json`, `/var/log/x.log: ...`; not `w/o`, not a URL's `//host`
PORT_RE = re.compile(r"\bport \d{2,5}\b|(?:localhost|127\.0\.0\.1|0\.0\.0\.0):\d{2,5}\b", re.I)  # a service's output: where it listens
# an output that is an existing file changed (`/app/nginx/default.conf: the modified configuration`); a task that saves back
CHANGE_WORDS = r"modif|fix|correct|repair|updat|chang|edit|patch"
CHANGED_RE = re.compile(rf"\b(?:{CHANGE_WORDS})\w*", re.I)
# a task that rewrites its input: changed, or sorted, cleaned, converted ... in place
IN_PLACE_RE = re.compile(rf"\b(?:{CHANGE_WORDS}|sort|clean|normali[sz]|dedup|format|rewrit|replac|remov|renam|reorder|convert|transform|sanitiz"
                         r"|strip|trim|merg|append|insert|delet|add|encrypt|decrypt|compress|migrat|upgrad|refactor)\w*", re.I)
SAVED_BACK_RE = re.compile(r"\bin[ -]place\b|\bsaved? back\b|\bback to the (?:same |original )?file\b", re.I)
# where the system or a service writes (`/var/log/nginx/error.log`): never a solution's output
SYSTEM_PLACES = ("/var/log/", "/var/run/", "/run/", "/proc/", "/sys/", "/dev/")
SERVICE_RE = re.compile(r":\s*(?:an? |the )?(?:tcp|udp|http) port\b", re.I)  # `/app/port/x: TCP port where ...`: a port given as an output's path


# files known by a name without an extension: `Makefile` alone is a file, `stdout` is not
NAMED_FILES = frozenset({"Makefile", "makefile", "GNUmakefile", "Dockerfile", "Containerfile", "Rakefile", "Gemfile", "Procfile",
                         "Jenkinsfile", "Vagrantfile", "Pipfile", "README", "LICENSE", "CHANGELOG"})  # fmt: skip


def _relative_path(text: str) -> bool:
    """`out.json`, `./data/orders.csv`, `output/`, `Makefile`: a path relative to the working
    directory (a file with an extension or a known name, or a path with a folder), not a word such
    as `stdout`, nor `..`."""
    path = text.removeprefix("./")
    return bool(RELATIVE_PATH_RE.fullmatch(text)) and ".." not in path.split("/") and ("/" in path or "." in path.lstrip(".") or path in NAMED_FILES)


def _in_app(text: str) -> str:
    """`out.json` or `output/log.json: the translated log` (a relative path, alone or before its
    description) as the file in /app; `app/output/x` is /app/output/x, not /app/app/...; anything
    else as it is."""
    path, colon, rest = text.partition(": ")
    if not _relative_path(path.strip()):
        return text
    return f"/app/{path.strip().removeprefix('./').removeprefix('app/')}{colon}{rest}"


class TaskSpec(BaseModel):
    title: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{2,60}$")
    objective: str
    inputs: list[str]
    outputs: list[str] = Field(min_length=1)
    success_criteria: list[str] = Field(min_length=3)
    difficulty: Literal["easy", "medium", "hard"]

    @field_validator("success_criteria")
    @classmethod
    def _about_the_outputs(cls, criteria: list[str]) -> list[str]:
        """A criterion that restates the prompt's constraints ("No network access is needed", "A
        correct solution takes an expert 5 to 30 minutes") goes while three are left: no test can
        check it, and the 1.5B model's Judge sent tests back for not checking one."""
        kept = [c for c in criteria if not RESTATED_CONSTRAINT_RE.search(c)]
        return kept if len(kept) >= 3 else criteria

    @field_validator("inputs", "outputs")
    @classmethod
    def _in_the_working_directory(cls, paths: list[str]) -> list[str]:
        """A bare relative path (`corrected.json`) is the file in /app, the task's working
        directory, and is named so: tests, solutions and the file checks then agree on where it
        is (the 1.5B model's tests looked for `corrected.json` in the verifier's own folder)."""
        return [_in_app(p) for p in paths]

    @field_validator("outputs")
    @classmethod
    def _each_at_a_path(cls, outputs: list[str]) -> list[str]:
        """Every output names where it is: a path (or, for a service, its port). An output such as
        "Database query profiling report" passed the 1.5B Evaluator; its tests then invented paths,
        which the file check rightly rejected, after the files, the image and the tests were made.
        Sent back here, the Proposer names the file before anything is built."""
        vague = [o for o in outputs if not (ABSOLUTE_PATH_RE.search(o) or PORT_RE.search(o))]
        restated = [o for o in vague if RESTATED_CONSTRAINT_RE.search(o)]
        if restated and len(restated) < len(outputs):  # the prompt's constraints copied in as an output (three replies of a real run): no file to write
            outputs, vague = [o for o in outputs if o not in restated], [o for o in vague if o not in restated]
        if vague:
            raise ValueError(f"these outputs name no file: {vague[:3]}. Give every output as its absolute path and format, "
                             "for example `/app/output/report.json: a JSON object with keys ...` (a service: the port it listens on)")  # fmt: skip
        # a real run: "/app/port/monitoring: TCP port where the monitoring service listens", which the
        # 1.5B Evaluator passed; the reference then served in the foreground in each of three rounds
        unnumbered = [o for o in outputs if SERVICE_RE.search(o) and not PORT_RE.search(o)]
        if unnumbered:
            raise ValueError(f"these outputs are services with no port number: {unnumbered[:3]}. A service output names its port, "
                             "for example `an HTTP service on port 8080 answering GET /health`; a file output is the file a solution writes")  # fmt: skip
        return outputs

    @model_validator(mode="after")
    def _changed_files_are_inputs(self) -> TaskSpec:
        """A task with no inputs whose outputs are files it changes (`.../default.conf: a text file
        with the modified nginx configuration`, the objective "saved back to the file") ships those
        files as inputs: there is nothing to change otherwise. Run P: the 1.5B's nginx spec named
        no input; the image never held the file, and three references failed to read it."""
        if self.inputs:
            return self
        changed = [o for o in self.outputs if CHANGED_RE.search(o.partition(": ")[2]) or SAVED_BACK_RE.search(o.partition(": ")[2])]
        if not changed and SAVED_BACK_RE.search(self.objective):  # not "the correct total": only a file saved back
            changed = self.outputs[:1]
        self.inputs = [o.partition(": ")[0] for o in changed if ABSOLUTE_PATH_RE.match(o)]
        return self

    def as_text(self) -> str:
        return self.model_dump_json(indent=2)


def _system_written(output: str) -> bool:
    """Whether every absolute path `output` leads with (before its description) is where the system or a service writes."""
    paths = WHOLE_PATH_RE.findall(output.partition(": ")[0])
    return bool(paths) and all((path + "/").startswith(SYSTEM_PLACES) for path in paths)


class ProposedSpec(TaskSpec):
    # A spec as the Proposer writes it: checked for what only a new proposal is sent back for (a
    # saved spec loads as a TaskSpec whatever these checks become). The schema the model is shown is
    # TaskSpec's (a comment, not a docstring: a docstring would go to the model as its description).
    model_config = ConfigDict(title="TaskSpec")

    @model_validator(mode="before")
    @classmethod
    def _reads_more_than_it_writes(cls, data: object) -> object:
        """A task whose every input, as the Proposer named them, is one of its outputs, and that
        changes nothing in place, has nothing to read. Run R: "count the log messages by severity
        in /app/log_counts.txt", whose only input was that file, holding the counts; three rounds
        of tests then crashed reading log lines that were never there."""
        if not isinstance(data, dict) or not isinstance(data.get("inputs"), list) or not isinstance(data.get("outputs"), list):
            return data  # the fields' own validation says what is wrong
        outputs = [_in_app(str(o)) for o in data["outputs"]]
        read = [paths[0] if (paths := output_paths([_in_app(str(i))])) else None for i in data["inputs"]]
        texts = [str(data.get("objective", "")), *(o.partition(": ")[2] for o in outputs)]
        if read and None not in read and set(read) <= set(output_paths(outputs)) and not any(IN_PLACE_RE.search(t) or SAVED_BACK_RE.search(t) for t in texts):
            raise ValueError(f"every input is also an output ({', '.join(read)}) and the task changes nothing in place: it has nothing to read. "
                             "Name the files the work starts from as inputs (for example `/app/logs/app.log: ...`), apart from the files it writes")  # fmt: skip
        return data

    @model_validator(mode="after")
    def _written_by_the_solution(self) -> ProposedSpec:
        """An output where the system or a service writes goes while others are left; alone, it goes
        back. Run R: nginx's error log named as an output, which every solution then "left unchanged"."""
        system = [o for o in self.outputs if _system_written(o)]
        if system and len(system) == len(self.outputs):
            raise ValueError(f"these outputs are files the system or a service writes, not a solution: {system[:3]}. Name the file the solution "
                             "itself writes, for example `/app/output/report.json: ...`")  # fmt: skip
        self.outputs = [o for o in self.outputs if o not in system]
        return self


SPEC_THRESHOLD = 4  # every Evaluator score must reach it (SynthesisConfig.threshold)


def _all_required(schema: dict) -> None:
    schema["required"] = list(schema.get("properties", {}))


class Evaluation(BaseModel):
    # The review comes first, then the scores: a model (grammar-constrained on the local backend,
    # which follows the schema's order and asks a non-empty review) reasons before it scores.
    # (A comment, not a docstring: a docstring would go to the model as the schema's description.)
    model_config = ConfigDict(json_schema_extra=_all_required)

    feedback: str = Field(default="", json_schema_extra={"minLength": 1}, description="what is good, what is missing and how to fix it")
    environment_complexity: int = Field(ge=1, le=5)
    data_generatability: int = Field(ge=1, le=5)
    verification_determinism: int = Field(ge=1, le=5)

    @model_validator(mode="after")
    def says_why(self) -> Evaluation:
        """A rejecting score needs its reason (what is missing, how to fix it): the Proposer revises
        from it. A passing 4 needs none; a small model often leaves it out, and asking again cost
        whole specs."""
        if min(self.environment_complexity, self.data_generatability, self.verification_determinism) < SPEC_THRESHOLD and not self.feedback.strip():
            raise ValueError(f"explain every score below {SPEC_THRESHOLD} in `feedback`: what is missing and how to fix it")
        return self

    def scores(self) -> tuple[int, int, int]:
        return self.environment_complexity, self.data_generatability, self.verification_determinism

    def passes(self, threshold: int) -> bool:
        return min(self.scores()) >= threshold


EVALUATOR_SAMPLES = 3  # a borderline review is the median of this many


def median_review(reviews: list[Evaluation], threshold: int) -> Evaluation:
    """Each score the median of the reviews' (an odd number of them); the feedback of those that
    scored below `threshold` where the median does too, else the first's."""
    env, data, verification = (sorted(column)[len(column) // 2] for column in zip(*(r.scores() for r in reviews)))
    failing = min(env, data, verification) < threshold
    feedback = [r.feedback.strip() for r in reviews if r.feedback.strip() and (not failing or not r.passes(threshold))]
    return Evaluation(feedback="\n".join(dict.fromkeys(feedback)), environment_complexity=env, data_generatability=data, verification_determinism=verification)


async def evaluate(llm: LLM, category: Category, spec: TaskSpec, threshold: int) -> tuple[Evaluation, list[Evaluation]]:
    """The Evaluator's review, and every sample it was drawn from. One review decides a clear case;
    a borderline one (its lowest score just below or at `threshold`) is sampled again and the
    median of EVALUATOR_SAMPLES decides: the 1.5B Evaluator scored one unchanged spec 3-4-5, then
    4-3-5, then 4-5-3, and a single draw rejected specs on noise (4 of 12 in two runs)."""
    prompt = render("evaluator", category=category, spec=spec.as_text(), threshold=threshold)
    reviews = [await llm.structured(prompt, Evaluation, purpose="evaluator")]
    if min(reviews[0].scores()) not in (threshold - 1, threshold):
        return reviews[0], []
    for _ in range(EVALUATOR_SAMPLES - 1):
        reviews.append(await llm.structured(prompt, Evaluation, purpose="evaluator"))
    return median_review(reviews, threshold), reviews


class Round(BaseModel):
    spec: TaskSpec
    evaluation: Evaluation
    samples: list[Evaluation] = Field(default_factory=list)  # the reviews a borderline evaluation is the median of


class SpecOutcome(BaseModel):
    seed: str
    category: str
    accepted: bool
    spec: TaskSpec | None = None
    rounds: list[Round] = Field(default_factory=list)
    reason: str | None = None


def word_set(text: str) -> set[str]:
    return set(words(text))


def near_duplicate(a: str, b: str, threshold: float = DUPLICATE_JACCARD) -> bool:
    wa, wb = word_set(a), word_set(b)
    return bool(wa and wb) and len(wa & wb) / len(wa | wb) >= threshold


def dedupe(candidates: list[str], existing: list[str]) -> tuple[list[str], list[str]]:
    """(kept, dropped): a candidate too close to an existing one or to one kept before it is dropped."""
    kept: list[str] = []
    dropped: list[str] = []
    for seed in candidates:
        seed = seed.strip()
        if not seed or any(near_duplicate(seed, other) for other in [*existing, *kept]):
            dropped.append(seed)
        else:
            kept.append(seed)
    return kept, dropped


async def write_seeds(llm: LLM, category: Category, n: int, existing: list[str]) -> tuple[list[str], list[str]]:
    """`n` new seeds for `category`, and the duplicates dropped. The model is asked again, told what
    it repeated, while it has written fewer than `n` new ones (SEED_ROUNDS replies at most, then fewer
    are returned). The template examples' seeds count as existing: the 1.5B model copied them."""
    taken = [*existing, *(e.summary for e in examples_for(category.id, 3))]
    kept: list[str] = []
    dropped: list[str] = []
    for _ in range(SEED_ROUNDS):
        prompt = render("seed_writer", category=category, n=n - len(kept), avoid=[*taken, *kept, *dropped][-50:])
        reply = await llm.structured(prompt, Seeds, purpose="seed_writer")
        new, repeated = dedupe(reply.seeds, [*taken, *kept])
        kept, dropped = kept + new, dropped + repeated
        if len(kept) >= n:
            break
    return kept[:n], dropped


async def refine_spec(llm: LLM, seed: str, category: Category, threshold: int = SPEC_THRESHOLD, max_rounds: int = 3, evaluator: LLM | None = None) -> SpecOutcome:
    """Proposer, then Evaluator; revised with the feedback until every score reaches `threshold`."""
    outcome = SpecOutcome(seed=seed, category=category.id, accepted=False)
    feedback = previous = None
    example = next(iter(examples_for(category.id, 1)), None)
    for _ in range(max_rounds):
        prompt = render("proposer", category=category, seed=seed, example=example, feedback=feedback, previous=previous)
        spec = TaskSpec.model_validate((await llm.structured(prompt, ProposedSpec, purpose="proposer")).model_dump())
        evaluation, samples = await evaluate(evaluator or llm, category, spec, threshold)
        outcome.rounds.append(Round(spec=spec, evaluation=evaluation, samples=samples))
        if evaluation.passes(threshold):
            outcome.accepted, outcome.spec = True, spec
            return outcome
        feedback, previous = evaluation.feedback or "raise the low scores", spec.as_text()
    last = outcome.rounds[-1].evaluation
    outcome.reason = (
        f"scores stayed below {threshold} after {max_rounds} rounds (environment {last.environment_complexity}, "
        f"data {last.data_generatability}, verification {last.verification_determinism}): {last.feedback}"
    )
    return outcome
