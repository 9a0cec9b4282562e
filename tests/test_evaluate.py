import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from termigen_harbor.evaluation.evaluate import EvalSpec, build_report, evaluate, markdown, write_report
from termigen_harbor.runner import JobOutcome, TrialOutcome, read_job

from termigen_harbor.testing import make_bundle
from fake_providers import FakeProvider, openai_completion


def trial(task, attempt, reward=None, exception=None, agent_error=None):
    return TrialOutcome(task=task, trial=f"{task}__{attempt}", attempt=attempt, agent="a", reward=reward,
                        exception_type=exception, agent_metadata={"agent_error": agent_error} if agent_error else {},
                        trial_dir=Path("/x"))  # fmt: skip


def test_report_keeps_errors_apart_from_failures():
    trials = [
        trial("t1", 0, 1.0), trial("t1", 1, 1.0), trial("t1", 2, 0.0),
        trial("t2", 0, 0.0), trial("t2", 1, None, exception="EnvironmentStartTimeoutError"), trial("t2", 2, 1.0),
        trial("t3", 0, 0.0, agent_error="APIConnectionError: refused"), trial("t3", 1, 0.0), trial("t3", 2, 0.0),
    ]  # fmt: skip
    report = build_report(EvalSpec(tasks=[], dataset="d", agent="a", runs=3), JobOutcome(job_dir=Path("/j"), trials=trials))
    assert report.n_errors == 2 and report.verified_by_run == [2, 2, 3]
    assert report.pass_at_1_by_run == [0.5, 0.5, pytest.approx(1 / 3)]
    assert report.average_pass_at_1 == pytest.approx((0.5 + 0.5 + 1 / 3) / 3)
    # pass@k over verified attempts per task: t1 2/3, t2 1/2, t3 0/2
    assert report.pass_at_k[1] == pytest.approx((2 / 3 + 1 / 2 + 0) / 3)
    assert report.pass_at_k[2] == pytest.approx((1 + 1 + 0) / 3)
    assert report.pass_at_k[3] == pytest.approx(1.0)  # only t1 has 3 verified attempts
    text = markdown(report)
    assert "Errors (not counted as failures)" in text and "t2 run 2: EnvironmentStartTimeoutError" in text


def test_the_same_evaluation_gets_the_same_job():
    a = EvalSpec(tasks=[Path("/t")], dataset="d", agent="oracle", runs=3)
    assert a.job_name() == EvalSpec(tasks=[Path("/t")], dataset="d", agent="oracle", runs=3, n_concurrent=4).job_name()
    assert a.job_name() != EvalSpec(tasks=[Path("/t")], dataset="d", agent="oracle", runs=2).job_name()


@pytest.mark.docker
def test_evaluate_runs_resumes_and_writes_reports(docker_engine, tmp_path):
    tasks = tmp_path / "tasks"
    make_bundle("solvable").write(tasks)
    make_bundle("unsolvable", solve="#!/bin/bash\necho 4 > /app/count.txt\n").write(tasks)
    make_bundle("broken-image", dockerfile="FROM termigen/base:bookworm\nRUN exit 3\n").write(tasks)
    spec = EvalSpec(tasks=sorted(tasks.iterdir()), dataset="tiny", agent="oracle", runs=2, n_concurrent=2, jobs_dir=tmp_path / "jobs", max_retries=0)
    report = evaluate(spec)
    assert report.pass_at_1_by_run == [0.5, 0.5] and report.average_pass_at_1 == 0.5 and report.std_pass_at_1 == 0.0
    assert report.n_errors == 2 and report.verified_by_run == [2, 2]  # the image that cannot build is an error
    assert report.pass_at_k == {1: 0.5, 2: 0.5}
    n_trials = len(read_job(report.job_dir).trials)
    again = evaluate(spec)  # resumes: nothing is run again
    assert len(read_job(again.job_dir).trials) == n_trials and again.job_dir == report.job_dir
    assert again.pass_at_1_by_run == report.pass_at_1_by_run
    paths = write_report(report, tmp_path / "out")
    assert json.loads(paths[0].read_text())["average_pass_at_1"] == 0.5 and json.loads(paths[0].read_text())["schema_version"] == 1
    assert paths[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    termigen = str(Path(sys.executable).with_name("termigen"))
    proc = subprocess.run([termigen, "evaluate", "--compare", str(tmp_path / "out"), str(paths[0]), "-o", str(tmp_path / "cmp")], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.count("pass@1 50.0% ± 0.0%") == 2 and (tmp_path / "cmp" / "compare.png").exists()


@pytest.mark.docker
def test_harbors_terminus_2_runs_on_the_local_model_through_litellm(docker_engine, tmp_path, monkeypatch):
    """`-a terminus-2 -m local/...`: Harbor's agent knows only litellm, so the embedded model is served
    as an OpenAI endpoint for the job (here a loopback server speaking that wire format stands in)."""
    reply = json.dumps({"analysis": "count.txt is missing.", "plan": "Count the words.", "task_complete": True,
                        "commands": [{"keystrokes": "wc -w < /app/input.txt > /app/count.txt\n", "duration": 0.5}]})  # fmt: skip
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    make_bundle("solvable").write(tmp_path / "tasks")
    spec = EvalSpec(tasks=[tmp_path / "tasks" / "solvable"], dataset="tiny", agent="terminus-2", model="local/qwen2.5-coder-0.5b", runs=1, jobs_dir=tmp_path / "jobs")
    with FakeProvider([openai_completion(reply)] * 8) as server:
        monkeypatch.setenv("TERMIGEN_LOCAL_BASE_URL", server.url + "/v1")
        report = evaluate(spec)
    assert report.n_errors == 0 and report.average_pass_at_1 == 1.0, markdown(report)
    assert report.model == "local/qwen2.5-coder-0.5b"
    assert server.received and {(r.path, r.body["model"]) for r in server.received} == {("/v1/chat/completions", "qwen2.5-coder-0.5b")}
    assert "OPENAI_BASE_URL" not in os.environ  # pointed at the local server only while the job ran
