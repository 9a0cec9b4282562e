"""What the CLI shows: typed results rendered as rich tables and lines (no logic of their own)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from termigen_harbor.agents.injection_stats import InjectionStats
    from termigen_harbor.agents.collect import RolloutSummary
    from termigen_harbor.data.export import Exported
    from termigen_harbor.evaluation.compare import Comparison
    from termigen_harbor.evaluation.evaluate import EvalReport
    from termigen_harbor.runner import JobOutcome
    from termigen_harbor.synthesis.manifest import Manifest
    from termigen_harbor.taxonomy import Taxonomy
    from termigen_harbor.validate import TaskReport


def _reward(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def validation(console: Console, reports: list[TaskReport], static_only: bool) -> None:
    table = Table(title="termigen validate", show_lines=True)
    for column in ("task", "static", "oracle", "nop", "verdict", "reasons"):
        table.add_column(column, overflow="fold")
    for r in reports:
        static_errors = [f for f in r.errors if f.check not in ("oracle", "nop")]
        notes = [f"[red]✗[/] {f.message}" for f in r.errors] + [f"[yellow]![/] {f.message}" for f in r.findings if f.severity == "warning"]
        table.add_row(
            r.name,
            "[red]fail[/]" if static_errors else "ok",
            "skipped" if static_only or static_errors else _reward(r.oracle_reward),
            "skipped" if static_only or static_errors else _reward(r.nop_reward),
            "[green]PASS[/]" if r.ok else "[red]FAIL[/]",
            "\n".join(notes),
        )
    console.print(table)
    console.print(f"{sum(r.ok for r in reports)}/{len(reports)} tasks passed validation")


def rollouts(console: Console, outcome: JobOutcome, summary: RolloutSummary) -> None:
    from termigen_harbor.agents.rollout import RolloutReport

    table = Table(title="rollouts")
    for column in ("task", "reward", "tests passed", "steps", "injected", "realized rate", "silent", "recoveries", "Critic accepted", "stop"):
        table.add_column(column)
    for trial in outcome.trials:
        report = RolloutReport.of(trial.agent_metadata)
        ratio, stats = trial.test_pass_ratio, report.injection
        table.add_row(
            trial.task,
            "error: " + (trial.exception_type or "agent") if trial.errored else _reward(trial.reward),
            "-" if ratio is None else f"{ratio:.0%}",
            str(report.steps),
            str(report.n_injected_errors),
            "-" if stats.realized_rate is None else f"{stats.realized_rate:.0%}",
            str(sum(stats.silent.values())),
            f"{stats.recoveries}/{stats.recovery_steps}",
            "-" if stats.critic_acceptance_rate is None else f"{stats.critic_acceptance_rate:.0%}",
            str(report.stop_reason or report.agent_error or "-"),
        )
    console.print(table)
    rate = "-" if summary.pass_rate is None else f"{summary.pass_rate:.0%}"
    per_step = "-" if summary.seconds_per_step is None else f"{summary.seconds_per_step:.1f}"
    console.print(f"pass rate {rate} ({summary.n_passed}/{summary.n_trials - summary.n_errors} verified; {summary.n_errors} errored, not counted) | steps {summary.steps} | "
                  f"{per_step} s per step | tokens in {summary.input_tokens} out {summary.output_tokens}")  # fmt: skip
    by_category = ", ".join(f"{k} {v}" for k, v in summary.injected_errors.items()) or "none"
    console.print(f"injected errors: {sum(summary.injected_errors.values())} ({by_category}) | recoveries: {summary.recoveries}")
    console.print(summary.injection.line())
    injection_by_category(console, summary.injection)
    if summary.ungrounded_recoveries:
        console.print(f"[bold yellow]{len(summary.ungrounded_recoveries)} recoveries quote nothing the mistake printed[/]: " + "; ".join(summary.ungrounded_recoveries[:5]))
    unreachable = [t for t in outcome.trials if t.model_unreachable]
    if unreachable:
        console.print(f"[bold yellow]{len(unreachable)} trial(s) errored because the model did not answer[/] ({unreachable[0].agent_error or unreachable[0].exception_type}): "
                      "run the same command again once it answers; they run again, the rest is kept")  # fmt: skip
    if summary.injections_abandoned:
        console.print(f"[yellow]{summary.injections_abandoned} mistake attempts were abandoned[/]: the Critic accepted none of their tries, "
                      "so a validated plain step was taken and the mistake owed to a later step (a stronger --ak critic_model, "
                      "or more --ak max_regenerations, helps)")  # fmt: skip
    console.print(f"trajectories: {summary.job_dir}/*/agent/trajectory.json ({len(summary.trajectories)} files); browse with `harbor view {summary.job_dir.parent}`")


def injection_by_category(console: Console, stats: InjectionStats) -> None:
    """Per mistake category: sampled, owed retries, injected (realized rate over all steps), silent, abandoned."""
    categories = sorted({*stats.sampled, *stats.retried, *stats.injected})
    if not categories:
        return
    table = Table("category", "sampled", "retried", "injected", "realized rate", "silent", "abandoned", title=f"injected mistakes by category ({stats.steps} steps)", title_justify="left")
    for c in [*categories, "all"]:
        pick = (lambda d: sum(d.values())) if c == "all" else (lambda d: d.get(c, 0))  # noqa: E731
        rate = stats.realized_rate if c == "all" else stats.realized_by_category.get(c, 0.0)
        table.add_row(c, str(pick(stats.sampled)), str(pick(stats.retried)), str(pick(stats.injected)), "-" if rate is None else f"{rate:.1%}", str(pick(stats.silent)), str(pick(stats.abandoned)))
    console.print(table)


def comparison(out: Console, reports: list[EvalReport], result: Comparison) -> None:
    from termigen_harbor.evaluation.evaluate import pct

    for system, r in zip(result.systems, reports):
        std = f" ± {pct(r.std_pass_at_1)}" if r.std_pass_at_1 is not None else ""
        out.print(f"{system:<50} pass@1 {pct(r.average_pass_at_1)}{std}  ({r.n_tasks} tasks, {r.n_errors} errors)", markup=False, highlight=False)
    for d in result.differences:
        out.print(f"{d.system} minus {d.baseline}: {100 * d.mean:+.1f} points [{100 * d.low:+.1f}, {100 * d.high:+.1f}] over {d.n_tasks} paired tasks",
                  markup=False, highlight=False)  # fmt: skip


def synthesis(console: Console, manifest: Manifest, out: Path) -> None:
    """The funnel, where the time and tokens went, and why each task that did not make it stopped."""
    console.print(f"funnel: {manifest.funnel.line()}")
    table = Table("stage", "tokens in", "tokens out", "seconds", title="spent per stage (all tasks)", title_justify="left")
    for stage, usage in [*manifest.usage_by_stage.items(), ("total", manifest.usage_total), ("per accepted task", manifest.per_accepted_task)]:
        if usage is not None:
            table.add_row(stage, f"{usage.input_tokens:,}", f"{usage.output_tokens:,}", f"{usage.seconds:,.0f}")
    console.print(table)
    for item in manifest.items:
        if item.stage == "accepted":
            console.print(f"[green]accepted[/] {item.id}: {item.title} -> {item.bundle}")
        elif item.error:
            console.print(f"[yellow]errored[/] {item.id} ({item.seed}): {item.error}")
        elif item.stage in ("rejected", "errored"):
            console.print(f"[yellow]{item.stage}[/] {item.id} ({item.seed}): {item.reason}")
    for category, reason in manifest.seed_failures.items():
        console.print(f"[yellow]no seeds[/] for {category}: {reason} (the next run tries again)")
    console.print(f"accepted {manifest.accepted} of {manifest.tasks} (yield {manifest.yield_}); manifest: {out / 'manifest.json'}")
    if manifest.errored:
        console.print(f"[bold yellow]{manifest.errored} task(s) errored[/] (no verdict yet): run the same command to try them again")
    if manifest.stopped:
        console.print(f"[bold yellow]stopped early:[/] {manifest.stopped} (run the same command to continue)")


def exported(console: Console, result: Exported, decontaminated: bool, out: Path, shown: int = 30) -> None:
    if result.kept:
        table = Table(title=f"dataset rows ({out / 'sft.jsonl'})", caption="tests: share passed; errors: injected mistakes; fixed: recoveries")
        table.add_column("row id", no_wrap=True)
        for column in ("reward", "tests", "steps", "errors", "fixed"):
            table.add_column(column, min_width=len(column))
        for row in result.kept[:shown]:
            ratio = "-" if row.test_pass_ratio is None else f"{row.test_pass_ratio:.0%}"
            table.add_row(row.id, _reward(row.reward), ratio, str(row.steps), str(row.n_injected_errors), str(row.recoveries))
        console.print(table)
        if len(result.kept) > shown:
            console.print(f"[dim]... and {len(result.kept) - shown} more rows[/]")
    if decontaminated:
        contaminated = sum(d.kind == "contamination" for d in result.dropped)
        console.print(f"decontamination against {result.benchmark_instructions} benchmark instructions: {contaminated} rows dropped")
    kinds = Counter(d.kind for d in result.dropped)
    console.print(f"kept {result.rows} trajectories, {result.pairs} preference pairs; dropped {len(result.dropped)} "
                  f"({', '.join(f'{k} {v}' for k, v in sorted(kinds.items())) or 'none'}; reasons in {out / 'dropped.jsonl'})")  # fmt: skip
    console.print(f"[dim]wrote {', '.join(str(f) for f in result.files)}[/]")


def taxonomy(console: Console, tax: Taxonomy) -> None:
    table = Table(title=f"{tax.name}: {len(tax.tiers)} tiers, {len(tax.categories)} categories", show_lines=True)
    for column in ("tier", "category", "goal", "skills", "seeds"):
        table.add_column(column, overflow="fold")
    for tier in tax.tiers:
        for c in tier.categories:
            table.add_row(f"{tier.id} {tier.name}", f"{c.id}\n{c.name}", c.goal, ", ".join(c.skills), ", ".join(c.seeds))
    console.print(table)


def progress_printer(console: Console) -> Callable[[dict[str, int]], None]:
    """A synthesis progress callback that prints the counts per stage when they change."""
    last: dict[str, int] = {}

    def report(counts: dict[str, int]) -> None:
        if counts != last:
            last.clear()
            last.update(counts)
            console.print("[dim]synthesis:[/] " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))

    return report


def task_note_printer(console: Console) -> Callable[[str, str], None]:
    """Prints what a task's build or verification is doing, a line per step (they take minutes)."""

    def note(task_id: str, message: str) -> None:
        console.print(f"[dim]  {escape(task_id)}:[/] {escape(message)}")

    return note
