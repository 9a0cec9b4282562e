"""Terminal-Bench 1.x tasks on Harbor, offline.

- `convert`: through Harbor's own migrate code (`harbor.mappers.terminal_bench`), plus what it
  lacks: a `solution.yaml` whose steps are plain commands becomes `solution/solve.sh` (one that
  types into an interactive program is reported unsupported, never mis-converted), and a compose
  file migrate leaves with `${CPUS}`, `${MEMORY}` or `${TEST_DIR}` unset is fixed (Harbor sets
  resource limits itself; TEST_DIR is /tests).
- `scan`: before running, which tasks cannot run here and why (a base image we cannot provide, a
  download from a host other than the package mirrors), so a score always has its denominator.
- `core_manifest` / `coverage`: the 80 task ids of TerminalBench 1.0 (`terminal-bench-core`
  0.1.1), and how much of it a folder of tasks holds, so a subset's score is never taken for it.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from harbor.mappers.terminal_bench import TerminalBenchMapper
from pydantic import BaseModel, Field

from termigen_harbor.images import BASE_IMAGE, TB_BASE_NAMES

SCREEN_PROGRAMS = {"vim", "vi", "nano", "emacs", "less", "more", "top", "htop", "man", "tmux", "screen"}  # always interactive
REPLS = {"python", "python3", "ipython", "node", "irb", "mysql", "psql", "sqlite3", "redis-cli", "gdb", "bash", "sh", "ssh", "telnet", "ftp"}  # interactive with at most one argument
KEYSTROKE_RE = re.compile(r"^(C-|M-|Escape$|Enter$|Tab$|BSpace$|Up$|Down$|Left$|Right$)|\x1b")
# Hosts the machine reaches (package mirrors). Anything else is a download that cannot work here.
REACHABLE_HOSTS = ("pypi.org", "files.pythonhosted.org", "deb.debian.org", "security.debian.org", "registry.npmjs.org")
UV_INSTALLER_RE = re.compile(r"curl[^\n|]*astral\.sh/uv/[^\n|]*install\.sh\s*\|\s*sh")
URL_RE = re.compile(r"https?://([A-Za-z0-9.-]+)")
DOWNLOAD_RE = re.compile(r"\b(curl|wget|git\s+clone|pip\s+download|huggingface-cli|hf_hub_download|from_pretrained|load_dataset)\b")
FROM_RE = re.compile(r"^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", re.I | re.M)


class Conversion(BaseModel):
    task: str
    status: Literal["converted", "unsupported", "failed"]
    reason: str | None = None
    target: Path | None = None


class ScanResult(BaseModel):
    task: str
    runnable: bool
    reasons: list[str]


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
        if program in SCREEN_PROGRAMS or (program in REPLS and len(words) <= 2):
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
    if is_tb_task(path):
        return [path]
    return sorted(p for p in path.iterdir() if p.is_dir() and is_tb_task(p))


def convert_task(source: Path, target: Path) -> Conversion:
    name = source.name
    if target.exists():
        return Conversion(task=name, status="converted", target=target, reason="already converted")
    with tempfile.TemporaryDirectory(prefix="termigen-tb-") as tmp:
        staged = Path(tmp) / name
        shutil.copytree(source, staged, symlinks=True)
        solution_yaml = staged / "solution.yaml"
        if solution_yaml.exists():
            try:
                script = solution_yaml_to_script(solution_yaml.read_text())
            except ValueError as exc:
                return Conversion(task=name, status="unsupported", reason=f"solution.yaml: {exc}")
            solution_yaml.unlink()
            (staged / "solution.sh").write_text(script)
        try:
            TerminalBenchMapper()._map_task(staged, target)
        except Exception as exc:  # Harbor's mapper raises several types; its words are the reason
            shutil.rmtree(target, ignore_errors=True)
            return Conversion(task=name, status="failed", reason=f"{type(exc).__name__}: {exc}")
    compose = target / "environment" / "docker-compose.yaml"
    if compose.exists():
        fix_compose(compose)
    return Conversion(task=name, status="converted", target=target)


def convert(source_dir: Path, target_dir: Path) -> list[Conversion]:
    sources = tb_task_dirs(source_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    return [convert_task(src, target_dir / src.name) for src in sources]


# ---------------------------------------------------------------------- scan
def available_images() -> set[str]:
    """Base images a converted task may start FROM here: our stand-ins, our base, local images."""
    names = set(TB_BASE_NAMES) | {BASE_IMAGE}
    try:
        import docker

        for image in docker.from_env(timeout=10).images.list():
            names.update(image.tags)
    except Exception:  # no engine: only the images we build count
        pass
    return names


def _local_or_reachable(host: str) -> bool:
    """A package mirror, or a host inside the task: a compose service name (one label), loopback."""
    return host.endswith(REACHABLE_HOSTS) or "." not in host or host == "localhost" or host.startswith("127.")


def scan_task(task: Path, images: set[str]) -> ScanResult:
    reasons: list[str] = []
    texts: dict[str, str] = {}
    for pattern in ("Dockerfile", "*.Dockerfile", "docker-compose.yaml", "run-tests.sh", "solution.sh", "solution.yaml", "tests/*.sh", "tests/*.py"):
        for file in task.glob(pattern):
            texts[file.relative_to(task).as_posix()] = file.read_text(errors="replace")
    for name, text in texts.items():
        if name.endswith("Dockerfile"):
            stages: set[str] = set()  # FROM x AS name: later stages may start FROM name
            for image, alias in FROM_RE.findall(text):
                if image not in stages and image != "scratch" and not image.startswith("$") and image not in images:
                    reasons.append(f"{name}: base image {image} cannot be provided offline")
                if alias:
                    stages.add(alias)
        for line in UV_INSTALLER_RE.sub("", text).splitlines():
            if not DOWNLOAD_RE.search(line):
                continue
            hosts = [h for h in URL_RE.findall(line) if not _local_or_reachable(h)]
            for host in hosts:
                reasons.append(f"{name}: downloads from {host} (not reachable here)")
            if re.search(r"from_pretrained|load_dataset|hf_hub_download|huggingface-cli", line):
                reasons.append(f"{name}: fetches a model or data set from the Hugging Face Hub (not reachable here)")
    if (task / "solution.yaml").exists():
        try:
            solution_yaml_to_script((task / "solution.yaml").read_text())
        except ValueError as exc:
            reasons.append(f"solution.yaml: {exc} (unsupported)")
    return ScanResult(task=task.name, runnable=not reasons, reasons=sorted(set(reasons)))


def scan(source_dir: Path) -> list[ScanResult]:
    images = available_images()
    sources = tb_task_dirs(source_dir)
    return [scan_task(src, images) for src in sources]


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
    text = resources.files("termigen_harbor.benchmark_manifests").joinpath("terminal-bench-core-0.1.1.json").read_text()
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
