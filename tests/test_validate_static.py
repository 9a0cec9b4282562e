from termigen_harbor.validate import discover, static_findings

from termigen_harbor.testing import TEMPLATES, make_bundle


def checks(findings, severity="error"):
    return {f.check for f in findings if f.severity == severity}


def test_a_good_task_has_no_findings(tmp_path):
    assert static_findings(make_bundle().write(tmp_path)) == []


def test_misspelt_keys_are_errors_because_harbor_ignores_them(tmp_path):
    root = make_bundle().write(tmp_path)
    (root / "task.toml").write_text(
        'artifacts = ["/app/count.txt"]\n[agent]\ntimeout_sec = 60\n\n[enviroment]\ncpus = 1\n\n[verifier]\ntimeout = 60\nenvironment_mode = "separate"\n'
    )
    messages = " ".join(f.message for f in static_findings(root) if f.check == "harbor-lint")
    assert "[unknown-config-field]" in messages
    assert "'enviroment'" in messages and "'verifier.timeout'" in messages


def test_harbor_lint_runs_on_every_task_with_the_rules_harbor_lint_would_apply(tmp_path):
    shared = make_bundle(config={"agent": {"timeout_sec": 60}, "environment": {"cpus": 1, "memory_mb": 512}}).write(tmp_path / "a")
    assert [f.message for f in static_findings(shared) if f.check == "harbor-lint"] == [
        '[shared-verifier] task.toml: Verifier shares the agent sandbox; set verifier.environment_mode = "separate", including shared step overrides.'
    ]
    unpinned = make_bundle(dockerfile="FROM termigen/base:bookworm\nRUN pip install requests\n").write(tmp_path / "b")
    assert any(f.message.startswith("[unpinned-python-dependency] environment/Dockerfile:2") for f in static_findings(unpinned))
    # A dataset manifest above the task tunes the rules for all its tasks, as in `harbor lint`.
    (tmp_path / "b" / "dataset.toml").write_text('[metadata.harbor.lint]\nignore = ["unpinned-python-dependency"]\n')
    assert not any(f.check == "harbor-lint" for f in static_findings(unpinned))


def test_a_harbor_rule_turned_off_needs_a_reason(tmp_path):
    config = {"agent": {"timeout_sec": 60}, "environment": {"cpus": 1, "memory_mb": 512},
              "metadata": {"harbor": {"lint": {"ignore": ["shared-verifier"]}}}}  # fmt: skip
    root = make_bundle(config=config).write(tmp_path / "a")
    assert [f.message for f in static_findings(root) if f.check == "harbor-lint"] == [
        'task.toml turns off Harbor\'s `shared-verifier` rule without saying why: add [metadata.lint_ignore_reasons] "shared-verifier" = "..."'
    ]
    config["metadata"]["lint_ignore_reasons"] = {"shared-verifier": "the tests talk to the server the agent started"}
    assert static_findings(make_bundle(config=config).write(tmp_path / "b")) == []
    config["metadata"]["harbor"]["lint"]["ignore"] = ["no-such-rule"]
    messages = [f.message for f in static_findings(make_bundle(config=config).write(tmp_path / "c"))]
    assert len(messages) == 1 and messages[0].startswith("invalid lint configuration")


def test_missing_agent_timeout_and_solution_are_errors(tmp_path):
    bundle = make_bundle(solve=None, config={"metadata": {"category": "data_etl"}})
    findings = static_findings(bundle.write(tmp_path))
    assert {"agent-timeout", "solution"} <= checks(findings)
    assert "resources" in checks(findings, "warning")


def test_tests_or_solution_copied_into_the_image_are_errors(tmp_path):
    bundle = make_bundle(dockerfile="FROM termigen/base:bookworm\nCOPY tests/ /tests/\n")
    assert "tests-in-image" in checks(static_findings(bundle.write(tmp_path / "a")))
    # Harbor's own rule reports its conventional file names; we do not report them twice.
    bundle = make_bundle(dockerfile="FROM termigen/base:bookworm\nCOPY solution/solve.sh /opt/\n")
    findings = static_findings(bundle.write(tmp_path / "c"))
    assert [f.message.split("]")[0] for f in findings if f.severity == "error"] == ["[agent-image-test-leak"]
    bundle = make_bundle()
    bundle.environment["hidden/test_outputs.py"] = bundle.tests["test_outputs.py"]
    findings = static_findings(bundle.write(tmp_path / "b"))
    assert any(f.check == "tests-in-image" and "hidden/test_outputs.py" in f.message for f in findings)


def test_paths_the_tests_check_but_the_instruction_never_names_are_flagged(tmp_path):
    bundle = make_bundle(tests_py="from pathlib import Path\n\ndef test_x():\n    assert Path('/app/secret_output.json').exists()\n")
    findings = static_findings(bundle.write(tmp_path))
    assert any("/app/secret_output.json" in f.message for f in findings if f.check == "instruction-outputs")


def test_directories_harbor_would_skip_are_reported_not_skipped(tmp_path):
    make_bundle("good").write(tmp_path)
    no_env = make_bundle("no-environment").write(tmp_path)
    for f in (no_env / "environment").iterdir():
        f.unlink()
    (no_env / "environment").rmdir()
    (tmp_path / "stray").mkdir()
    (tmp_path / "README.md").write_text("not a task")
    found = discover([tmp_path])
    assert [p.name for p in found] == ["good", "no-environment", "stray"]
    reports = {p.name: static_findings(p) for p in found}
    assert reports["good"] == []
    assert any(f.check == "harbor" and "silently skip" in f.message for f in reports["no-environment"])
    assert any(f.check == "harbor" and "not a task directory" in f.message for f in reports["stray"])


def test_every_template_passes_the_static_checks():
    templates = discover([TEMPLATES])
    assert len(templates) >= 8
    for template in templates:
        errors = [f.message for f in static_findings(template) if f.severity == "error"]
        assert errors == [], f"{template.name}: {errors}"
