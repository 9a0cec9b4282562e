"""Files in a model's reply: the raw text of fenced code blocks, never code escaped inside JSON
(pure functions).

A block opens with a line of three or more backticks (or tildes) and an optional info string,
and closes with a line of the same character, at least as long. Text between blocks is kept as
the block's `note`: the line a model writes above a block ("Idea: hard-code the count")."""

from __future__ import annotations

import re

from pydantic import BaseModel

OPEN_RE = re.compile(r"^[ \t]{0,3}(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*)$")


class Block(BaseModel):
    info: str  # the info string after the opening fence ("python", "bash", ...)
    body: str
    note: str  # the prose between the previous block (or the start) and this one


def fence_for(text: str) -> str:
    """A backtick fence longer than any backtick run in `text`, so it can quote it."""
    longest = max((len(m) for m in re.findall(r"`{3,}", text)), default=2)
    return "`" * max(3, longest + 1)


def blocks(text: str, ended: bool = False) -> list[Block]:
    """Every closed block, in order. Raises ValueError for a block that is opened but never closed
    (a reply cut off by the token limit, most often), unless the model ended the reply itself
    (`ended`) inside the last block: that block then runs to the end of the reply (the 1.5B ended a
    complete script without its closing fence in three replies running, and a built task died of it)."""
    found: list[Block] = []
    lines = text.splitlines()
    note: list[str] = []
    i = 0
    while i < len(lines):
        opening = OPEN_RE.match(lines[i])
        if not opening:
            note.append(lines[i])
            i += 1
            continue
        fence = opening["fence"]
        close = closing_fence(fence[0], len(fence))
        end = next((j for j in range(i + 1, len(lines)) if close.match(lines[j])), None)
        if end is None:
            loop = repeated_line(lines[i + 1 :])
            if loop:
                raise ValueError(f"the reply repeats the line `{loop[0].strip()}` {loop[1]} times in a row until it is cut off: write each line once")
            if not ended:
                raise ValueError(f"the code block opened on line {i + 1} is never closed (was the reply cut off?)")
            end = shorter_close(lines, i, fence) or len(lines)
        body = "\n".join(lines[i + 1 : end])
        found.append(Block(info=opening["info"].strip(), body=body + "\n" if body else "", note="\n".join(note).strip()))
        note = []
        i = end + 1
    return found


def shorter_close(lines: list[str], opened: int, fence: str) -> int | None:
    """In a reply the model ended itself, the line that closes a block opened with a fence of more
    than three characters by a shorter one: a bare fence that is the reply's last non-blank line.
    The 1.5B opened a config file with ```` and closed it with ```, and the ``` line went into the
    task's input file (run O; the tests then compared the repaired file with the fence in it)."""
    last = next((j for j in range(len(lines) - 1, opened, -1) if lines[j].strip()), None)
    return last if last is not None and len(fence) > 3 and closing_fence(fence[0], 3).match(lines[last]) else None


def closing_fence(char: str, at_least: int) -> re.Pattern[str]:
    """A line that closes a block: `char` (a backtick or a tilde) `at_least` times or more, alone."""
    return re.compile(rf"^[ \t]{{0,3}}{re.escape(char)}{{{at_least},}}[ \t]*$")


LOOP = 8  # this many identical lines in a row: a small model stuck in a generation loop


def repeated_line(lines: list[str]) -> tuple[str, int] | None:
    """The longest run of one non-blank line repeated at least LOOP times in a row, with its length."""
    best: tuple[str, int] | None = None
    run = 1
    for k in range(1, len(lines) + 1):
        if k < len(lines) and lines[k] == lines[k - 1] and lines[k].strip():
            run += 1
            continue
        if run >= LOOP and (best is None or run > best[1]):
            best = (lines[k - 1], run)
        run = 1
    return best


def file_text(reply: str, ended: bool = False) -> str:
    """The file a reply holds: its one fenced block, or the longest when the model added
    examples around it. Raises ValueError, with a message fit to show the model, when there is
    no usable block. `ended`: the model ended the reply itself (see `blocks`)."""
    found = [b for b in blocks(reply, ended) if b.body.strip()]
    if not found:
        raise ValueError("no fenced code block with the file's content was found in the reply")
    return max(found, key=lambda b: len(b.body)).body
