"""Several evaluation reports side by side (pure functions, and the chart): one row per task and
a column per system, a summary per system, the paired difference against the first system with a
bootstrap interval over tasks, and the tasks where the systems disagree."""

from __future__ import annotations

import statistics
from pathlib import Path

from pydantic import BaseModel, Field

from termigen_harbor.evaluation.evaluate import EvalReport, coverage_line, pct
from termigen_harbor.evaluation.metrics import paired_bootstrap


class PairedDifference(BaseModel):
    system: str
    baseline: str
    n_tasks: int  # tasks verified in both
    mean: float  # mean over tasks of (system - baseline) per-task pass rate
    low: float
    high: float
    confidence: float = 0.95
    input_tokens_ratio: float | None = None
    agent_seconds_ratio: float | None = None


class Comparison(BaseModel):
    systems: list[str]
    tasks: list[str]  # every task any system ran
    rates: dict[str, dict[str, float | None]]  # system -> task -> mean reward over its verified runs
    differences: list[PairedDifference] = Field(default_factory=list)
    disagreements: list[str] = Field(default_factory=list)  # tasks whose per-task rate differs between systems
    only_in_some: dict[str, list[str]] = Field(default_factory=dict)  # task -> the systems that ran it, when not all did


def label(report: EvalReport) -> str:
    agent = report.agent.rsplit(":", 1)[-1].rsplit(".", 1)[-1]
    return f"{agent} / {report.model}" if report.model else agent


def task_rate(rewards: list[float | None]) -> float | None:
    verified = [r for r in rewards if r is not None]
    return sum(r >= 1.0 for r in verified) / len(verified) if verified else None


def compare(reports: list[EvalReport], seed: int = 0) -> Comparison:
    systems = [label(r) for r in reports]
    if len(set(systems)) < len(systems):  # the same agent and model twice: number them
        systems = [f"{s} ({i + 1})" for i, s in enumerate(systems)]
    rates = {s: {row.task: task_rate(row.rewards) for row in r.tasks} for s, r in zip(systems, reports)}
    tasks = sorted({t for by_task in rates.values() for t in by_task})
    result = Comparison(systems=systems, tasks=tasks, rates=rates)
    for task in tasks:
        present = [s for s in systems if task in rates[s]]
        if len(present) < len(systems):
            result.only_in_some[task] = present
        values = {rates[s].get(task) for s in present} - {None}
        if len(values) > 1:
            result.disagreements.append(task)
    base, base_report = systems[0], reports[0]
    for system, report in zip(systems[1:], reports[1:]):
        paired = [(rates[system][t], rates[base][t]) for t in tasks if rates[system].get(t) is not None and rates[base].get(t) is not None]
        if not paired:
            continue
        mean, low, high = paired_bootstrap([a - b for a, b in paired], seed=seed)
        result.differences.append(PairedDifference(
            system=system, baseline=base, n_tasks=len(paired), mean=mean, low=low, high=high,
            input_tokens_ratio=report.input_tokens / base_report.input_tokens if base_report.input_tokens else None,
            agent_seconds_ratio=report.agent_seconds / base_report.agent_seconds if base_report.agent_seconds else None,
        ))  # fmt: skip
    return result


def _cell(rewards: list[float | None], errors: list[str | None]) -> str:
    runs = " ".join("E" if e else ("-" if r is None else f"{r:g}") for r, e in zip(rewards, errors))
    verified = [1.0 if r >= 1.0 else 0.0 for r in rewards if r is not None]
    if not verified:
        return runs
    spread = f" ± {statistics.stdev(verified):.2f}" if len(verified) > 1 else ""
    return f"{runs} ({statistics.mean(verified):.2f}{spread})"


def compare_markdown(reports: list[EvalReport], comparison: Comparison) -> str:
    systems = comparison.systems
    rows = {s: {row.task: row for row in r.tasks} for s, r in zip(systems, reports)}
    lines = [f"# {' vs '.join(systems)}", ""]
    datasets = sorted({r.dataset for r in reports})
    coverage = next((r.coverage for r in reports if r.coverage), None)
    lines.append(f"Dataset: {', '.join(datasets)}." + (f" {coverage_line(coverage)}" if coverage else ""))
    if len(datasets) > 1 or comparison.only_in_some:
        lines += ["", f"**Warning: the systems did not run the same tasks** ({len(comparison.only_in_some)} tasks ran in only some of them: "
                      + "; ".join(f"{t}: {', '.join(s)}" for t, s in sorted(comparison.only_in_some.items())[:20]) + "). Compare the paired rows only."]  # fmt: skip
    lines += ["", "Each cell: the reward of each run (E: an errored trial, kept apart), then the task's pass rate over its verified runs ± std.", ""]
    lines += ["| task | " + " | ".join(systems) + " |", "|---|" + "---|" * len(systems)]
    for task in comparison.tasks:
        cells = [_cell(rows[s][task].rewards, rows[s][task].errors) if task in rows[s] else "not run" for s in systems]
        lines.append(f"| {task}{' *' if task in comparison.disagreements else ''} | " + " | ".join(cells) + " |")
    lines += ["", "`*`: the systems disagree on this task.", ""]
    ks = sorted({k for r in reports for k in r.pass_at_k})
    lines += ["| system | Average Pass@1 ± std | " + " | ".join(f"pass@{k}" for k in ks) + " | tokens in | tokens out | agent seconds | errors |",
              "|---|---|" + "---|" * len(ks) + "---|---|---|---|"]  # fmt: skip
    for s, r in zip(systems, reports):
        std = f" ± {pct(r.std_pass_at_1)}" if r.std_pass_at_1 is not None else ""
        lines.append(f"| {s} | {pct(r.average_pass_at_1)}{std} | " + " | ".join(pct(r.pass_at_k.get(k)) for k in ks)
                     + f" | {r.input_tokens:,} | {r.output_tokens:,} | {r.agent_seconds:,.0f} | {r.n_errors} |")  # fmt: skip
    for d in comparison.differences:
        tokens = f"; {d.input_tokens_ratio:.2f}x the input tokens" if d.input_tokens_ratio is not None else ""
        seconds = f", {d.agent_seconds_ratio:.2f}x the agent time" if d.agent_seconds_ratio is not None else ""
        lines += ["", f"**{d.system} minus {d.baseline}**, paired over {d.n_tasks} tasks: {100 * d.mean:+.1f} points of per-task pass rate, "
                      f"{int(100 * d.confidence)}% bootstrap interval [{100 * d.low:+.1f}, {100 * d.high:+.1f}]{tokens}{seconds}."]  # fmt: skip
    if comparison.disagreements:
        lines += ["", f"Tasks where the systems disagree ({len(comparison.disagreements)}): " + ", ".join(comparison.disagreements) + "."]
    else:
        lines += ["", "The systems agree on every task they both ran."]
    return "\n".join(lines) + "\n"


def compare_chart(reports: list[EvalReport], comparison: Comparison, path: Path) -> None:
    """Grouped bars: each task's pass rate per system, then the overall Average Pass@1 with its std."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    systems, tasks = comparison.systems, comparison.tasks
    width = 0.8 / len(systems)
    fig, ax = plt.subplots(figsize=(max(6, 0.55 * (len(tasks) + 2) * max(1, len(systems) / 2) + 2), 4.5))
    for i, (system, report) in enumerate(zip(systems, reports)):
        xs = [j + i * width for j in range(len(tasks))]
        ax.bar(xs, [100 * (comparison.rates[system].get(t) or 0) for t in tasks], width, label=system)
        overall = len(tasks) + 0.5 + i * width
        ax.bar([overall], [100 * (report.average_pass_at_1 or 0)], width, yerr=[100 * (report.std_pass_at_1 or 0)], capsize=4,
               color=ax.patches[-1].get_facecolor(), edgecolor="black")  # fmt: skip
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(tasks))] + [len(tasks) + 0.9 - width / 2], tasks + ["Average Pass@1"], rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("pass rate (%)")
    ax.set_ylim(0, 105)
    ax.legend(fontsize=7)
    ax.set_title("Per task and overall (error bars: std over runs)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_comparison(reports: list[EvalReport], out: Path, seed: int = 0) -> Comparison:
    """compare.md and compare.png in `out`; returns the comparison."""
    comparison = compare(reports, seed)
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.md").write_text(compare_markdown(reports, comparison))
    compare_chart(reports, comparison, out / "compare.png")
    return comparison
