"""Where verifiers run: a separate sandbox fed with artifacts, or the agent's container with a reason."""

import tomllib

from harbor.models.task.config import TaskConfig

from termigen_harbor.validate import harbor_lint_findings
from termigen_harbor.verifier_sandbox import artifacts_for_outputs, describe, sandbox_for_outputs, shared_verifier

from termigen_harbor.testing import make_bundle


def test_file_outputs_travel_as_artifacts_and_nested_paths_collapse():
    artifacts, reason = artifacts_for_outputs([
        "`/app/report.json`: a JSON object with the totals",
        "/app/out/ (one CSV per region, e.g. /app/out/eu.csv)",
        "the cleaned data in /app/out/clean.csv",
    ])  # fmt: skip
    assert (artifacts, reason) == (["/app/out", "/app/report.json"], "")


def test_live_state_or_an_output_without_a_path_keeps_the_shared_verifier():
    artifacts, reason = artifacts_for_outputs(["/app/server.py", "an HTTP service listening on 127.0.0.1:8080"])
    assert artifacts is None and "live state" in reason and "listening" in reason
    artifacts, reason = artifacts_for_outputs(["/app/a.txt", "a summary printed to the terminal"])
    assert artifacts is None and "names no absolute path" in reason


def test_a_task_configured_either_way_passes_harbor_lint(tmp_path):
    separate = sandbox_for_outputs(TaskConfig(), ["/app/count.txt"])
    assert separate.verifier.environment_mode.value == "separate" and separate.artifacts == ["/app/count.txt"]
    assert "FRESH container" in describe(separate) and "/app/count.txt" in describe(separate)
    shared = sandbox_for_outputs(TaskConfig(), ["a cron job that runs every minute"])
    assert shared.verifier.environment_mode.value == "shared" and "agent's container" in describe(shared)
    for name, config in (("separate", separate), ("shared", shared)):
        config.agent.timeout_sec = 60
        bundle = make_bundle(name)
        root = bundle.model_copy(update={"config": config}).write(tmp_path)
        assert harbor_lint_findings(root) == [], name
    written = tomllib.loads((tmp_path / "shared" / "task.toml").read_text())
    assert written["metadata"]["harbor"]["lint"]["ignore"] == ["shared-verifier"]
    assert "cron job" in written["metadata"]["lint_ignore_reasons"]["shared-verifier"]


def test_the_shared_verifier_needs_a_reason():
    try:
        shared_verifier(TaskConfig(), "  ")
    except ValueError as exc:
        assert "needs a reason" in str(exc)
    else:
        raise AssertionError("an empty reason was accepted")
