"""`termigen validate`: static checks, then the oracle must score 1 and the no-op agent 0.

Every directory given (or every subdirectory of a directory of tasks) gets a report; one that
Harbor would silently skip is reported with the reason, never dropped.
"""

from __future__ import annotations

import os
import re
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from harbor.lint import LintFinding, LintRule, lint_task
from harbor.lint.compose import ComposeLoadError
from harbor.lint.models import DEFAULT_RULES, LintConfig
from harbor.models.dataset.paths import DatasetPaths
from harbor.models.task.task import Task
from pydantic import BaseModel, Field, ValidationError

from termigen_harbor.bundle import CONFIG, BundleError, TaskBundle, harbor_accepts, task_folders
from termigen_harbor.runner import JobOutcome, RunSpec, TrialOutcome, run_job
from termigen_harbor.verifier_sandbox import LINT_REASONS

TASK_MARKERS = (CONFIG, "instruction.md", "environment", "tests", "solution")
# Absolute paths a test may check. Our verifier's own paths are not outputs of the task.
PATH_RE = re.compile(r"(?<![\w.])(/(?:app|srv|etc|var|opt|home|root|tmp|data|usr/local|workspace)/[A-Za-z0-9_.\-/]*[A-Za-z0-9_])")
NOT_OUTPUTS = ("/tests", "/logs", "/opt/termigen", "/solution", "/tmp/termigen-verifier")
# What Harbor's agent-image-test-leak rule already reports in a Dockerfile COPY/ADD.
HARBOR_LEAK_RE = re.compile(r"(?:^|/)(?:solution/solve\.sh|tests/(?:test\.sh|test_[^/]+\.py))$")


class Finding(BaseModel):
    check: str
    severity: Literal["error", "warning"]
    message: str


class TaskReport(BaseModel):
    path: Path
    name: str
    findings: list[Finding] = Field(default_factory=list)
    oracle_reward: float | None = None
    nop_reward: float | None = None
    oracle_trial: Path | None = None
    nop_trial: Path | None = None

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_json(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        data["ok"] = self.ok
        return data


# ---------------------------------------------------------------------- discovery
def discover(paths: list[Path]) -> list[Path]:
    """Task directories: each path that is one, else each visible subdirectory of it."""
    found: list[Path] = []
    for path in map(Path, paths):
        if not path.is_dir():
            found.append(path)  # reported as an error later
        else:
            found += task_folders(path, lambda p: any((p / marker).exists() for marker in TASK_MARKERS), keep_others=True)
    return found


# ---------------------------------------------------------------------- static checks
def static_findings(task_dir: Path) -> list[Finding]:
    if not task_dir.is_dir():
        return [Finding(check="exists", severity="error", message=f"{task_dir} is not a directory")]
    if not any((task_dir / marker).exists() for marker in TASK_MARKERS):
        return [Finding(check="harbor", severity="error", message="not a task directory: no task.toml, instruction.md, environment/, tests/ or solution/")]
    try:
        bundle = TaskBundle.read(task_dir)
    except BundleError as exc:
        return [Finding(check="bundle", severity="error", message=str(exc))]
    findings: list[Finding] = []
    if not harbor_accepts(task_dir):
        findings.append(Finding(check="harbor", severity="error", message=f"Harbor would silently skip this task: {harbor_reason(task_dir)}"))
    config = bundle.config
    if config.agent.timeout_sec is None:
        findings.append(Finding(check="agent-timeout", severity="error", message="task.toml: [agent].timeout_sec is not set, so an agent may run forever"))
    if not bundle.instruction.strip():
        findings.append(Finding(check="instruction", severity="error", message="instruction.md is empty: the agent would not know what to do"))
    if "solve.sh" not in bundle.solution:
        findings.append(Finding(check="solution", severity="error", message="solution/solve.sh is missing: without a reference solution nobody has shown the task can be solved"))
    elif only_comments(bundle.solution["solve.sh"].content):
        findings.append(Finding(check="solution", severity="error", message="solution/solve.sh runs nothing (comments only): a placeholder, not a solution"))
    if "test.sh" not in bundle.tests:
        findings.append(Finding(check="tests", severity="error", message="tests/test.sh is missing: the verifier has nothing to run"))
    elif only_comments(bundle.tests["test.sh"].content):
        findings.append(Finding(check="tests", severity="error", message="tests/test.sh runs nothing (comments only): a placeholder that writes no reward"))
    findings += _leak_findings(bundle)
    findings += _instruction_findings(bundle)
    if config.environment.cpus is None or config.environment.memory_mb is None:
        findings.append(Finding(check="resources", severity="warning", message="task.toml: [environment] cpus / memory_mb not set"))
    findings += harbor_lint_findings(task_dir)
    return findings


def only_comments(script: bytes) -> bool:
    """A shell script with no command in it: blank lines, comments and the shebang only."""
    return all(not line.strip() or line.lstrip().startswith("#") for line in script.decode(errors="replace").splitlines())


def harbor_reason(task_dir: Path) -> str:
    """Why Harbor refuses a task folder, in Harbor's words."""
    try:
        Task(task_dir)
    except Exception as exc:  # Harbor raises several types here; we only want its words
        return str(exc) or type(exc).__name__
    return "Task.is_valid_dir returned False"


def _leak_findings(bundle: TaskBundle) -> list[Finding]:
    """Tests or the solution must never be baked into the image the agent works in. Harbor's
    `agent-image-test-leak` rule catches COPY of its conventional file names; this catches the
    rest: whole tests/ or solution/ folders copied, and copies of their content under other names."""
    findings = []
    dockerfile = bundle.environment.get("Dockerfile")
    if dockerfile is not None:
        for n, line in enumerate(dockerfile.content.decode(errors="replace").splitlines(), 1):
            words = line.split()
            if not words or words[0].upper() not in ("COPY", "ADD"):
                continue
            sources = [w for w in words[1:-1] if not w.startswith("--")]
            if any(re.fullmatch(r"(\./)?(tests|solution)(/.*)?", src) and not HARBOR_LEAK_RE.search(src) for src in sources):
                findings.append(Finding(check="tests-in-image", severity="error", message=f"environment/Dockerfile line {n} copies tests or the solution into the image: {line.strip()}"))
    secret = {f.content for f in (*bundle.tests.values(), *bundle.solution.values()) if len(f.content) > 64}
    for rel, file in bundle.environment.items():
        if file.content in secret or rel.rsplit("/", 1)[-1] in ("test_outputs.py", "solve.sh"):
            findings.append(Finding(check="tests-in-image", severity="error", message=f"environment/{rel} is a copy of a test or solution file: the agent could read it"))
    return findings


def _instruction_findings(bundle: TaskBundle) -> list[Finding]:
    """Every path the tests check should be named by the instruction or exist in the environment."""
    test_text = "\n".join(f.content.decode(errors="replace") for rel, f in bundle.tests.items() if rel != "test.sh")
    env_text = "\n".join([*bundle.environment, *(f.content.decode(errors="replace") for f in bundle.environment.values())])
    findings = []
    for path in sorted(set(PATH_RE.findall(test_text))):
        if path.startswith(NOT_OUTPUTS):
            continue
        name = path.rstrip("/").rsplit("/", 1)[-1]
        if path in bundle.instruction or name in bundle.instruction or name in env_text:
            continue
        findings.append(Finding(check="instruction-outputs", severity="warning", message=f"the tests use {path}, which the instruction never names"))
    return findings


def lint_rules(task_dir: Path, task_lint: LintConfig) -> set[LintRule]:
    """The rules `harbor lint` applies to a task: its defaults, as the dataset manifest
    (dataset.toml in a parent folder) and then the task's `[metadata.harbor.lint]` tune them."""
    rules = set(DEFAULT_RULES)
    for parent in Path(task_dir).resolve().parents:
        manifest = parent / DatasetPaths.MANIFEST_FILENAME
        if manifest.is_file():
            rules = lint_config(tomllib.loads(manifest.read_text())).apply(rules)
            break
    return task_lint.apply(rules)


def lint_config(data: dict[str, Any]) -> LintConfig:
    """The `[metadata.harbor.lint]` table of a task.toml or dataset.toml (Harbor's LintConfig)."""
    table = ((data.get("metadata") or {}).get("harbor") or {}).get("lint") or {}
    return LintConfig.model_validate(table)


def harbor_lint_findings(task_dir: Path) -> list[Finding]:
    """Harbor's own lint (`harbor.lint.lint_task`) with the rules `harbor lint` would apply, and
    our rule on top: a task that turns a Harbor rule off says why in [metadata.lint_ignore_reasons]."""
    data = tomllib.loads((task_dir / CONFIG).read_text())
    try:
        task_lint = lint_config(data)
        found = lint_task(task_dir, selected_rules=lint_rules(task_dir, task_lint))
    except (ValidationError, tomllib.TOMLDecodeError) as exc:
        detail = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        return [Finding(check="harbor-lint", severity="error", message=f"invalid lint configuration ([metadata.harbor.lint], or a dataset.toml above the task): {detail}")]
    except ComposeLoadError as exc:  # its message is meant for users
        return [Finding(check="harbor-lint", severity="error", message=f"environment/docker-compose.yaml: {exc}")]
    findings = [_lint_finding(task_dir, f) for f in found]
    reasons = (data.get("metadata") or {}).get(LINT_REASONS) or {}
    for rule in task_lint.ignore:
        if not str(reasons.get(rule.value, "")).strip():
            message = f'task.toml turns off Harbor\'s `{rule.value}` rule without saying why: add [metadata.{LINT_REASONS}] "{rule.value}" = "..."'
            findings.append(Finding(check="harbor-lint", severity="error", message=message))
    return findings


def _lint_finding(task_dir: Path, finding: LintFinding) -> Finding:
    where = os.path.relpath(finding.path, Path(task_dir).resolve()) + (f":{finding.line}" if finding.line else "")
    return Finding(check="harbor-lint", severity="error", message=f"[{finding.rule.value}] {where}: {finding.message}")


# ---------------------------------------------------------------------- dynamic checks
def _trial_reason(agent: str, trial: TrialOutcome | None) -> str | None:
    """Why a gate trial did not give the reward it should have, in plain words; None if it did."""
    if trial is None:
        return f"the {agent} trial did not run"
    if trial.errored:
        return f"the {agent} trial failed with {trial.error_summary()}"
    failed = trial.test_names("failed", "error")
    if agent == "oracle" and not trial.passed:
        detail = f"; failing tests: {', '.join(failed[:5])}" if failed else ""
        return f"the reference solution does not pass the tests (oracle scored {trial.reward}){detail}; see {trial.trial_dir / 'verifier'}"
    if agent == "nop" and (trial.reward or 0) > 0:
        return f"the tests pass on the untouched container (no-op agent scored {trial.reward}): they do not check the work"
    return None


def validate(
    paths: list[Path],
    jobs_dir: Path = Path("jobs/validate"),
    n_concurrent: int = 2,
    env: str = "docker",
    dynamic: bool = True,
) -> list[TaskReport]:
    reports = [TaskReport(path=p, name=p.name, findings=static_findings(p)) for p in discover(paths)]
    runnable = [r for r in reports if r.ok]
    if not dynamic or not runnable:
        return reports
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for agent in ("oracle", "nop"):
        outcome: JobOutcome = run_job(
            RunSpec(tasks=[r.path for r in runnable], agent=agent, n_concurrent=n_concurrent, env=env, jobs_dir=jobs_dir, job_name=f"{stamp}-{agent}")
        )
        # by folder: Harbor names a task after its [task] name when it has one (org/name), else its folder
        by_path = {Path(t.task_path).resolve(): t for t in outcome.trials if t.task_path}
        for report in runnable:
            trial = by_path.get(report.path.resolve())
            if trial is not None:
                setattr(report, f"{agent}_reward", trial.reward)
                setattr(report, f"{agent}_trial", trial.trial_dir)
            reason = _trial_reason(agent, trial)
            if reason:
                report.findings.append(Finding(check=agent, severity="error", message=reason))
    return reports
