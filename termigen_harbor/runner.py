"""The one runner: a Harbor job through Harbor's Python API, with typed per-trial results.

Validation, rollouts and evaluation all call `run_job`. It builds Harbor's own `JobConfig`, runs
`Job`, then reads the job directory back with `read_job` (which also works on any finished or
interrupted Harbor job directory). Harbor resumes a job whose directory already holds a result
with the same config, so re-running the same spec continues where it stopped.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import shutil
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from harbor.job import Job
from harbor.agents.factory import AgentFactory
from harbor.models.environment_type import EnvironmentType
from harbor.models.job.config import DatasetConfig, JobConfig, RetryConfig
from harbor.models.trial.config import AgentConfig, EnvironmentConfig, TaskConfig
from harbor.models.trial.result import TimingInfo, TrialResult
from harbor.utils.logger import logger as HARBOR_LOGGER
from pydantic import BaseModel, Field, ValidationError

from termigen_harbor.build_locks import use_per_loop_build_locks
from termigen_harbor.files import FolderBusy, exclusive
from termigen_harbor.leftovers import remove_trial_leftovers

TELLING_RE = re.compile(r"failed to solve|did not complete successfully|exit code|error:|Error:|ERROR|timed out|No such|not found", re.I)
PHASES = ("environment_setup", "agent_setup", "agent_execution", "verifier")
UNREACHABLE = ("APIConnectionError", "APITimeoutError", "Timeout", "ServiceUnavailableError")  # litellm's, in Harbor's own agents


class RunnerError(RuntimeError):
    """The job could not be set up or its output could not be read; the message says why."""


class RunSpec(BaseModel):
    tasks: list[Path] = Field(default_factory=list)
    datasets: list[str] = Field(default_factory=list)  # Harbor registry datasets, "name@version"
    agent: str = "oracle"  # a Harbor agent name (oracle, nop, terminus-2, ...) or module:Class
    model: str | None = None
    agent_kwargs: dict[str, Any] = Field(default_factory=dict)
    n_attempts: int = Field(default=1, ge=1)
    n_concurrent: int = Field(default=2, ge=1)
    env: str = "docker"  # a Harbor environment type, or module:Class
    env_kwargs: dict[str, Any] = Field(default_factory=dict)
    jobs_dir: Path = Path("jobs")
    job_name: str | None = None
    delete: bool = True
    max_retries: int = 0
    quiet: bool = True
    agent_timeout_multiplier: float | None = Field(default=None, gt=0)  # Harbor's: scales each task's agent timeout


class TestOutcome(BaseModel):
    __test__ = False  # not a pytest test class
    name: str
    outcome: Literal["passed", "failed", "error", "skipped"]
    message: str | None = None
    details: str | None = None  # the end of the failure's report (the traceback), when asked for


class TrialOutcome(BaseModel):
    task: str
    trial: str
    attempt: int
    agent: str
    model: str | None = None
    reward: float | None = None
    rewards: dict[str, float] = Field(default_factory=dict)
    tests: list[TestOutcome] = Field(default_factory=list)
    exception_type: str | None = None
    exception_message: str | None = None
    n_input_tokens: int | None = None
    n_cache_tokens: int | None = None
    n_output_tokens: int | None = None
    cost_usd: float | None = None
    agent_metadata: dict[str, Any] = Field(default_factory=dict)
    task_path: Path | None = None
    started_at: datetime | None = None
    durations_sec: dict[str, float | None] = Field(default_factory=dict)
    trajectory_path: Path | None = None
    trial_dir: Path

    @property
    def agent_error(self) -> str | None:
        """What stopped an agent that records its own errors (ours, in its metadata) and lets the
        verifier run anyway: the reward then says nothing about the model."""
        return self.agent_metadata.get("agent_error")

    @property
    def errored(self) -> bool:
        """An infrastructure or agent exception, as opposed to a verified failure."""
        return (self.exception_type is not None and self.reward is None) or bool(self.agent_error)

    @property
    def model_unreachable(self) -> bool:
        """The model's endpoint did not answer (a server that died, a network that hung): the
        trial is run again by the next run of the same command."""
        return bool(self.agent_metadata.get("model_unreachable")) or (self.reward is None and self.exception_type in UNREACHABLE)

    @property
    def passed(self) -> bool:
        return self.reward is not None and self.reward >= 1.0

    def error_summary(self) -> str | None:
        """`ExceptionType: the telling line` for a trial that errored, else None: the last line
        that reports a failure (a build's `failed to solve: ... exit code: 3`), else the first."""
        if not self.errored:
            return None
        again = " (the model did not answer: the same command runs this trial again)" if self.model_unreachable else ""
        if self.agent_error and not self.exception_type:
            return f"agent error: {self.agent_error[:400]}{again}"
        lines = [line.strip() for line in (self.exception_message or "").splitlines() if line.strip() and "level=warning" not in line]
        telling = [line for line in lines if TELLING_RE.search(line)]
        line = (telling[-1] if telling else lines[0] if lines else "")[:400]
        return f"{self.exception_type}: {line}".rstrip(": ") + again

    def test_names(self, *outcomes: str, messages: bool = False) -> list[str]:
        """The short names of the tests with these outcomes (with their messages when asked)."""
        return [t.name.rsplit("::", 1)[-1] + (f" ({t.message})" if messages and t.message else "") for t in self.tests if t.outcome in outcomes]

    @property
    def test_pass_ratio(self) -> float | None:
        counted = [t for t in self.tests if t.outcome != "skipped"]
        if not counted:
            return None
        return sum(t.outcome == "passed" for t in counted) / len(counted)


class JobOutcome(BaseModel):
    job_dir: Path
    trials: list[TrialOutcome]

    @property
    def n_errors(self) -> int:
        return sum(t.errored for t in self.trials)

    @property
    def mean_reward(self) -> float | None:
        """Mean reward over trials, errors counted as 0 (as Harbor does)."""
        if not self.trials:
            return None
        return sum(t.reward or 0.0 for t in self.trials) / len(self.trials)

    def by_task(self) -> dict[str, list[TrialOutcome]]:
        grouped: dict[str, list[TrialOutcome]] = defaultdict(list)
        for trial in self.trials:
            grouped[trial.task].append(trial)
        return dict(sorted(grouped.items()))

    @property
    def n_input_tokens(self) -> int:
        return sum(t.n_input_tokens or 0 for t in self.trials)

    @property
    def n_output_tokens(self) -> int:
        return sum(t.n_output_tokens or 0 for t in self.trials)

    @property
    def cost_usd(self) -> float:
        return sum(t.cost_usd or 0.0 for t in self.trials)


# ---------------------------------------------------------------------- building the job
def _agent_config(spec: RunSpec) -> AgentConfig:
    """Harbor's agent config; Harbor's AgentFactory resolves it now, so a wrong name or import
    path fails here, before the job, with Harbor's list of its agents."""
    import_path = ":" in spec.agent  # kept as Harbor writes it, so that earlier jobs still resume
    config = AgentConfig(import_path=spec.agent if import_path else None, name=None if import_path else spec.agent, model_name=spec.model, kwargs=spec.agent_kwargs)
    try:
        AgentFactory.get_agent_class_from_config(config)
    except (ValueError, ImportError, AttributeError) as exc:
        raise RunnerError(f"unknown agent {spec.agent!r}: {exc}. Harbor's agents: {', '.join(AgentFactory.registered_names())}; or module:Class") from None
    return config


def _environment_config(spec: RunSpec) -> EnvironmentConfig:
    if ":" in spec.env:
        return EnvironmentConfig(import_path=spec.env, delete=spec.delete, kwargs=spec.env_kwargs)
    types = {e.value for e in EnvironmentType}
    if spec.env not in types:
        raise RunnerError(f"unknown environment type {spec.env!r}: one of {', '.join(sorted(types))}, or module:Class")
    return EnvironmentConfig(type=EnvironmentType(spec.env), delete=spec.delete, kwargs=spec.env_kwargs)


def job_config(spec: RunSpec) -> JobConfig:
    if not spec.tasks and not spec.datasets:
        raise RunnerError("no tasks to run")
    fields: dict[str, Any] = dict(
        jobs_dir=spec.jobs_dir,
        n_attempts=spec.n_attempts,
        n_concurrent_trials=spec.n_concurrent,
        quiet=spec.quiet,
        retry=RetryConfig(max_retries=spec.max_retries),
        agent_timeout_multiplier=spec.agent_timeout_multiplier,
        environment=_environment_config(spec),
        agents=[_agent_config(spec)],
        tasks=[TaskConfig(path=Path(p).resolve()) for p in spec.tasks],
        datasets=[DatasetConfig(name=name, version=version or None) for name, _, version in (d.partition("@") for d in spec.datasets)],
    )
    if spec.job_name:
        return JobConfig(**fields, job_name=spec.job_name)
    config = JobConfig(**fields)  # a new job, named by Harbor's timestamp, which has one-second resolution:
    base, n = config.job_name, 2  # two jobs started in one second (a build repaired without a model call) must not share a folder
    while (Path(config.jobs_dir) / config.job_name).exists():
        config.job_name, n = f"{base}-{n}", n + 1
    return config


def keep_started_concurrency(config: JobConfig) -> None:
    """Harbor resumes a job only with an identical config (and lock). How many trials run at once
    changes no result, so a job of this name resumes with the concurrency it was started with."""
    path = Path(config.jobs_dir) / config.job_name / "config.json"
    if not path.is_file():
        return
    started = JobConfig.model_validate_json(path.read_text()).n_concurrent_trials
    if started != config.n_concurrent_trials:
        print(f"resuming {path.parent} with the concurrency it was started with ({started}), not {config.n_concurrent_trials}", file=sys.stderr)
        config.n_concurrent_trials = started


INTERRUPTED = ("CancelledError", "KeyboardInterrupt")  # a trial stopped by Ctrl-C or SIGTERM, not by itself


def _rerun_reason(result_path: Path) -> str | None:
    """Why a recorded trial says nothing about the task or the agent and must run again, or None."""
    try:
        result = json.loads(result_path.read_text())
    except (OSError, ValueError):
        return "result cut short"  # Harbor writes result.json in place: a kill can leave half of it
    if (result.get("exception_info") or {}).get("exception_type") in INTERRUPTED:
        return "interrupted"
    try:
        trial = read_trial(result_path.parent)
    except RunnerError:
        return None  # not a result Harbor wrote: left as it is
    return "the model did not answer" if trial.model_unreachable else None


def forget_interrupted_trials(job_dir: Path) -> dict[str, str]:
    """Trials to run again when the job resumes, removed from the job folder: {trial: why}.

    Harbor records a trial that was running when the job was stopped (Ctrl-C, SIGTERM) with its
    CancelledError, and a resumed job would keep that as the trial's outcome; the same goes for a
    trial whose model endpoint died or hung, and for a result.json cut short by a kill. None says
    anything about the task or the agent."""
    forgotten = {}
    for result in sorted(Path(job_dir).glob("*/result.json")):
        reason = _rerun_reason(result)
        if reason:
            shutil.rmtree(result.parent)
            forgotten[result.parent.name] = reason
    return forgotten


TRIAL_DIR_RE = re.compile(r"^.+__[A-Za-z0-9]+$")  # Harbor's trial names: <task>__<random suffix>


def unfinished_trials(job_dir: Path) -> list[str]:
    """Trials that have a folder but no result: running when their process was killed."""
    return sorted(p.name for p in Path(job_dir).glob("*/") if TRIAL_DIR_RE.match(p.name) and not (p / "result.json").exists())


def clear_leftovers(job_dir: Path, env: str | EnvironmentType = EnvironmentType.DOCKER) -> None:
    """Before a job (re)starts: its interrupted trials run again, and the containers, networks and
    volumes that killed trials left on the Docker engine are removed (found by their compose label)."""
    forgotten = forget_interrupted_trials(job_dir)
    for reason in sorted(set(forgotten.values())):
        print(f"{sum(r == reason for r in forgotten.values())} trial(s) of {job_dir} run again ({reason})", file=sys.stderr)
    unfinished = unfinished_trials(job_dir)
    if unfinished and env == EnvironmentType.DOCKER:
        removed = remove_trial_leftovers(unfinished)
        if removed:
            print(f"removed what {len(unfinished)} killed trial(s) of {job_dir} left on Docker: {removed.summary()}", file=sys.stderr)


def clear_leftovers_under(root: Path) -> None:
    """clear_leftovers for every Harbor job folder under `root` (a synthesis run's work folder)."""
    for log in sorted(Path(root).glob("**/job.log")):  # a trial folder has trial.log
        clear_leftovers(log.parent)


class _ConsoleFormatter(logging.Formatter):
    """Harbor's console lines without tracebacks: an expected per-task failure (an image that does
    not build, a hanging verifier) is one line on the console; the traceback stays in job.log."""

    def format(self, record: logging.LogRecord) -> str:
        if not (record.exc_info or record.exc_text):
            return super().format(record)
        plain = logging.makeLogRecord({**record.__dict__, "exc_info": None, "exc_text": None})
        return super().format(plain) + " (the traceback is in the job's job.log)"


def _worth_showing(record: logging.LogRecord) -> bool:
    """Harbor's note that it could not copy the logs out of a trial whose container never started
    (an image that did not build) only repeats that failure: it stays in job.log."""
    message = record.getMessage()
    return not (message.startswith("Failed to download logs") and "Could not resolve container" in message)


def _quiet_console() -> None:
    for handler in HARBOR_LOGGER.handlers:
        if type(handler) is logging.StreamHandler:  # the console, not the job's log file
            handler.setFormatter(_ConsoleFormatter())
            if _worth_showing not in handler.filters:
                handler.addFilter(_worth_showing)


async def run_job_async(spec: RunSpec) -> JobOutcome:
    use_per_loop_build_locks()  # jobs run on many event loops (see build_locks)
    config = job_config(spec)
    try:
        with exclusive(Path(config.jobs_dir) / f".{config.job_name}.lock", f"the job {Path(config.jobs_dir) / config.job_name}"):
            return await _run_job(config, spec)
    except FolderBusy as exc:
        raise RunnerError(str(exc)) from None


async def _run_job(config: JobConfig, spec: RunSpec) -> JobOutcome:
    keep_started_concurrency(config)
    clear_leftovers(Path(config.jobs_dir) / config.job_name, config.environment.type)
    try:
        job = await Job.create(config)
    except FileExistsError as exc:
        raise RunnerError(
            f"{Path(config.jobs_dir) / config.job_name} holds a job started with other settings, which Harbor will not resume: "
            "remove that folder, or pass another --jobs-dir"
        ) from exc
    except (ValueError, ValidationError) as exc:
        if spec.datasets and "dataset" in str(exc).lower():
            raise RunnerError(
                f"the registry lookup of {', '.join(spec.datasets)} failed ({exc}): no Harbor registry is reachable, or "
                "the name is wrong (TerminalBench 1.0's registry name is unverified; give another with --dataset NAME@VERSION), "
                "or pass a local folder of tasks"
            ) from exc
        raise RunnerError(f"Harbor refused the job: {exc}") from exc
    _quiet_console()
    await job.run()
    return read_job(job.job_dir)


def run_job(spec: RunSpec) -> JobOutcome:
    return asyncio.run(run_job_async(spec))


# ---------------------------------------------------------------------- reading the output
def read_job(job_dir: Path) -> JobOutcome:
    """Reads every trial of a Harbor job directory (finished or interrupted)."""
    job_dir = Path(job_dir)
    if not job_dir.is_dir():
        raise RunnerError(f"{job_dir} is not a job directory")
    trials = [read_trial(p.parent) for p in sorted(job_dir.glob("*/result.json"))]
    # Harbor does not record the attempt index: number each task's trials by start time.
    counters: dict[str, int] = defaultdict(int)
    for trial in sorted(trials, key=lambda t: (t.task, t.started_at or datetime.min, t.trial)):
        trial.attempt = counters[trial.task]
        counters[trial.task] += 1
    return JobOutcome(job_dir=job_dir, trials=trials)


def _seconds(timing: TimingInfo | None) -> float | None:
    if timing is None or timing.started_at is None or timing.finished_at is None:
        return None
    return (timing.finished_at - timing.started_at).total_seconds()


def read_trial(trial_dir: Path) -> TrialOutcome:
    path = Path(trial_dir) / "result.json"
    try:
        result = TrialResult.model_validate_json(path.read_text())
    except (OSError, ValidationError) as exc:
        raise RunnerError(f"cannot read {path}: {exc}") from exc
    rewards = {k: float(v) for k, v in ((result.verifier_result and result.verifier_result.rewards) or {}).items()}
    reward = rewards.get("reward", next(iter(rewards.values()), None)) if rewards else None
    n_in, n_cache, n_out, cost = result.compute_token_cost_totals()
    durations = {phase: _seconds(getattr(result, phase)) for phase in PHASES}
    durations["total"] = _seconds(TimingInfo(started_at=result.started_at, finished_at=result.finished_at))
    trajectory = Path(trial_dir) / "agent" / "trajectory.json"
    model = result.agent_info.model_info
    return TrialOutcome(
        task=result.task_name,
        trial=result.trial_name,
        attempt=0,
        agent=result.agent_info.name,
        model=(f"{model.provider}/{model.name}" if model.provider else model.name) if model else None,
        reward=reward,
        rewards=rewards,
        tests=read_test_outcomes(Path(trial_dir) / "verifier"),
        exception_type=result.exception_info.exception_type if result.exception_info else None,
        exception_message=result.exception_info.exception_message if result.exception_info else None,
        n_input_tokens=n_in,
        n_cache_tokens=n_cache,
        n_output_tokens=n_out,
        cost_usd=cost,
        agent_metadata=(result.agent_result.metadata if result.agent_result else None) or {},
        task_path=result.config.task.path,
        started_at=result.started_at,
        durations_sec=durations,
        trajectory_path=trajectory if trajectory.is_file() else None,
        trial_dir=Path(trial_dir),
    )


def read_test_outcomes(verifier_dir: Path) -> list[TestOutcome]:
    """Per-test results the verifier left: pytest's junit.xml (ours) or a CTRF report (TB style)."""
    junit = verifier_dir / "junit.xml"
    if junit.is_file():
        return parse_junit(junit.read_text())
    ctrf = verifier_dir / "ctrf.json"
    if ctrf.is_file():
        return parse_ctrf(ctrf.read_text())
    return []


def parse_junit(xml_text: str, details: int = 0) -> list[TestOutcome]:
    """Each test case's outcome; `details`: how many characters of the end of a failure's report to keep."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError:
        return []
    outcomes = []
    for case in root.iter("testcase"):
        name = "::".join(filter(None, [case.get("classname"), case.get("name")]))
        outcome: Literal["passed", "failed", "error", "skipped"] = "passed"
        message, report = None, ""
        for tag in ("failure", "error", "skipped"):
            child = case.find(tag)
            if child is not None:
                outcome = "failed" if tag == "failure" else tag  # type: ignore[assignment]
                message = (child.get("message") or "")[:500] or None
                report = (child.text or "").strip()[-details:] if details and tag != "skipped" else ""
                break
        outcomes.append(TestOutcome(name=name, outcome=outcome, message=message, details=report or None))
    return outcomes


def parse_ctrf(json_text: str) -> list[TestOutcome]:
    try:
        tests = json.loads(json_text)["results"]["tests"]
    except (ValueError, KeyError, TypeError):
        return []
    mapping = {"passed": "passed", "failed": "failed", "skipped": "skipped", "pending": "skipped"}
    return [
        TestOutcome(name=str(t.get("name")), outcome=mapping.get(t.get("status"), "error"), message=t.get("message"))  # type: ignore[arg-type]
        for t in tests
        if isinstance(t, dict)
    ]
