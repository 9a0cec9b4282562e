"""Reading one ReAct reply: reasoning, then one bash command (pure functions)."""

from __future__ import annotations

import re
from dataclasses import dataclass

COMPLETE = "TASK_COMPLETE"
FENCE_RE = re.compile(r"```[ \t]*(?:bash|sh|shell|console)?[ \t]*\n(.*?)```", re.S | re.I)
TAG_RE = re.compile(r"<(tool_call|bash|command)>\s*(.*?)\s*</\1>", re.S | re.I)


@dataclass(frozen=True)
class Action:
    reasoning: str
    command: str | None  # None when the reply is malformed or declares completion
    complete: bool = False
    problem: str | None = None  # why a reply is malformed, in words for the model
    message: str = ""  # the reply up to the end of its first command block: what the history keeps
    dropped_chars: int = 0  # text after the first block (small models run on, inventing output)


OPEN_FENCE_RE = re.compile(r"```[ \t]*(?:bash|sh|shell|console)?[ \t]*\n", re.I)


def _strip_call_braces(body: str) -> str:
    """The paper's `<tool_call>{cmd}</tool_call>` wraps the command in braces. A bash brace
    group (`{ cmd; }`) needs a space after `{`, and JSON starts `{"`: both are left alone."""
    body = body.strip()
    if len(body) > 2 and body[0] == "{" and body[-1] == "}" and not body[1].isspace() and body[1] != '"':
        return body[1:-1].strip()
    return body


def parse_action(text: str) -> Action:
    matches = sorted([*FENCE_RE.finditer(text), *TAG_RE.finditer(text)], key=lambda m: m.start())
    blocks = [(m, _strip_call_braces(m.group(m.lastindex or 1)).strip()) for m in matches]
    blocks = [(m, body) for m, body in blocks if body]
    if not blocks:
        reasoning = text.strip()
        if re.search(rf"\b{COMPLETE}\b", text):
            return Action(reasoning=reasoning, command=None, complete=True, message=text.strip())
        problem = (
            "its ```bash block is not closed: end the command with ``` on its own line"
            if OPEN_FENCE_RE.search(text)
            else "it has no command: put exactly one command in a ```bash fenced block"
        )
        return Action(reasoning=reasoning, command=None, problem=problem, message=text.strip())
    first, command = blocks[0]
    message = text[: first.end()].strip()
    dropped = len(text[first.end() :].strip())
    reasoning = text[: first.start()].strip()
    if re.fullmatch(rf"(echo\s+)?['\"]?{COMPLETE}['\"]?", command):
        return Action(reasoning=reasoning, command=None, complete=True, message=message, dropped_chars=dropped)
    return Action(reasoning=reasoning, command=command, message=message, dropped_chars=dropped)
