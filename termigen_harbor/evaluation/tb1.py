"""Terminal-Bench 1.x tasks on Harbor, offline.

- `convert`: through Harbor's own migrate code (`harbor.mappers.terminal_bench`), plus what it
  lacks: a `solution.yaml` whose steps are plain commands becomes `solution/solve.sh` (one that
  types into an interactive program is reported unsupported, never mis-converted), and a compose
  file migrate leaves with `${CPUS}`, `${MEMORY}` or `${TEST_DIR}` unset is fixed (Harbor sets
  resource limits itself; TEST_DIR is /tests).
- `termigen_harbor.evaluation.tb_scan` says, before running, which tasks cannot run here and why.
- `core_manifest` / `coverage`: the 80 task ids of TerminalBench 1.0 (`terminal-bench-core`
  0.1.1), and how much of it a folder of tasks holds, so a subset's score is never taken for it.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import tempfile
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from harbor.lint import LintRule, lint_task
from harbor.lint.models import DEFAULT_RULES
from harbor.mappers.terminal_bench import TerminalBenchMapper
from pydantic import BaseModel, Field

from termigen_harbor.bundle import read_config, task_folders
from termigen_harbor.verifier_sandbox import LINT_REASONS, ignore_lint_rule, shared_verifier

SCREEN_PROGRAMS = {"vim", "vi", "nano", "emacs", "less", "more", "top", "htop", "man", "tmux", "screen"}  # interactive unless paged to cat
SCRIPT_RUNNERS = {"python", "python3", "ipython", "node", "irb", "ruby", "perl", "bash", "sh"}  # interactive without a script or -c
CLIENTS = {"mysql", "psql", "sqlite3", "redis-cli", "gdb", "ssh", "telnet", "ftp"}  # interactive with at most one argument
NON_INTERACTIVE_RE = re.compile(r"(\s-P\s*cat\b|--pager[= ]cat\b|\|\s*(cat|head|tail|grep|wc)\b|^(PAGER|MANPAGER)=cat\s)")
KEYSTROKE_RE = re.compile(r"^(C-|M-|Escape$|Enter$|Tab$|BSpace$|Up$|Down$|Left$|Right$)|\x1b")
TB_SHARED_REASON = (
    "Terminal-Bench 1.x runs a task's tests in the container the agent worked in: they check files anywhere, "
    "running processes and services. Kept, so that scores compare with the benchmark's."
)
# Harbor rules about a task's own content (its Dockerfile, scripts, compose file), which a converted
# task keeps exactly as upstream ships it. Rules about the conversion itself stay on.
UPSTREAM_RULES = {
    LintRule.UNPINNED_PYTHON_DEPENDENCY, LintRule.UNPINNED_IMAGE, LintRule.VERIFIER_RUNTIME_INSTALL, LintRule.VERIFIER_NETWORK_DOWNLOAD,
    LintRule.COMPOSE_PRIVILEGED, LintRule.COMPOSE_ADDITIONAL_CAPABILITIES, LintRule.COMPOSE_WRITABLE_BIND_MOUNT,
    LintRule.COMPOSE_EXTERNAL_BIND_MOUNT, LintRule.COMPOSE_SYMLINK_BIND_MOUNT, LintRule.AGENT_IMAGE_TEST_LEAK,
}  # fmt: skip
UPSTREAM_REASON = "Kept as Terminal-Bench 1.0 ships the task, so that it is the benchmark's task"


class Conversion(BaseModel):
    task: str
    status: Literal["converted", "unsupported", "failed"]
    reason: str | None = None
    target: Path | None = None


# ---------------------------------------------------------------------- solution.yaml
def solution_yaml_to_script(text: str) -> str:
    """A solve.sh from a solution.yaml of plain commands; ValueError for interactive steps."""
    steps = yaml.safe_load(text)
    if not isinstance(steps, list) or not steps:
        raise ValueError("solution.yaml is not a list of steps")
    lines = ["#!/bin/bash", "# Converted from solution.yaml (plain commands, run in order)."]
    for i, step in enumerate(steps, 1):
        if not isinstance(step, dict) or not isinstance(step.get("command"), str):
            raise ValueError(f"step {i} has no command")
        command = step["command"]
        words = command.split()
        program = Path(words[0]).name if words else ""
        if step.get("append_enter") is False or KEYSTROKE_RE.search(command.strip()):
            raise ValueError(f"step {i} sends keystrokes ({command.strip()[:40]!r}) to an interactive program")
        positional = [w for w in words[1:] if not w.startswith("-")]
        if (
            (program in SCREEN_PROGRAMS and not NON_INTERACTIVE_RE.search(command))
            or (program in SCRIPT_RUNNERS and not positional and not {"-c", "-m", "-e"} & set(words))
            or (program in CLIENTS and len(words) <= 2)
        ):
            raise ValueError(f"step {i} starts the interactive program {program!r} and types into it")
        lines.append(command.rstrip())
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------- compose fix
def fix_compose(path: Path) -> bool:
    """Removes ${CPUS}/${MEMORY} limits (Harbor applies its own), sets TEST_DIR=/tests, and drops
    fixed container names (they collide when trials run at once; compose names containers)."""
    data = yaml.safe_load(path.read_text()) or {}
    changed = False
    for service in (data.get("services") or {}).values():
        if "container_name" in service:
            del service["container_name"]
            changed = True
        limits = ((service.get("deploy") or {}).get("resources") or {}).get("limits") or {}
        for key in ("cpus", "memory"):
            if isinstance(limits.get(key), str) and "${" in limits[key]:
                del limits[key]
                changed = True
        if "deploy" in service and not limits:
            resources = service["deploy"].get("resources") or {}
            resources.pop("limits", None)
            if not resources:
                service["deploy"].pop("resources", None)
            if not service["deploy"]:
                del service["deploy"]
        env = service.get("environment")
        if isinstance(env, list):
            new = ["TEST_DIR=/tests" if isinstance(e, str) and e.startswith("TEST_DIR=${") else e for e in env]
            changed |= new != env
            service["environment"] = new
        elif isinstance(env, dict) and isinstance(env.get("TEST_DIR"), str) and "${" in env["TEST_DIR"]:
            env["TEST_DIR"] = "/tests"
            changed = True
    if changed:
        path.write_text(yaml.safe_dump(data, sort_keys=False))
    return changed


# ---------------------------------------------------------------------- conversion
def is_tb_task(path: Path) -> bool:
    return (path / "task.yaml").is_file()


def tb_task_dirs(path: Path) -> list[Path]:
    """`path` itself when it is a Terminal-Bench 1.x task, else its TB task subfolders, sorted."""
    return task_folders(path, is_tb_task)


def convert_task(source: Path, target: Path) -> Conversion:
    name = source.name
    if target.exists():
        return Conversion(task=name, status="converted", target=target, reason="already converted")
    with tempfile.TemporaryDirectory(prefix="termigen-tb-") as tmp:
        staged = Path(tmp) / "source" / name
        shutil.copytree(source, staged, symlinks=True)
        solution_yaml = staged / "solution.yaml"
        if solution_yaml.exists():
            try:
                script = solution_yaml_to_script(solution_yaml.read_text())
            except ValueError as exc:
                return Conversion(task=name, status="unsupported", reason=f"solution.yaml: {exc}")
            solution_yaml.unlink()
            (staged / "solution.sh").write_text(script)
        with contextlib.redirect_stdout(io.StringIO()):  # the mapper prints its failures; they are returned here
            mapped = TerminalBenchMapper().map(staged.parent, Path(tmp) / "mapped")  # Harbor's public API, on a folder of one task
        if mapped.failed:
            return Conversion(task=name, status="failed", reason=mapped.failed[0][1])
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(mapped.mapped[0]), target)
    compose = target / "environment" / "docker-compose.yaml"
    if compose.exists():
        fix_compose(compose)
    settle_lint(target)
    return Conversion(task=name, status="converted", target=target)


def settle_lint(task: Path) -> None:
    """The converted task keeps TB's protocol, the verifier in the agent's container, and its
    upstream files as they are; task.toml says so where Harbor's lint would object."""
    config_path = task / "task.toml"
    config = shared_verifier(read_config(config_path), TB_SHARED_REASON)
    config_path.write_text(config.model_dump_toml())
    for finding in lint_task(task, selected_rules=set(DEFAULT_RULES) & UPSTREAM_RULES):
        if finding.rule.value not in config.metadata.get(LINT_REASONS, {}):
            where = Path(finding.path).resolve().relative_to(task.resolve()).as_posix()
            config = ignore_lint_rule(config, finding.rule, f"{UPSTREAM_REASON} (first seen in {where})")
    config_path.write_text(config.model_dump_toml())


def convert(source_dir: Path, target_dir: Path) -> list[Conversion]:
    sources = tb_task_dirs(source_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    return [convert_task(src, target_dir / src.name) for src in sources]


# ---------------------------------------------------------------------- the benchmark's manifest
class Manifest(BaseModel):
    name: str
    version: str
    description: str
    source: dict[str, str]
    download: str
    provenance: list[str]
    variants: list[str]
    task_ids: list[str]

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"


class Coverage(BaseModel):
    benchmark: str
    n_tasks: int  # in the benchmark
    present: list[str]
    missing: list[str]  # in the benchmark, not in the folder
    extra: list[str] = Field(default_factory=list)  # in the folder, not in the benchmark

    @property
    def complete(self) -> bool:
        return not self.missing and not self.extra


@cache
def core_manifest() -> Manifest:
    """TerminalBench 1.0, from benchmarks/terminal-bench-1/ (shipped in the wheel)."""
    text = resources.files("termigen_harbor.evaluation").joinpath("manifests", "terminal-bench-core-0.1.1.json").read_text()
    return Manifest.model_validate_json(text)


def coverage(task_names: list[str], manifest: Manifest) -> Coverage | None:
    """How much of `manifest` these tasks are; None when they share no task with it."""
    names, ids = set(task_names), set(manifest.task_ids)
    if not names & ids:
        return None
    return Coverage(benchmark=manifest.label, n_tasks=len(ids), present=sorted(names & ids), missing=sorted(ids - names), extra=sorted(names - ids))


def downloaded_core() -> Path | None:
    """TerminalBench 1.0 where `tb datasets download` leaves it by default, when its tasks are there."""
    manifest = core_manifest()
    path = Path.home() / ".cache" / "terminal-bench" / manifest.name / manifest.version
    return path if path.is_dir() and tb_task_dirs(path) else None


def local_copy(dataset: str) -> Path | None:
    """The downloaded tasks to use for a registry name, when it names TerminalBench 1.0 and they are there."""
    return downloaded_core() if dataset == core_manifest().label else None
