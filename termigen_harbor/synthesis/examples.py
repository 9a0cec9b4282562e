"""Few-shot examples for the synthesis roles, drawn from our hand-written `task_templates`: what a
good instruction and a good verifier look like, same category first."""

from __future__ import annotations

import functools
import re
from importlib import resources
from pathlib import Path

from pydantic import BaseModel

from termigen_harbor.bundle import TaskBundle

TEST_EXCERPT = 1500  # characters of an example test file aimed for
MAX_TEST_EXAMPLE = 3000  # an example test excerpt longer than this is not shown


class Example(BaseModel):
    name: str
    category: str
    summary: str  # the task's seed (metadata `seed`), else the instruction's first sentence
    instruction: str  # its first paragraph
    tests: str  # the opening of its test file, cut at a test function's end


@functools.cache
def all_examples() -> tuple[Example, ...]:
    root = Path(str(resources.files("termigen_harbor.task_templates")))
    found = []
    for folder in sorted(p for p in root.iterdir() if (p / "task.toml").is_file()):
        bundle = TaskBundle.read(folder)
        paragraph = bundle.instruction.strip().split("\n\n")[0].replace("\n", " ")
        tests = bundle.tests["test_outputs.py"].content.decode() if "test_outputs.py" in bundle.tests else ""
        found.append(Example(name=folder.name, category=str(bundle.config.metadata.get("category", "")),
                             summary=str(bundle.config.metadata.get("seed") or re.split(r"(?<=[.!?])\s", paragraph, maxsplit=1)[0]),
                             instruction=paragraph, tests=_excerpt(tests)))  # fmt: skip
    return tuple(found)


TOP_BLOCK_RE = re.compile(r"\n\n+(?=def |class |@)")  # where a top-level block begins
DEFINES_RE = re.compile(r"^(?:def|class) (\w+)", re.M)


def _excerpt(tests: str) -> str:
    """The file's opening (docstring, imports, constants) and its first test functions, as many as
    fit in TEST_EXCERPT characters (one at least); the helpers between them are left out and named
    (a same-category example must fit a small model's prompt: whole files ran to 11,000 characters,
    and the example shown instead was another category's, which the model then copied)."""
    if len(tests) <= TEST_EXCERPT:
        return tests
    header, *blocks = TOP_BLOCK_RE.split(tests)
    named = [(block, (DEFINES_RE.search(block) or [None, ""])[1]) for block in blocks]
    helpers = [name for _, name in named if not name.startswith("test_")]
    text = header.rstrip() + "\n" + (f"\n# left out of this excerpt: {', '.join(helpers)}\n" if helpers else "")
    shown = 0
    for block, name in named:
        if name.startswith("test_") and (not shown or len(text) + len(block) + 2 <= TEST_EXCERPT):
            text, shown = text + "\n\n" + block.rstrip() + "\n", shown + 1
    return text


def examples_for(category: str, n: int = 2, max_test_chars: int | None = None) -> list[Example]:
    """n examples, those of `category` first; with max_test_chars, only those whose test excerpt
    is that short (a small model's context is small)."""
    fitting = [e for e in all_examples() if max_test_chars is None or len(e.tests) <= max_test_chars]
    return sorted(fitting, key=lambda e: (e.category != category, len(e.tests)))[:n]
