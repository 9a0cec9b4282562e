"""Docker resources that a killed run left behind, found by label and removed.

Harbor names each trial's compose project after the trial (`<trial>__env`, and
`<trial>__verifier__<key>` for a separate verifier), and compose labels every container, network
and volume it makes with `com.docker.compose.project`. A run stopped by Ctrl-C or SIGTERM tears
these down itself; one killed with SIGKILL cannot. Its unfinished trials (no readable result.json)
are in the job folder, so the next run of the same command removes what they left before Harbor
starts them again.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterable

from harbor.environments.docker.docker import _sanitize_docker_compose_project_name as compose_project
from pydantic import BaseModel, Field

PROJECT_LABEL = "com.docker.compose.project"
PID_LABEL = "org.termigen.pid"  # on containers termigen runs itself (synthesis checks): the pid of the process


class Removed(BaseModel):
    containers: list[str] = Field(default_factory=list)
    networks: list[str] = Field(default_factory=list)
    volumes: list[str] = Field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.containers or self.networks or self.volumes)

    def summary(self) -> str:
        parts = [f"{len(v)} {k}" for k, v in self.model_dump().items() if v]
        return ", ".join(parts)


def project_prefixes(trial_names: Iterable[str]) -> list[str]:
    """Compose project names of a trial start with its sanitized name followed by `__`."""
    return [compose_project(f"{name}__") for name in trial_names]


def _docker(*args: str) -> list[str]:
    try:
        proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return []  # no docker CLI or no engine: nothing of ours can be there
    if proc.returncode != 0:
        return []
    return [line for line in proc.stdout.splitlines() if line.strip()]


def _labelled(kind: str, label: str) -> list[tuple[str, str]]:
    """(id, label value) of every `kind` (container, network, volume) that carries `label`."""
    listing = {"container": ["ps", "-a"], "network": ["network", "ls"], "volume": ["volume", "ls"]}[kind]
    field = "{{.Name}}" if kind == "volume" else "{{.ID}}"
    rows = _docker(*listing, "--filter", f"label={label}", "--format", f'{field}\t{{{{.Label "{label}"}}}}')
    return [tuple(row.split("\t", 1)) for row in rows if "\t" in row]  # type: ignore[misc]


def remove_matching(label: str, keep: Callable[[str], bool]) -> Removed:
    """Removes containers, then networks and volumes, whose `label` value satisfies `keep`."""
    removed = Removed()
    for kind, remove, bucket in (
        ("container", ["rm", "-f", "-v"], removed.containers),
        ("network", ["network", "rm"], removed.networks),
        ("volume", ["volume", "rm", "-f"], removed.volumes),
    ):
        doomed = [ident for ident, value in _labelled(kind, label) if keep(value)]
        if doomed:
            subprocess.run(["docker", *remove, *doomed], capture_output=True, timeout=300)
            bucket.extend(doomed)
    return removed


def remove_trial_leftovers(trial_names: Iterable[str]) -> Removed:
    prefixes = tuple(project_prefixes(trial_names))
    if not prefixes:
        return Removed()
    return remove_matching(PROJECT_LABEL, lambda project: project.startswith(prefixes))


def owner_label() -> list[str]:
    """`docker run` arguments that mark a container as started by this process."""
    return ["--label", f"{PID_LABEL}={os.getpid()}"]


def _alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (ValueError, PermissionError):
        return True  # not ours to judge
    return True


def remove_own() -> Removed:
    """Containers this process started itself (owner_label), for an interrupted run: a thread
    waiting on one (a reference solution that serves in the foreground until its time limit) would
    otherwise keep the process from exiting, 15 minutes in a real run."""
    return remove_matching(PID_LABEL, lambda pid: pid == str(os.getpid()))


def remove_orphans() -> Removed:
    """Containers termigen started itself (owner_label) whose process is gone."""
    return remove_matching(PID_LABEL, lambda pid: not _alive(pid))
