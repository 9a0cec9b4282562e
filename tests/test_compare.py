"""`termigen evaluate --compare A B`: one table, a summary per system, the paired difference with a
bootstrap interval, the disagreements, a warning when the task sets differ, and a grouped chart."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from termigen_harbor.cli import app
from termigen_harbor.evaluation.compare import compare, compare_markdown
from termigen_harbor.evaluation.evaluate import EvalReport, TaskRow
from termigen_harbor.evaluation.metrics import paired_bootstrap


def report(agent: str, rows: dict[str, list[float | None]], tokens: int, seconds: float, dataset: str = "tb1-dev") -> EvalReport:
    tasks = [TaskRow(task=t, rewards=r, errors=[None if x is not None else "AgentTimeoutError" for x in r]) for t, r in rows.items()]
    runs = len(next(iter(rows.values())))
    by_run = [sum((r[i] or 0) >= 1 for r in rows.values() if r[i] is not None) / max(1, sum(r[i] is not None for r in rows.values())) for i in range(runs)]
    return EvalReport(dataset=dataset, agent=agent, model="local/qwen2.5-coder-1.5b", runs=runs, n_tasks=len(rows), average_pass_at_1=sum(by_run) / runs,
                      std_pass_at_1=0.1, pass_at_1_by_run=by_run, verified_by_run=[len(rows)] * runs, pass_at_k={1: 0.3, 2: 0.4, 3: 0.5},
                      n_errors=sum(x is None for r in rows.values() for x in r), tasks=tasks, input_tokens=tokens, output_tokens=tokens // 10,
                      cost_usd=0.0, agent_seconds=seconds, job_dir=Path("/jobs/x"))  # fmt: skip


BASH = report("termigen_harbor.agents:BashAgent", {"a": [1, 1, 1], "b": [1, 0, 1], "c": [0, 0, 0], "d": [0, 0, None]}, tokens=112_000, seconds=779)
TERMINUS = report("terminus-2", {"a": [1, 1, 1], "b": [0, 0, 0], "c": [0, 0, 0], "d": [1, 1, 1]}, tokens=217_000, seconds=931)


def test_the_paired_difference_and_its_interval():
    mean, low, high = paired_bootstrap([1.0, 0.0, 0.0, 0.0])
    assert mean == 0.25 and 0.0 <= low <= 0.25 <= high <= 1.0
    assert paired_bootstrap([0.5] * 10) == (0.5, 0.5, 0.5)
    with pytest.raises(ValueError):
        paired_bootstrap([])


def test_a_comparison_shows_each_task_per_system_the_summary_and_where_they_disagree():
    comparison = compare([BASH, TERMINUS])
    assert comparison.systems == ["BashAgent / local/qwen2.5-coder-1.5b", "terminus-2 / local/qwen2.5-coder-1.5b"]
    assert comparison.disagreements == ["b", "d"] and not comparison.only_in_some
    diff = comparison.differences[0]
    assert diff.n_tasks == 4 and diff.mean == pytest.approx((0 + -2 / 3 + 0 + 1) / 4) and diff.low <= diff.mean <= diff.high
    assert diff.input_tokens_ratio == pytest.approx(217 / 112) and diff.agent_seconds_ratio == pytest.approx(931 / 779)
    text = compare_markdown([BASH, TERMINUS], comparison)
    assert "| b * | 1 0 1 (0.67 ± 0.58) | 0 0 0 (0.00 ± 0.00) |" in text
    assert "| d * | 0 0 E (0.00 ± 0.00) | 1 1 1 (1.00 ± 0.00) |" in text  # an errored run is shown, not counted
    assert "| BashAgent / local/qwen2.5-coder-1.5b | " in text and "| 112,000 | 11,200 | 779 | 1 |" in text
    assert "paired over 4 tasks: +8.3 points" in text and "1.94x the input tokens, 1.20x the agent time" in text
    assert "Tasks where the systems disagree (2): b, d." in text and "Warning" not in text


def test_different_task_sets_are_warned_about_and_only_paired_tasks_are_differenced(tmp_path):
    other = report("terminus-2", {"a": [1, 1, 1], "e": [0, 0, 0]}, tokens=1, seconds=1)
    comparison = compare([BASH, other])
    assert comparison.only_in_some == {"b": [comparison.systems[0]], "c": [comparison.systems[0]], "d": [comparison.systems[0]], "e": [comparison.systems[1]]}
    assert comparison.differences[0].n_tasks == 1 and "did not run the same tasks" in compare_markdown([BASH, other], comparison)


def test_the_readme_command_compares_report_folders_as_written(tmp_path):
    for name, r in (("bash", BASH), ("terminus", TERMINUS)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "report.json").write_text(r.model_dump_json())
    result = CliRunner().invoke(app, ["evaluate", "--compare", str(tmp_path / "bash"), str(tmp_path / "terminus"), "-o", str(tmp_path / "cmp")])
    assert result.exit_code == 0, result.output
    assert "minus BashAgent" in result.output and (tmp_path / "cmp" / "compare.png").read_bytes()[:4] == b"\x89PNG"
    assert "| b * |" in (tmp_path / "cmp" / "compare.md").read_text()
    lonely = CliRunner().invoke(app, ["evaluate", "--compare", str(tmp_path / "bash")])
    assert lonely.exit_code == 2 and "at least two reports" in lonely.output
    stray = CliRunner().invoke(app, ["evaluate", str(tmp_path / "bash")])
    assert stray.exit_code == 2 and "--compare A B" in stray.output
