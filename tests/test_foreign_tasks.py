"""Task folders made by other tools, broken in the ways they come: `termigen validate` reports each
with a reason and goes on with the rest of the batch (no traceback, exit code 1); `termigen
evaluate` runs what can run and reports the rest per task."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from termigen_harbor.testing import make_bundle

pytestmark = pytest.mark.docker
TERMIGEN = str(Path(sys.executable).with_name("termigen"))


def batch(root: Path) -> Path:
    tasks = root / "tasks"
    make_bundle("good").write(tasks)
    make_bundle("no-solution", solve=None).write(tasks)
    placeholder = make_bundle("placeholder").write(tasks)  # as `harbor init` leaves it: nothing filled in
    (placeholder / "instruction.md").write_text("")
    (placeholder / "solution" / "solve.sh").write_text("#!/bin/bash\n\n# Use this file to solve the task.\n")
    (placeholder / "tests" / "test.sh").write_text("#!/bin/bash\n\n# Use this file to verify the task and generate a reward.\n")
    unknown = make_bundle("unknown-keys").write(tasks)
    (unknown / "task.toml").write_text((unknown / "task.toml").read_text().replace("[agent]\n", "[agent]\nbogus_option = 3\n"))
    make_bundle("broken-image", dockerfile="FROM termigen/base:bookworm\nRUN exit 3\n").write(tasks)
    hangs = make_bundle("hanging-tests", config={"artifacts": ["/app/count.txt"], "agent": {"timeout_sec": 60},
                                                  "verifier": {"timeout_sec": 10, "environment_mode": "separate"}}).write(tasks)  # fmt: skip
    (hangs / "tests" / "test.sh").write_text("#!/bin/bash\nsleep 600\n")
    return tasks


def test_validate_reports_every_broken_task_and_goes_on(docker_engine, tmp_path):
    tasks = batch(tmp_path)
    proc = subprocess.run([TERMIGEN, "validate", str(tasks), "--json", "--jobs-dir", str(tmp_path / "jobs")], capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert "Could not resolve container" not in proc.stderr  # Harbor's log copy from a container that never started: job.log only
    reports = {r["name"]: r for r in json.loads(proc.stdout)}
    assert set(reports) == {"good", "no-solution", "placeholder", "unknown-keys", "broken-image", "hanging-tests"}
    assert reports["good"]["ok"]
    reasons = {name: " | ".join(f["message"] for f in r["findings"] if f["severity"] == "error") for name, r in reports.items()}
    assert not any(r["ok"] for name, r in reports.items() if name != "good"), reasons
    assert "solve.sh is missing" in reasons["no-solution"]
    assert "instruction.md is empty" in reasons["placeholder"]
    assert "bogus_option" in reasons["unknown-keys"]
    assert "oracle" in reasons["broken-image"] and "exit code: 3" in reasons["broken-image"]
    assert "VerifierTimeoutError" in reasons["hanging-tests"]


def test_evaluate_runs_what_can_run_and_reports_the_rest(docker_engine, tmp_path):
    tasks = batch(tmp_path)
    proc = subprocess.run([TERMIGEN, "evaluate", "--dataset", str(tasks), "-a", "oracle", "--runs", "1", "-n", "2", "--jobs-dir", str(tmp_path / "jobs"),
                           "-o", str(tmp_path / "report")], capture_output=True, text=True, timeout=1200)  # fmt: skip
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    rows = {row["task"]: row for row in report["tasks"]}
    assert rows["good"]["rewards"] == [1.0] and rows["unknown-keys"]["rewards"] == [1.0]  # Harbor ignores the unknown key; validate reports it
    assert "exit code: 3" in rows["broken-image"]["errors"][0] and rows["hanging-tests"]["errors"][0].startswith("VerifierTimeoutError")
    assert rows["no-solution"]["errors"][0] or rows["no-solution"]["rewards"] == [0.0]
    assert report["n_errors"] >= 2
