"""Deterministic checks of a proposed step, made before the Critic is asked (pure functions, but
for `bash -n`, which only parses)."""

from __future__ import annotations

import re

from termigen_harbor.bash_syntax import bash_complaint

MIN_QUOTE = 12  # characters of the previous output a diagnosis must repeat verbatim
SCAFFOLD_RE = re.compile(r"^(exit code: .*|stdout:|stderr:)$", re.M)  # our observation's own labels

AT_COMMAND = r"(?:^|[;&|(]\s*|\bsudo\s+|\bexec\s+)"  # where a command word starts, not an argument

DESTRUCTIVE: dict[str, re.Pattern[str]] = {
    "removes the root, home or a system directory": re.compile(
        r"\brm\s+(-[a-zA-Z]*\s+)*(--no-preserve-root\s+)?(/|/\*|~|\$HOME|/(bin|boot|dev|etc|lib|lib64|proc|sbin|sys|usr|var)/?)(\s|;|&|$)"
    ),
    "formats or overwrites a disk": re.compile(rf"{AT_COMMAND}mkfs(\.\w+)?\b|\bdd\b[^|;&]*\bof=/dev/(sd|nvme|vd|xvd|hd)|>\s*/dev/(sd|nvme|vd|xvd)[a-z]"),
    "stops the machine": re.compile(rf"{AT_COMMAND}(shutdown|reboot|halt|poweroff|init\s+[06])\b"),
    "kills every process": re.compile(r"\bkill\s+(-\w+\s+)*(-1|1)\b|\bpkill\s+(-\w+\s+)*-u\s+root\b"),
    "is a fork bomb": re.compile(r":\(\)\s*\{\s*:\s*\|\s*:\s*&\s*\}\s*;\s*:"),
    "opens the whole filesystem": re.compile(r"\bchmod\s+(-\w+\s+)*-R\s+(-\w+\s+)*[0-7]*7[0-7]*\s+/(\s|$)|\bchown\s+-R\s+\S+\s+/(\s|$)"),
}


def destructive(command: str) -> str | None:
    """What a command would destroy outside any task, or None (each line of a script is checked)."""
    return next((why for why, pattern in DESTRUCTIVE.items() for line in command.splitlines() if pattern.search(line)), None)


def bash_syntax_problem(command: str) -> str | None:
    """`bash -n`'s complaint about the command, or None when it parses."""
    complaint = bash_complaint(command)
    return None if complaint is None else "the command is not valid bash: " + complaint[:500]


def quoted_evidence(reasoning: str, observation: str, minimum: int = MIN_QUOTE) -> str | None:
    """The longest stretch of the previous output that the reasoning repeats verbatim (at least
    `minimum` characters, not counting our observation's own labels), or None: a diagnosis must
    rest on output that exists."""
    output = SCAFFOLD_RE.sub("", observation)
    best = ""
    for start in range(len(reasoning) - minimum + 1):  # substring tests run in C: fast enough for a step
        end = start + max(minimum, len(best) + 1)
        if end > len(reasoning) or reasoning[start:end] not in output:
            continue
        while end < len(reasoning) and reasoning[start : end + 1] in output:
            end += 1
        best = reasoning[start:end]
    best = best.strip()
    return best if len(best) >= minimum else None
