"""`termigen evaluate`: Average Pass@1 over independent runs and pass@k, through the one runner.

The runs are one Harbor job with n_attempts = runs (attempt i of every task is run i), so images
are built once and reused, and re-running the same command resumes the job where it stopped.
Errors are kept apart from failures: a trial that raised before it could be verified, or whose
agent stopped on its own error (a model server down, say), is an error, retried by Harbor up to
`max_retries` times and otherwise reported, never counted as the model failing.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from termigen_harbor.files import write_atomic
from termigen_harbor.llm.local_server import openai_endpoint
from termigen_harbor.llm.registry import parse_model
from termigen_harbor.evaluation.metrics import average_pass_at_1, mean_pass_at_k
from termigen_harbor.runner import JobOutcome, RunSpec, run_job
from termigen_harbor.evaluation.tb1 import Coverage


class ResolvedDataset(BaseModel):
    tasks: list[Path]  # runnable Harbor task directories
    left_out: dict[str, list[str]] = Field(default_factory=dict)  # task -> why it cannot run here
    standins: dict[str, list[str]] = Field(default_factory=dict)  # image -> what differs from the real one


def resolve_dataset(path: Path, work_dir: Path, say: Callable[[str], None] = print) -> ResolvedDataset:
    """Runnable Harbor task directories for `path`, and the tasks left out with their reasons.

    A directory of Terminal-Bench 1.x tasks is scanned (hosts and registries probed), the images
    its runnable tasks need are made (the real ones where a registry serves them, else offline
    stand-ins, whose differences are recorded), and those tasks converted once into `work_dir`."""
    from termigen_harbor.evaluation import tb1
    from termigen_harbor.evaluation import tb_scan
    from termigen_harbor.bundle import harbor_accepts
    from termigen_harbor.images import ImageError
    from termigen_harbor.standins import provide
    from termigen_harbor.validate import discover, harbor_reason

    path = Path(path)
    tb_tasks = tb1.tb_task_dirs(path)
    if not tb_tasks:
        found = discover([path])
        left_out = {task.name: [f"Harbor would skip it: {harbor_reason(task)}"] for task in found if not harbor_accepts(task)}
        return ResolvedDataset(tasks=[t for t in found if t.name not in left_out], left_out=left_out)
    sources = {task.name: task for task in tb_tasks}
    scanned = tb_scan.scan(path)
    resolved = ResolvedDataset(tasks=[], left_out={r.task: r.reasons for r in scanned if not r.runnable})
    runnable = [r for r in scanned if r.runnable]
    say(f"Terminal-Bench 1.x: {len(runnable)} of {len(scanned)} tasks can run here; making the images they start FROM")
    problems: dict[str, str] = {}
    for image in dict.fromkeys(image for r in runnable for image in r.images):
        try:
            provided = provide(image, say=say)
        except ImageError as exc:
            problems[image] = str(exc).splitlines()[0]
            continue
        say(f"{image}: {provided.how}" + (" (an offline stand-in)" if provided.differences else ""))
        if provided.differences:
            resolved.standins[image] = provided.differences
    for result in runnable:
        if failed := [f"{image}: {problems[image]}" for image in result.images if image in problems]:
            resolved.left_out[result.task] = failed
            continue
        conversion = tb1.convert_task(sources[result.task], Path(work_dir) / result.task)
        if conversion.status == "converted" and conversion.target is not None:
            resolved.tasks.append(conversion.target)
        else:
            resolved.left_out[result.task] = [f"conversion {conversion.status}: {conversion.reason}"]
    return resolved


class DatasetError(ValueError):
    """The dataset cannot be evaluated; the message says why and what to do."""


class PreparedDataset(BaseModel):
    name: str
    tasks: list[Path] = Field(default_factory=list)  # runnable local tasks
    registry: list[str] = Field(default_factory=list)  # or a Harbor registry dataset
    left_out: dict[str, list[str]] = Field(default_factory=dict)
    standins: dict[str, list[str]] = Field(default_factory=dict)
    coverage: Coverage | None = None
    source: Path | None = None  # where the tasks were read from


def prepare_dataset(dataset: str, jobs_dir: Path, say: Callable[[str], None] = print) -> PreparedDataset:
    """A folder of Harbor or TerminalBench 1.x tasks (TerminalBench's own download cache first),
    resolved to runnable tasks with what was left out and how much of TB 1.0 it is; or a registry
    dataset NAME@VERSION. Raises DatasetError."""
    from termigen_harbor.evaluation import tb1

    folder = tb1.local_copy(dataset) or Path(dataset)
    if not folder.exists():
        if "/" in dataset or dataset.startswith("."):
            raise DatasetError(f"no such dataset folder: {dataset}")
        return PreparedDataset(name=dataset, registry=[dataset])
    try:
        resolved = resolve_dataset(folder, jobs_dir / "converted" / folder.resolve().name, say=say)
    except (OSError, ValueError) as exc:
        raise DatasetError(f"cannot read the dataset: {exc}") from exc
    if not resolved.tasks:
        raise DatasetError(f"no runnable task in {folder}" + "".join(f"\n  {t}: {'; '.join(r)}" for t, r in sorted(resolved.left_out.items())))
    coverage = tb1.coverage([p.name for p in resolved.tasks] + list(resolved.left_out), tb1.core_manifest())
    return PreparedDataset(name=folder.resolve().name, tasks=resolved.tasks, left_out=resolved.left_out, standins=resolved.standins,
                           coverage=coverage, source=folder)  # fmt: skip


def registry_help(registry: list[str]) -> str:
    """What to do when a registry lookup fails for TerminalBench 1.0 (no registry here)."""
    from termigen_harbor.evaluation import tb1

    manifest = tb1.core_manifest()
    if registry and registry[0].startswith(manifest.name):
        return (f"\nTo run {manifest.label} offline, fetch it once where the internet is reachable ({manifest.download}) and pass that folder "
                f"with --dataset; without --output-dir it lands in ~/.cache/terminal-bench/{manifest.name}/{manifest.version}, where evaluate and export find it.")  # fmt: skip
    return ""


class EvalSpec(BaseModel):
    tasks: list[Path]
    registry: list[str] = Field(default_factory=list)  # Harbor registry datasets instead of local tasks
    dataset: str
    agent: str
    model: str | None = None
    agent_kwargs: dict[str, Any] = Field(default_factory=dict)
    runs: int = Field(default=3, ge=1)
    n_concurrent: int = Field(default=1, ge=1)
    env: str = "docker"
    jobs_dir: Path = Path("jobs/eval")
    max_retries: int = 1

    @classmethod
    def make(cls, dataset: str, agent: str, model: str | None, runs: int, **fields: Any) -> EvalSpec:
        """The one way the CLI and the Harbor plugin describe an evaluation: our agent without a
        model gets the default model; Harbor's oracle and nop need none."""
        from termigen_harbor.llm.registry import default_model

        chosen = model or (default_model() if agent.startswith("termigen_harbor") else None)
        return cls(dataset=dataset, agent=agent, model=chosen, runs=runs, **{"tasks": [], **fields})

    def job_name(self) -> str:
        """The same evaluation always gets the same job, so running it again resumes it."""
        key = self.model_dump_json(exclude={"jobs_dir", "n_concurrent"})
        return f"eval-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


class TaskRow(BaseModel):
    task: str
    rewards: list[float | None]  # by run; None where the trial errored
    errors: list[str | None]


class EvalReport(BaseModel):
    schema_version: int = 1  # raised when a field changes meaning or goes away
    dataset: str
    agent: str
    model: str | None
    runs: int
    n_tasks: int
    average_pass_at_1: float | None
    std_pass_at_1: float | None
    pass_at_1_by_run: list[float | None]
    verified_by_run: list[int]  # the denominators
    pass_at_k: dict[int, float | None]
    n_errors: int
    tasks: list[TaskRow]
    input_tokens: int
    output_tokens: int
    cost_usd: float
    agent_seconds: float
    job_dir: Path
    not_runnable: dict[str, list[str]] = Field(default_factory=dict)  # left out of the denominator
    standins: dict[str, list[str]] = Field(default_factory=dict)  # offline stand-in images used: what differs from the real ones
    coverage: Coverage | None = None  # how much of TerminalBench 1.0 the tasks are, when they are some of it


def build_report(spec: EvalSpec, outcome: JobOutcome) -> EvalReport:
    rows: dict[str, TaskRow] = {}
    runs: list[dict[str, bool]] = [dict() for _ in range(spec.runs)]
    by_task: dict[str, list[bool]] = defaultdict(list)
    for task, trials in outcome.by_task().items():
        row = rows[task] = TaskRow(task=task, rewards=[None] * spec.runs, errors=[None] * spec.runs)
        for trial in trials[: spec.runs]:
            error = trial.error_summary()
            row.errors[trial.attempt] = error
            if error is None:
                row.rewards[trial.attempt] = trial.reward
                runs[trial.attempt][task] = trial.passed
                by_task[task].append(trial.passed)
    rates = [sum(r.values()) / len(r) if r else None for r in runs]
    verified_runs = [r for r in runs if r]
    mean, std = average_pass_at_1(verified_runs) if verified_runs else (None, None)
    return EvalReport(
        dataset=spec.dataset,
        agent=spec.agent,
        model=spec.model,
        runs=spec.runs,
        n_tasks=len(rows),
        average_pass_at_1=mean,
        std_pass_at_1=std,
        pass_at_1_by_run=rates,
        verified_by_run=[len(r) for r in runs],
        pass_at_k={k: mean_pass_at_k(by_task, k) for k in range(1, spec.runs + 1)},
        n_errors=sum(e is not None for row in rows.values() for e in row.errors),
        tasks=sorted(rows.values(), key=lambda r: r.task),
        input_tokens=outcome.n_input_tokens,
        output_tokens=outcome.n_output_tokens,
        cost_usd=outcome.cost_usd,
        agent_seconds=sum(t.durations_sec.get("agent_execution") or 0.0 for t in outcome.trials),
        job_dir=outcome.job_dir,
    )


@contextmanager
def harbor_model(agent: str, model: str | None) -> Iterator[str | None]:
    """The model name to give Harbor for `agent`. Our BashAgent understands `local/...` itself;
    Harbor's own agents (Terminus-2) reach models through litellm, so for them the embedded model
    is served on loopback as an OpenAI endpoint while the job runs."""
    ref = parse_model(model) if model and not agent.startswith("termigen_harbor") else None
    if ref is None or not ref.is_local:
        yield model
    else:
        with openai_endpoint(ref.name) as litellm_model:
            yield litellm_model


def evaluate(spec: EvalSpec, not_runnable: dict[str, list[str]] | None = None, coverage: Coverage | None = None, standins: dict[str, list[str]] | None = None) -> EvalReport:
    with harbor_model(spec.agent, spec.model) as model:
        outcome = run_job(
            RunSpec(
                tasks=spec.tasks, datasets=spec.registry, agent=spec.agent, model=model, agent_kwargs=spec.agent_kwargs, n_attempts=spec.runs,
                n_concurrent=spec.n_concurrent, env=spec.env, jobs_dir=spec.jobs_dir, job_name=spec.job_name(), max_retries=spec.max_retries,
            )
        )  # fmt: skip
    report = build_report(spec, outcome)
    report.not_runnable = not_runnable or {}
    report.standins = standins or {}
    report.coverage = coverage
    return report


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def coverage_line(coverage: Coverage) -> str:
    """What share of the benchmark the folder held, so a subset's score is not read as the benchmark's."""
    line = f"The folder holds {len(coverage.present)} of the {coverage.n_tasks} tasks of {coverage.benchmark}"
    if coverage.complete:
        return line + "."

    def some(names: list[str], shown: int = 10) -> str:
        return ", ".join(names[:shown]) + (f", ... ({len(names) - shown} more in report.json)" if len(names) > shown else "")

    parts = [f"missing {len(coverage.missing)}: {some(coverage.missing)}"] if coverage.missing else []
    parts += [f"not in it {len(coverage.extra)}: {some(coverage.extra)}"] if coverage.extra else []
    return f"{line}; this is not a {coverage.benchmark} score ({'; '.join(parts)})."


def markdown(report: EvalReport) -> str:
    std = f" ± {pct(report.std_pass_at_1)}" if report.std_pass_at_1 is not None else ""
    lines = [
        f"# {report.agent} / {report.model or 'default model'} on {report.dataset}",
        "",
        f"**Average Pass@1 over {report.runs} runs: {pct(report.average_pass_at_1)}{std}** "
        f"({report.n_tasks} tasks run; {len(report.not_runnable)} not runnable here; {report.n_errors} errored trials kept apart)",
        "",
        *([coverage_line(report.coverage), ""] if report.coverage else []),
        "| run | pass@1 | verified trials |",
        "|---|---|---|",
        *[f"| {i + 1} | {pct(r)} | {n} |" for i, (r, n) in enumerate(zip(report.pass_at_1_by_run, report.verified_by_run))],
        "",
        "| k | pass@k (unbiased) |",
        "|---|---|",
        *[f"| {k} | {pct(v)} |" for k, v in report.pass_at_k.items()],
        "",
        "| task | " + " | ".join(f"run {i + 1}" for i in range(report.runs)) + " |",
        "|---|" + "---|" * report.runs,
    ]
    for row in report.tasks:
        cells = [("error" if e else ("-" if r is None else f"{r:g}")) for r, e in zip(row.rewards, row.errors)]
        lines.append(f"| {row.task} | " + " | ".join(cells) + " |")
    errors = [(row.task, i + 1, e) for row in report.tasks for i, e in enumerate(row.errors) if e]
    if errors:
        lines += ["", "Errors (not counted as failures):", *[f"- {t} run {i}: {e}" for t, i, e in errors]]
    if report.not_runnable:
        lines += ["", f"Not runnable here, left out of the denominator ({len(report.not_runnable)}):"]
        lines += [f"- {task}: {'; '.join(reasons)}" for task, reasons in sorted(report.not_runnable.items())]
    if report.standins:
        lines += ["", f"Offline stand-ins for images no registry served here ({len(report.standins)}), and what differs from the real ones:"]
        lines += [f"- `{image}`: {'; '.join(differences)}" for image, differences in sorted(report.standins.items())]
    lines += ["", f"Tokens in {report.input_tokens}, out {report.output_tokens}; cost ${report.cost_usd:.4f}; agent time {report.agent_seconds:.0f} s.", f"Job: `{report.job_dir}`"]
    return "\n".join(lines) + "\n"


def chart(reports: list[EvalReport], path: Path) -> None:
    """Average Pass@1 (with its std) per report, and each run's pass@1 as points."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(4, 1.8 * len(reports) + 2), 4))
    labels = [f"{r.agent}\n{r.model or ''}" for r in reports]
    means = [100 * (r.average_pass_at_1 or 0) for r in reports]
    stds = [100 * (r.std_pass_at_1 or 0) for r in reports]
    ax.bar(range(len(reports)), means, yerr=stds, capsize=6, color="#4C72B0", alpha=0.8)
    for i, r in enumerate(reports):
        points = [100 * v for v in r.pass_at_1_by_run if v is not None]
        ax.scatter([i] * len(points), points, color="black", zorder=3, s=14)
    ax.set_xticks(range(len(reports)), labels, fontsize=8)
    ax.set_ylabel("Pass@1 (%)")
    ax.set_ylim(0, 100)
    ax.set_title(f"Average Pass@1 over runs on {reports[0].dataset}" if len({r.dataset for r in reports}) == 1 else "Average Pass@1 over runs")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_report(report: EvalReport, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "report.json", out_dir / "report.md", out_dir / "pass_at_1.png"]
    write_atomic(paths[0], report.model_dump_json(indent=2))
    write_atomic(paths[1], markdown(report))
    chart([report], paths[2])
    return paths


def load_report(path: Path) -> EvalReport:
    path = Path(path)
    if path.is_dir():
        path = path / "report.json"
    return EvalReport.model_validate(json.loads(path.read_text()))
