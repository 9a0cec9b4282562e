"""`termigen`: each command parses, calls one library function, prints the typed result (views.py)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from termigen_harbor import __version__, views
from termigen_harbor.cli_common import LOCAL_AGENT_TIMEOUT_MULTIPLIER, MODEL_HELP, ROLLOUT_INJECTION_RATE, console, fail, harbor_output_to_stderr, parse_agent_kwargs, sigterm_as_ctrl_c
from termigen_harbor.cli_tools import images_app, llm_app, taxonomy_app

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Terminal-agent task synthesis and evaluation on Harbor.")
app.add_typer(images_app, name="images")
app.add_typer(taxonomy_app, name="taxonomy")
app.add_typer(llm_app, name="llm")


@app.callback()
def _every_command() -> None:
    sigterm_as_ctrl_c()


@app.command()
def version() -> None:
    """Print the package version."""
    print(__version__)


@app.command()
def validate(
    paths: list[Path] = typer.Argument(..., help="Task directories, or directories of tasks."),
    as_json: bool = typer.Option(False, "--json", help="Print the reports as JSON on stdout."),
    static_only: bool = typer.Option(False, "--static", help="Only the static checks (no Docker)."),
    jobs_dir: Path = typer.Option(Path("jobs/validate"), "--jobs-dir", help="Where Harbor writes the oracle and nop jobs."),
    concurrency: int = typer.Option(2, "--concurrency", "-n", min=1, help="Trials run at once."),
    env: str = typer.Option("docker", "--env", "-e", help="Harbor environment type (docker, daytona, modal, ...) or module:Class."),
) -> None:
    """Check tasks: static checks, then the oracle must score 1 and the no-op agent 0. Exit 1 if any fails."""
    import json

    from termigen_harbor.runner import RunnerError
    from termigen_harbor.validate import validate as run_validate

    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        fail(f"no such path: {', '.join(missing)}")
    try:
        # Harbor's progress display goes to stderr so that --json output stays clean.
        with harbor_output_to_stderr():
            reports = run_validate(paths, jobs_dir=jobs_dir, n_concurrent=concurrency, env=env, dynamic=not static_only)
    except RunnerError as exc:
        fail(str(exc))
    if not reports:
        fail(f"no task directories found in {', '.join(map(str, paths))}")
    if as_json:
        print(json.dumps([r.as_json() for r in reports], indent=2))
    else:
        views.validation(Console(), reports, static_only)
    raise typer.Exit(0 if all(r.ok for r in reports) else 1)




@app.command()
def rollout(
    tasks: list[Path] = typer.Argument(..., help="Task directories, or directories of tasks."),
    model: str | None = typer.Option(None, "--model", "-m", help=MODEL_HELP),
    injection_rate: float = typer.Option(ROLLOUT_INJECTION_RATE, "--injection-rate", "-p", min=0.0, max=1.0, help="Probability that a step carries a deliberate mistake."),
    seed: int | None = typer.Option(None, "--seed", help="Seed of the injection sampler: each trial draws from its own seed, made from this one and the trial's name (recorded in its metadata)."),
    max_steps: int = typer.Option(30, "--max-steps", min=1),
    attempts: int = typer.Option(1, "--attempts", "-k", min=1, help="Rollouts per task."),
    concurrency: int = typer.Option(1, "--concurrency", "-n", min=1, help="Trials at once (the local model serves one request at a time)."),
    ak: list[str] = typer.Option([], "--ak", help="More BashAgent options as key=value (e.g. temperature=0.7)."),
    env: str = typer.Option("docker", "--env", "-e", help="Harbor environment type or module:Class."),
    jobs_dir: Path = typer.Option(Path("jobs/rollouts"), "--jobs-dir"),
    job_name: str | None = typer.Option(None, "--job-name", help="Name the job; the same name and arguments resume an interrupted run."),
    agent_timeout_multiplier: float | None = typer.Option(None, "--agent-timeout-multiplier", min=0.01, help=f"Scales each task's agent timeout (Harbor's). Default: {LOCAL_AGENT_TIMEOUT_MULTIPLIER:g} for the local model, whose steps with error injection take minutes on CPU, else 1."),
) -> None:
    """Collect error-correction trajectories: the BashAgent with error injection on tasks."""

    from termigen_harbor.llm.registry import default_model, parse_model
    from termigen_harbor.agents.collect import run_rollouts
    from termigen_harbor.runner import RunnerError
    from termigen_harbor.validate import discover

    kwargs: dict = {"injection_rate": injection_rate, "max_steps": max_steps, **parse_agent_kwargs(ak)}
    if seed is not None:
        kwargs["seed"] = seed
    found = discover(tasks)
    missing = [str(p) for p in found if not p.is_dir()]
    if missing:
        fail(f"no such task directory: {', '.join(missing)}")
    chosen = model or default_model()
    if agent_timeout_multiplier is None and parse_model(chosen).is_local:
        agent_timeout_multiplier = LOCAL_AGENT_TIMEOUT_MULTIPLIER
    timeouts = f", agent timeouts x{agent_timeout_multiplier:g}" if agent_timeout_multiplier else ""
    console.print(f"[dim]rollouts: {len(found)} tasks x {attempts} with {chosen}, injection rate {injection_rate}{timeouts}[/]")
    try:
        with harbor_output_to_stderr():
            outcome, summary = run_rollouts(found, chosen, kwargs, attempts, concurrency, env, jobs_dir, job_name, agent_timeout_multiplier)
    except RunnerError as exc:
        fail(str(exc))
    views.rollouts(Console(), outcome, summary)


def show_comparison(paths: list[Path], out: Path) -> None:
    from termigen_harbor.evaluation.compare import write_comparison
    from termigen_harbor.evaluation.evaluate import load_report

    if len(paths) < 2:
        fail("--compare needs at least two reports: termigen evaluate --compare A B [C...]")
    try:
        reports = [load_report(p) for p in paths]
    except (OSError, ValueError) as exc:
        fail(f"cannot read a report: {exc}")
    comparison = write_comparison(reports, out)
    views.comparison(Console(soft_wrap=True), reports, comparison)
    if comparison.only_in_some:
        console.print(f"[bold yellow]warning:[/] {len(comparison.only_in_some)} tasks ran in only some of the systems; see compare.md")
    console.print(f"[dim]wrote {out / 'compare.md'} and {out / 'compare.png'}[/]")


@app.command()
def evaluate(
    dataset: str = typer.Option("terminal-bench-core@0.1.1", "--dataset", "-d", help="A folder of Harbor or Terminal-Bench 1.x tasks, or a Harbor registry dataset NAME@VERSION (default: TerminalBench 1.0, from ~/.cache/terminal-bench when `tb datasets download` put it there, else the registry, where its name is unverified)."),
    agent: str = typer.Option("termigen_harbor.agents:BashAgent", "--agent", "-a", help="Our BashAgent (p = 0) by default; any Harbor agent name or module:Class."),
    model: str | None = typer.Option(None, "--model", "-m", help=MODEL_HELP),
    runs: int = typer.Option(3, "--runs", min=1, help="Independent runs (Average Pass@1 is their mean)."),
    concurrency: int = typer.Option(1, "--concurrency", "-n", min=1),
    ak: list[str] = typer.Option([], "--ak", help="Agent options as key=value."),
    env: str = typer.Option("docker", "--env", "-e", help="Harbor environment type or module:Class."),
    out: Path = typer.Option(Path("eval-report"), "--out", "-o", help="Where report.json, report.md and pass_at_1.png go."),
    jobs_dir: Path = typer.Option(Path("jobs/eval"), "--jobs-dir"),
    compare: bool = typer.Option(False, "--compare", help="Put the reports given as arguments side by side instead of running: --compare A B [C...] (report folders or report.json files); the first is the baseline."),
    reports: list[Path] = typer.Argument(None, help="With --compare: the reports to compare.", show_default=False),
) -> None:
    """Evaluate a model: Average Pass@1 (mean ± std over runs), pass@k, per-task results; resumable."""

    from termigen_harbor.evaluation.evaluate import DatasetError, EvalSpec, coverage_line, markdown, prepare_dataset, registry_help, write_report
    from termigen_harbor.evaluation.evaluate import evaluate as run_evaluate
    from termigen_harbor.runner import RunnerError

    if reports and not compare:
        fail(f"unexpected argument(s) {' '.join(map(str, reports))}: report folders are compared with --compare A B [C...]")
    if compare:
        show_comparison(reports or [], out)
        return
    try:
        prepared = prepare_dataset(dataset, jobs_dir, say=lambda m: console.print(f"[dim]{m}[/]"))
    except DatasetError as exc:
        fail(str(exc))
    if prepared.source and prepared.source != Path(dataset):
        console.print(f"[dim]{dataset}: using the tasks at {prepared.source}, where `tb datasets download` left them[/]")
    for name, reasons in sorted(prepared.left_out.items()):
        console.print(f"[yellow]not runnable here, left out of the denominator:[/] {name}: {'; '.join(reasons)}")
    if prepared.coverage and not prepared.coverage.complete:
        console.print(f"[yellow]{coverage_line(prepared.coverage)}[/]")
    spec = EvalSpec.make(prepared.name, agent, model, runs, tasks=prepared.tasks, registry=prepared.registry, agent_kwargs=parse_agent_kwargs(ak),
                         n_concurrent=concurrency, env=env, jobs_dir=jobs_dir)  # fmt: skip
    console.print(f"[dim]evaluating {agent} / {spec.model} on {len(spec.tasks) or spec.dataset} tasks x {runs} runs (job {spec.job_name()}: the same command resumes it)[/]")
    try:
        with harbor_output_to_stderr():
            report = run_evaluate(spec, prepared.left_out, prepared.coverage, prepared.standins)
    except RunnerError as exc:
        fail(str(exc) + registry_help(prepared.registry))
    paths = write_report(report, out)
    print(markdown(report))
    console.print(f"[dim]wrote {', '.join(map(str, paths))}[/]")


@app.command()
def export(
    jobs: list[Path] = typer.Argument(..., help="Rollout job directories (jobs/rollouts/<job>)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder for the dataset."),
    min_pass_ratio: float = typer.Option(0.5, "--min-pass-ratio", min=0.0, max=1.0, help="Keep trajectories whose tests passed at least this share (0.5 keeps partial successes)."),
    benchmark: str | None = typer.Option(None, "--benchmark", help="Benchmark to decontaminate against: a directory of Harbor or Terminal-Bench 1.x tasks, or a text file of instructions; 'none' to skip."),
    pairs: bool = typer.Option(True, "--pairs/--no-pairs", help="Write preference pairs."),
) -> None:
    """Turn rollout jobs into SFT (messages + ShareGPT) and preference datasets with a card."""
    import shlex
    import sys

    from termigen_harbor.data import export as ex
    from termigen_harbor.runner import RunnerError

    missing = [str(j) for j in jobs if not j.is_dir()]
    if missing:
        fail(f"no such job directory: {', '.join(missing)}")
    source = ex.benchmark_source(benchmark)
    if source is None and benchmark is None:
        console.print("[bold yellow]warning:[/] no --benchmark given and TerminalBench 1.0 is not where `tb datasets download` leaves it: "
                      "the data is NOT decontaminated. Pass a TerminalBench task folder (or --benchmark none to silence this).")  # fmt: skip
    elif benchmark is None:
        console.print(f"decontaminating against TerminalBench 1.0 at {source} (where `tb datasets download` left it)")
    command = "termigen " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    try:
        result = ex.export_jobs(jobs, out, min_pass_ratio, source, command, pairs=pairs)
    except RunnerError as exc:
        fail(str(exc))
    except (OSError, ValueError) as exc:  # the benchmark's errors name it: "benchmark source X does not exist", ...
        fail(f"cannot export: {exc}")
    views.exported(console, result, source is not None, out)


@app.command()
def push(
    folder: Path | None = typer.Argument(None, help="A folder written by `termigen export`.", show_default=False),
    repo: str = typer.Option(..., "--repo", help="The Hub dataset repository, e.g. your-name/terminal-trajectories."),
    tasks: Path | None = typer.Option(None, "--tasks", help="Push synthesized tasks instead: a `termigen synthesize` output folder."),
    eval_report: Path | None = typer.Option(None, "--eval", help="Push an evaluation instead: a `termigen evaluate` report folder (one row per trial)."),
    public: bool = typer.Option(False, "--public", help="Make the repository public (private by default)."),
) -> None:
    """Push to the Hugging Face Hub: an exported dataset, synthesized tasks (--tasks) or an evaluation (--eval)."""
    from termigen_harbor.data import push as hub

    given = [x for x in (folder, tasks, eval_report) if x is not None]
    if len(given) != 1:
        fail("give one of: an exported dataset folder, --tasks OUT, --eval REPORT_DIR")
    if not given[0].exists():
        fail(f"no such folder: {given[0]}")
    visibility = "public" if public else "private"
    try:
        if tasks is not None:
            n = hub.push_tasks(tasks, repo, private=not public)
            console.print(f"[green]pushed[/] {repo} ({visibility}): {n} tasks, tasks.parquet, dataset.toml and the card")
        elif eval_report is not None:
            n = hub.push_eval(eval_report, repo, private=not public)
            console.print(f"[green]pushed[/] {repo} ({visibility}): {n} trials and the card")
        else:
            pushed = hub.push(folder, repo, private=not public)
            console.print(f"[green]pushed[/] {repo} ({visibility}): " + ", ".join(f"{k} {v} rows" for k, v in pushed.items()))
    except hub.PushError as exc:
        fail(str(exc))


@app.command()
def synthesize(
    out: Path = typer.Option(..., "--out", "-o", help="Where accepted bundles, the manifest and the work state go."),
    taxonomy: str = typer.Option("termigen", "--taxonomy", help="termigen, litecoder, or a YAML file."),
    categories: str | None = typer.Option(None, "--categories", help="Comma-separated category ids (default: all)."),
    per_category: int = typer.Option(1, "--per-category", "-k", min=1, help="Seeds (tasks) per category."),
    model: str | None = typer.Option(None, "--model", "-m", help=MODEL_HELP),
    concurrency: int = typer.Option(1, "--concurrency", "-n", min=1, help="Tasks synthesized at once."),
    env: str = typer.Option("docker", "--env", "-e", help="Harbor environment type for builds and gates."),
    api_base: str | None = typer.Option(None, "--api-base", help="The provider's base URL (e.g. a vLLM server's http://host:8000/v1)."),
    budget_tokens: int | None = typer.Option(None, "--budget-tokens", min=1, help="Stop cleanly when this many tokens (in + out) are used; works for every model."),
    budget_usd: float | None = typer.Option(None, "--budget-usd", min=0, help="Stop cleanly when the model cost reaches this (models with a known price only)."),
    budget_minutes: float | None = typer.Option(None, "--budget-minutes", min=0, help="Stop cleanly at the first model call after this many minutes (a build or gate round under way ends first)."),
    k_lazy: int = typer.Option(2, "--lazy", help="Lazy solutions that must fail the tests."),
    org: str = typer.Option("termigen", "--org", help="Accepted tasks are named ORG/<task> in task.toml and the folder's dataset.toml (Harbor's registry names)."),
    retry_rejected: str | None = typer.Option(None, "--retry-rejected", help="Reopen rejected tasks that reached this stage (spec, plan, build or verify) and run it and the later stages again, e.g. after a fix; their earlier usage is kept."),
) -> None:
    """Synthesize verified Harbor tasks from a taxonomy. Run it again with the same arguments to resume."""
    import asyncio

    from termigen_harbor.files import FolderBusy
    from termigen_harbor.llm import Budget, make_llm
    from pydantic import ValidationError

    from termigen_harbor.synthesis.pipeline import MODEL_DOWN, RETRY_STAGES, Pipeline, Progress, SynthesisConfig
    from termigen_harbor.taxonomy import TaxonomyError, load_taxonomy

    if retry_rejected is not None and retry_rejected not in RETRY_STAGES:
        fail(f"--retry-rejected {retry_rejected!r} is not a stage: use one of {', '.join(RETRY_STAGES)}")

    try:
        tax = load_taxonomy(taxonomy)
    except TaxonomyError as exc:
        fail(str(exc))
    try:
        config = SynthesisConfig(out=out, categories=categories.split(",") if categories else None, per_category=per_category,
                                 concurrency=concurrency, env=env, k_lazy=k_lazy, org=org, retry_rejected=retry_rejected)  # fmt: skip
    except ValidationError as exc:
        fail("; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors()))
    llm = make_llm(model, api_base=api_base, budget=Budget(max_tokens=budget_tokens, max_usd=budget_usd, max_seconds=budget_minutes * 60 if budget_minutes is not None else None))
    try:
        manifest = asyncio.run(Pipeline(llm, tax, config, Progress(views.progress_printer(console), views.task_note_printer(console))).run())
    except (ValueError, FolderBusy) as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        console.print(f"[bold yellow]interrupted:[/] what was done is kept; the funnel so far is in {out / 'manifest.json'}. Run the same command to go on.")
        raise typer.Exit(130) from None
    views.synthesis(console, manifest, out)
    if manifest.stopped and manifest.stopped.startswith(MODEL_DOWN):
        raise typer.Exit(1)
