"""Few-shot examples for the synthesis roles, drawn from our hand-written `task_templates`: what a
good instruction and a good verifier look like, same category first."""

from __future__ import annotations

import ast
import functools
import re
from importlib import resources
from pathlib import Path

from pydantic import BaseModel

from termigen_harbor.bundle import TaskBundle
from termigen_harbor.synthesis.python_source import undefined_names

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


def _excerpt(tests: str) -> str:
    """The file's opening (docstring, imports, constants) and its first test functions, each with
    the helpers it calls, as many as fit in TEST_EXCERPT characters (one at least); the rest is
    left out. A same-category example must fit a small model's prompt (whole files ran to 11,000
    characters, and the example shown instead was another category's), and the 1.5B model copies
    an example's tests: one that called a left-out helper became tests calling names defined
    nowhere. Falls back to the whole file when it cannot be read."""
    if len(tests) <= TEST_EXCERPT:
        return tests
    try:
        tree = ast.parse(tests)
    except SyntaxError:
        return tests
    lines = tests.splitlines(keepends=True)
    defs = [node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))]
    if not defs:
        return tests
    start = lambda node: min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1  # noqa: E731
    inside = {i for node in defs for i in range(start(node), node.end_lineno)}
    header = "".join(line for i, line in enumerate(lines) if i not in inside).rstrip() + "\n"  # imports and constants, wherever they sit
    header = re.sub(r"\n{3,}", "\n\n", header)
    source = {node.name: "".join(lines[start(node) : node.end_lineno]).rstrip() + "\n" for node in defs}
    chosen: list[str] = []
    for test in (node.name for node in defs if node.name.startswith("test_")):
        needed, queue = [], [test]
        while queue:  # the test and the helpers it reaches, in the file's order
            name = queue.pop()
            if name not in needed:
                needed.append(name)
                queue += [n for n in undefined_names(header + source[name]) if n in source]
        order = [node.name for node in defs if node.name in needed or node.name in chosen]
        text = header + "".join("\n\n" + source[name] for name in order)
        if not chosen or len(text) <= TEST_EXCERPT:
            chosen = order
        if len(text) > TEST_EXCERPT:
            break
    return header + "".join("\n\n" + source[name] for name in chosen) + "\n\n# (further helpers and tests left out of this excerpt)\n"


def examples_for(category: str, n: int = 2, max_test_chars: int | None = None) -> list[Example]:
    """n examples, those of `category` first; with max_test_chars, only those whose test excerpt
    is that short (a small model's context is small)."""
    fitting = [e for e in all_examples() if max_test_chars is None or len(e.tests) <= max_test_chars]
    return sorted(fitting, key=lambda e: (e.category != category, len(e.tests)))[:n]
