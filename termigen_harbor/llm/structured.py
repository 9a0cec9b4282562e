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
    """The JSON value in a reply: a fenced block, else the first balanced {...} or [...]."""
    candidates = [m.group(1) for m in FENCE_RE.finditer(text)] + [text]
    for candidate in candidates:
        candidate = candidate.strip()
        try:
            return json.loads(candidate)
        except ValueError:
            pass
        span = _first_balanced(candidate)
        if span:
            try:
                return json.loads(span)
            except ValueError:
                continue
    raise ValueError("no JSON object found in the reply")


def _first_balanced(text: str) -> str | None:
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
                return text[start : i + 1]
    return None


def parse_reply(text: str, schema: type[T]) -> T:
    """Raises ValueError with a message fit to show the model when the reply does not fit."""
    data = extract_json(text)
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in exc.errors()[:10])
        raise ValueError(f"the JSON does not match the schema: {problems}") from None


def repair_message(error: str) -> str:
    return f"Your reply could not be used: {error}. Reply again with only the corrected JSON object."


def file_repair_message(error: str) -> str:
    return f"Your reply could not be used: {error}\n\nReply again in full, corrected, in the form asked for: code in fenced blocks (```)."
