"""`termigen validate` through the real CLI, Harbor and the Docker engine."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from termigen_harbor.runner import read_job

from termigen_harbor.testing import TEMPLATES, make_bundle

# One worker runs this module: its tests share one `termigen validate` run.
pytestmark = [pytest.mark.docker, pytest.mark.xdist_group("validate-docker")]
TEMPLATE = "csv-json-etl"  # a real template: oracle and nop through Docker


@pytest.fixture(scope="module")
def validated(docker_engine, tmp_path_factory):
    tasks = tmp_path_factory.mktemp("tasks")
    jobs = tmp_path_factory.mktemp("jobs")
    make_bundle("good").write(tasks)
    # Tests that only look at the untouched input: the no-op agent passes them.
    make_bundle("nop-passes", tests_py="from pathlib import Path\n\ndef test_input():\n    assert Path('/app/input.txt').exists()\n").write(tasks)
    make_bundle("wrong-solution", solve="#!/bin/bash\necho 4 > /app/count.txt\n").write(tasks)
    make_bundle("no-solution", solve=None).write(tasks)
    broken = make_bundle("malformed-toml").write(tasks)
    (broken / "task.toml").write_text("[agent\ntimeout_sec = 60\n")
    shutil.copytree(TEMPLATES / TEMPLATE, tasks / TEMPLATE)
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("termigen")), "validate", str(tasks), "--json", "--jobs-dir", str(jobs)],
        capture_output=True, text=True, timeout=1200,
    )
    reports = {r["name"]: r for r in json.loads(proc.stdout)}
    return proc, reports, jobs


def reasons(report):
    return " | ".join(f["message"] for f in report["findings"] if f["severity"] == "error")


def test_exit_code_is_1_when_any_task_fails(validated):
    proc, reports, _ = validated
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert set(reports) == {"good", "nop-passes", "wrong-solution", "no-solution", "malformed-toml", TEMPLATE}


def test_a_good_task_passes_with_oracle_1_and_nop_0(validated):
    report = validated[1]["good"]
    assert report["ok"], reasons(report)
    assert (report["oracle_reward"], report["nop_reward"]) == (1.0, 0.0)


def test_a_real_template_passes(validated):
    report = validated[1][TEMPLATE]
    assert report["ok"], reasons(report)
    assert (report["oracle_reward"], report["nop_reward"]) == (1.0, 0.0)


def test_tests_that_pass_on_the_untouched_container_are_rejected(validated):
    report = validated[1]["nop-passes"]
    assert not report["ok"] and report["nop_reward"] == 1.0
    assert "pass on the untouched container" in reasons(report)


def test_a_solution_that_fails_its_tests_is_rejected_naming_the_failing_test(validated):
    report = validated[1]["wrong-solution"]
    assert not report["ok"] and report["oracle_reward"] == 0.0
    assert "reference solution does not pass" in reasons(report) and "test_count" in reasons(report)


def test_static_failures_are_reported_without_running(validated):
    reports = validated[1]
    assert "solution/solve.sh is missing" in reasons(reports["no-solution"])
    assert reports["no-solution"]["oracle_reward"] is None
    assert "task.toml: not valid TOML" in reasons(reports["malformed-toml"])


def test_the_runner_reads_typed_results_from_the_real_job(validated):
    _, _, jobs = validated
    oracle_job = next(jobs.glob("*-oracle"))
    outcome = read_job(oracle_job)
    good = outcome.by_task()["good"][0]
    assert good.agent == "oracle" and good.reward == 1.0 and good.passed and not good.errored
    assert [(t.name.rsplit("::", 1)[-1], t.outcome) for t in good.tests] == [("test_count", "passed"), ("test_input_untouched", "passed")]
    assert good.test_pass_ratio == 1.0
    assert all(good.durations_sec[p] is not None and good.durations_sec[p] >= 0 for p in ("environment_setup", "verifier", "total"))
    wrong = outcome.by_task()["wrong-solution"][0]
    assert wrong.reward == 0.0 and wrong.test_pass_ratio == 0.5
    assert outcome.mean_reward == pytest.approx(sum(t.reward for t in outcome.trials) / len(outcome.trials))
