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


PLACEHOLDER_RE = re.compile(r"<[A-Za-z][\w-]*(?:[ _-][\w-]+)*>")  # `<commit-hash>`, `<your file>`


def bash_syntax_problem(command: str) -> str | None:
    """`bash -n`'s complaint about the command, or None when it parses; when it holds a placeholder
    (`git cherry-pick <commit-hash>`: 3 of run Q's 9 trials ended on such a step, the 1.5B unable
    to act on "syntax error near unexpected token `newline'"), it says so first."""
    complaint = bash_complaint(command)
    if complaint is None:
        return None
    placeholder = PLACEHOLDER_RE.search(command)
    hint = f"it holds the placeholder `{placeholder[0]}`: put the real value, read from the output above, in its place. " if placeholder else ""
    return f"the command is not valid bash: {hint}{complaint[:500]}"


def quoted_evidence(reasoning: str, observation: str, minimum: int = MIN_QUOTE) -> str | None:
    """The longest stretch of the previous output that the reasoning repeats verbatim (at least
    `minimum` characters, not counting our observation's own labels), or None: a diagnosis must
    rest on output that exists."""
    return longest_shared(reasoning, SCAFFOLD_RE.sub("", observation), minimum)


MIN_COPIED = 40  # characters of a hidden note that a reply may not repeat


def copied_note(reply: str, note: str, visible: str, minimum: int = MIN_COPIED) -> str | None:
    """The longest stretch of a hidden note's own words (the step's instruction, a mistake kind's
    description) that a reply repeats and that the conversation the student sees does not hold,
    or None. Such words would teach the student text it was never shown."""
    copied = longest_shared(reply, note, minimum)
    return copied if copied is not None and copied not in visible else None


def longest_shared(text: str, source: str, minimum: int) -> str | None:
    """The longest stretch of `text` that `source` holds verbatim, stripped, if it is at least
    `minimum` characters long."""
    best = ""
    for start in range(len(text) - minimum + 1):  # substring tests run in C: fast enough for a step
        end = start + max(minimum, len(best) + 1)
        if end > len(text) or text[start:end] not in source:
            continue
        while end < len(text) and text[start : end + 1] in source:
            end += 1
        best = text[start:end]
    best = best.strip()
    return best if len(best) >= minimum else None


TRACEBACK_HEADER = "Traceback (most recent call last):"
TELLING_RE = re.compile(r"error|not found|no such|denied|invalid|unknown|unrecognized|illegal|cannot|can't|failed|missing|usage:|traceback|exception", re.I)


def telling_line(observation: str) -> str | None:
    """The line of a step's output most likely to show what went wrong, for the step that must
    diagnose it to quote: the last error-looking line of stderr (a traceback's exception, not its
    header), then of stdout, else the last line of stderr, then of stdout; None when no line is
    long enough to count as a quote."""
    sections = re.split(r"^(?:stdout|stderr):$", observation, flags=re.M)
    stdout, stderr = (sections[1], sections[2]) if len(sections) == 3 else ("", observation)
    lines = {name: [line.strip() for line in text.splitlines() if len(line.strip()) >= MIN_QUOTE and line.strip() != "(empty)"]
             for name, text in (("stderr", stderr), ("stdout", stdout))}  # fmt: skip
    telling = {name: [line for line in found if TELLING_RE.search(line) and line != TRACEBACK_HEADER] for name, found in lines.items()}
    found = next((c[-1] for c in (telling["stderr"], telling["stdout"], lines["stderr"], lines["stdout"]) if c), None)
    return found[:200] if found else None


def pasted_output(command: str, observation: str, failed_command: str) -> str | None:
    """The first line of a command that is a whole error-looking line of the previous output (at
    least MIN_QUOTE characters, not a line of the command that printed it, which a shell may echo),
    or None: such a line is a quote put in the bash block, not a command."""
    printed = {line.strip() for line in SCAFFOLD_RE.sub("", observation).splitlines() if TELLING_RE.search(line)}
    own = {line.strip() for line in failed_command.splitlines()}
    return next((line.strip() for line in command.splitlines()
                 if len(line.strip()) >= MIN_QUOTE and line.strip() in printed and line.strip() not in own), None)  # fmt: skip
