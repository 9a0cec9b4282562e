"""Turning a model's reply into a validated pydantic object (pure functions)."""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

T = TypeVar("T", bound=BaseModel)

FENCE_RE = re.compile(r"```(?:json|JSON)?\s*\n(.*?)```", re.S)


def schema_instruction(schema: type[BaseModel]) -> str:
    return (
        "Reply with one JSON object, and nothing else, that validates against this JSON schema:\n"
        + json.dumps(schema.model_json_schema(), indent=1)
    )


def extract_json(text: str) -> Any:
    """The JSON value in a reply: a fenced block, else the first balanced {...} or [...]. A raw line
    break inside a string is taken as the character (strict=False): the 1.5B Evaluator wrote its
    feedback with real newlines in three replies, and a spec died of "no JSON object found"."""
    candidates = [m.group(1) for m in FENCE_RE.finditer(text)] + [text]
    for candidate in candidates:
        candidate = candidate.strip()
        try:
            return json.loads(candidate, strict=False)
        except ValueError:
            pass
        span = _first_balanced(candidate)
        if span:
            try:
                return json.loads(span, strict=False)
            except ValueError:
                continue
    raise ValueError("no JSON object found in the reply")


def closed_json(text: str) -> Any:
    """The JSON value of a reply cut off inside it (the token limit), closed where it stopped: the
    open string ended, a dangling key or comma dropped, the open brackets closed. Raises
    ValueError when that does not parse either. (The 1.5B Judge pasted test output into its
    reason until the limit cut the reply.)"""
    scan = _scan(text)
    if scan is None:
        raise ValueError("no JSON object found in the reply")
    start, end, stack, in_string, escaped = scan
    if end is not None:
        raise ValueError("the reply's JSON is complete but does not parse")
    head = text[start:]
    if in_string:
        head = (head[:-1] if escaped else head) + '"'
    head = DANGLING_RE.sub("", head.rstrip())
    for candidate in (head, DANGLING_KEY_RE.sub("", head)):
        try:
            return json.loads(candidate + "".join(reversed(stack)), strict=False)
        except (ValueError, RecursionError):  # RecursionError: thousands of brackets left open
            continue
    raise ValueError("the reply was cut off and its JSON cannot be closed")


DANGLING_RE = re.compile(r'(?:,|,?\s*"(?:[^"\\]|\\.)*"\s*:)\s*$')  # `... ,` or `..., "key":` with nothing after
DANGLING_KEY_RE = re.compile(r',\s*"(?:[^"\\]|\\.)*"\s*$')  # `..., "ke` cut inside a key, closed to `"ke"`


def _first_balanced(text: str) -> str | None:
    scan = _scan(text)
    return text[scan[0] : scan[1] + 1] if scan and scan[1] is not None else None


def _scan(text: str) -> tuple[int, int | None, list[str], bool, bool] | None:
    """From the first `{` or `[`: its start, the index of its matching close (None when the text
    ends first), and, at that point, the brackets left open and whether a string (and an escape
    in it) is open. None when the text has no `{` or `[`."""
    start = next((i for i, c in enumerate(text) if c in "{["), None)
    if start is None:
        return None
    closing = {"{": "}", "[": "]"}
    stack: list[str] = []
    in_string = escaped = False
    for i in range(start, len(text)):
        c = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in closing:
            stack.append(closing[c])
        elif stack and c == stack[-1]:
            stack.pop()
            if not stack:
                return start, i, stack, in_string, escaped
    return start, None, stack, in_string, escaped


def parse_reply(text: str, schema: type[T], cut_off: bool = False) -> T:
    """Raises ValueError with a message fit to show the model when the reply does not fit. A
    reply the token limit `cut_off` is read as far as it got, closed, when it does not parse."""
    try:
        data = extract_json(text)
    except ValueError:
        if not cut_off:
            raise
        data = closed_json(text)
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in exc.errors()[:10])
        raise ValueError(f"the JSON does not match the schema: {problems}") from None


def repair_message(error: str) -> str:
    return f"Your reply could not be used: {error}. Reply again with only the corrected JSON object."


def file_repair_message(error: str) -> str:
    return f"Your reply could not be used: {error}\n\nReply again in full, corrected, in the form asked for: code in fenced blocks (```)."
