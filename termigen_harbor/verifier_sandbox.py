"""Where a task's verifier runs, and the task.toml that says so in a way Harbor's lint accepts.

Harbor 0.25 runs the verifier either in the agent's container (`shared`) or in a fresh container of
the same environment (`separate`), to which the files the agent made travel as `artifacts`. The
separate sandbox is the default here: the tests then see only what the task declares as its
outputs, never a container the agent could have tampered with. A task whose tests must see live
state (a service the agent left running, the benchmark's own protocol) keeps the shared one, turns
off Harbor's `shared-verifier` rule and says why:

    [metadata.harbor.lint]
    ignore = ["shared-verifier"]

    [metadata.lint_ignore_reasons]
    shared-verifier = "The tests talk to the service the agent leaves running ..."

`termigen validate` refuses a task that turns off a Harbor rule without such a reason.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from harbor.lint import LintRule
from harbor.models.task.config import TaskConfig, VerifierEnvironmentMode

LINT_REASONS = "lint_ignore_reasons"  # [metadata.lint_ignore_reasons]: {rule: why it is off}
ABSOLUTE_PATH_RE = re.compile(r"(?<![\w.:/-])(/(?:[\w.@+-]+/?)+)")
# Words that name state no file carries: a running program, a port, an account, the clock.
LIVE_STATE_RE = re.compile(
    r"\b(services?|servers?|daemons?|listen(s|ing)?|ports?|running|process(es)?|sockets?|cron(tab)?|systemd|"
    r"user accounts?|permissions?|owner(ship)?)\b",
    re.I,
)


def ignore_lint_rule(config: TaskConfig, rule: LintRule | str, reason: str) -> TaskConfig:
    """A copy of `config` that turns off Harbor's lint `rule` for this task, with the reason."""
    rule = LintRule(rule)
    if not reason.strip():
        raise ValueError(f"turning off Harbor's {rule.value} rule needs a reason")
    config = config.model_copy(deep=True)
    lint = config.metadata.setdefault("harbor", {}).setdefault("lint", {})
    ignore = lint.setdefault("ignore", [])
    if rule.value not in ignore:
        ignore.append(rule.value)
    config.metadata.setdefault(LINT_REASONS, {})[rule.value] = reason.strip()
    return config


def separate_verifier(config: TaskConfig, artifacts: list[str]) -> TaskConfig:
    """A copy of `config` whose verifier runs in a fresh container, given these paths of the agent's."""
    if not artifacts:
        raise ValueError("a separate verifier needs at least one artifact: it would see nothing the agent did")
    config = config.model_copy(deep=True)
    config.verifier.environment_mode = VerifierEnvironmentMode.SEPARATE
    config.artifacts = list(artifacts)
    return config


def shared_verifier(config: TaskConfig, reason: str) -> TaskConfig:
    """A copy of `config` whose verifier runs in the agent's container, with the reason."""
    config = ignore_lint_rule(config, LintRule.SHARED_VERIFIER, reason)
    config.verifier.environment_mode = VerifierEnvironmentMode.SHARED
    return config


def output_paths(outputs: list[str]) -> list[str]:
    """The path each output names first (`/app/count.txt: the word count` -> `/app/count.txt`; a
    folder keeps its `/`), once each; an output that names none (a service on a port) has none."""
    found = (ABSOLUTE_PATH_RE.findall(output) for output in outputs)
    return list(dict.fromkeys(paths[0].rstrip(".") for paths in found if paths))


def artifacts_for_outputs(outputs: list[str]) -> tuple[list[str] | None, str]:
    """The artifacts that carry a task's outputs to a separate verifier, or None and the reason the
    tests must see the agent's container: an output that is live state, or that names no path."""
    paths: list[str] = []
    for output in outputs:
        if LIVE_STATE_RE.search(ABSOLUTE_PATH_RE.sub(" ", output)):  # a file named server.py is a file
            return None, f"an output is live state that no file carries: {output.strip()[:160]!r}"
        found = [p.rstrip("/.") for p in ABSOLUTE_PATH_RE.findall(output)]
        if not found:
            return None, f"an output names no absolute path that could travel as an artifact: {output.strip()[:160]!r}"
        paths += found
    unique = sorted(set(paths), key=lambda p: (len(PurePosixPath(p).parts), p))
    kept: list[str] = []
    for path in unique:  # a path under one already kept travels with it
        if not any(PurePosixPath(path).is_relative_to(parent) for parent in kept):
            kept.append(path)
    return sorted(kept), ""


def sandbox_for_outputs(config: TaskConfig, outputs: list[str]) -> TaskConfig:
    """Separate when the outputs are files, else shared with the reason."""
    artifacts, reason = artifacts_for_outputs(outputs)
    if artifacts:
        return separate_verifier(config, artifacts)
    return shared_verifier(config, f"The tests must see the agent's container: {reason}.")


def describe(config: TaskConfig) -> str:
    """One sentence for a test writer: what the verifier's container holds."""
    if config.verifier.environment_mode == VerifierEnvironmentMode.SEPARATE:
        artifacts = ", ".join(a if isinstance(a, str) else a.source for a in config.artifacts)
        return (
            "The tests run in a FRESH container built from the same Dockerfile, not in the agent's: only these paths "
            f"are copied over from the agent's container after it finished: {artifacts}. Everything else is as the "
            "Dockerfile left it (no process the agent started is running)."
        )
    return "The tests run inside the agent's container after it finished, so they see every file and running process it left."
