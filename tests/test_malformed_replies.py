"""Malformed model output never crashes a run: every role's parser gets 1,000 generated replies
(a seeded generator, `random.Random(SEED)`, so a failure reproduces) and each reply is either
parsed or rejected with a reason, a ValueError (or our StageError/BundleError, both ValueErrors or
errors with a message). Planned file paths that survive are written into a bundle, and nothing
lands outside it."""

from __future__ import annotations

import json
import random
import string

import pytest

from termigen_harbor.agents.parsing import parse_action
from termigen_harbor.agents.rollout import CriticVerdict, StepVerdict
from termigen_harbor.bundle import BundleError, BundleFile
from termigen_harbor.llm.fenced import file_text
from termigen_harbor.llm.structured import parse_reply
from termigen_harbor.synthesis.checks import dockerfile_problem
from termigen_harbor.synthesis.environment import Blueprint, StageError, checked_blueprint
from termigen_harbor.synthesis.spec import Evaluation, Seeds, TaskSpec
from termigen_harbor.synthesis.verify import GateVerdict, Verdict, parse_lazy_solutions
from termigen_harbor.testing import COUNT_WORDS_SPEC, make_bundle

SEED = 20261202
N = 1000
GOOD = {
    Seeds: {"seeds": ["Fix a broken cron job", "Repair a Makefile"]},
    TaskSpec: COUNT_WORDS_SPEC,
    Evaluation: {"environment_complexity": 4, "data_generatability": 5, "verification_determinism": 4, "feedback": "fine"},
    Blueprint: {"files": [{"path": "data/input.txt", "purpose": "the text"}]},
    Verdict: {"approve": False, "problems": ["nothing checks count.txt"]},
    GateVerdict: {"wrong": "tests", "reason": "test_count demands a trailing newline"},
    CriticVerdict: {"accept": True, "reasons": ""},
    StepVerdict: {"command_does": "lists /app", "unrelated": False, "contradicts_reasoning": False, "damages_task": False, "reasons": ""},
}
BAD_PATHS = ["../../etc/passwd", "/etc/shadow", "a/../../b", "x\x00y", "n" * 5000, "..", ".", "", "a\\b", "~/x", "data/../../../z", "/"]


def junk(rng: random.Random) -> str:
    """Random code points, NUL and control characters included (surrogates cannot be encoded)."""
    points = (rng.randrange(0, 0x110000) for _ in range(rng.randrange(1, 400)))
    return "".join(chr(0xFFFD if 0xD800 <= cp < 0xE000 else cp) for cp in points)


def replies(rng: random.Random, good: str) -> list[str]:
    """Every kind of broken reply, about N of them in all, deterministic for a seed."""
    out = ["", " ", "\n\n", "null", "[]", "{}", good, good * 2, "```json\n" + good, good[: len(good) // 2], "x" * 1_000_000, "{" * 5000]
    while len(out) < N:
        kind = rng.randrange(8)
        if kind == 0:
            out.append(good[: rng.randrange(len(good))])  # truncated
        elif kind == 1:
            out.append(junk(rng))  # binary junk
        elif kind == 2:
            out.append("```" + rng.choice(["", "json", "python", "bash"]) + "\n" + good[: rng.randrange(len(good))])  # unclosed fence
        elif kind == 3:
            out.append(good.replace(rng.choice(string.printable), rng.choice(["\x00", "\\", '"', "}", "\n"]), rng.randrange(1, 4)))
        elif kind == 4:
            try:
                data = json.loads(good)
            except ValueError:  # a file reply: break its fence instead
                data = good.replace("```", "``", 1)
            key = rng.choice(list(data)) if isinstance(data, dict) and data else None
            if key:
                data[key] = rng.choice([None, 1, -1, 1e308, "", [], {}, "x" * rng.randrange(100_000), [None], {"a": "b"}])
            out.append(data if isinstance(data, str) else json.dumps(data))
        elif kind == 5:
            out.append(f"Sure!\n```\n{good}\n```\nand also\n```\n{junk(rng)}\n```")
        elif kind == 6:
            out.append(json.dumps({"files": [{"path": rng.choice(BAD_PATHS), "purpose": junk(rng)} for _ in range(rng.randrange(1, 5))]}))
        else:
            out.append(rng.choice(["```bash\n", "<tool_call>{", "</bash>", "TASK_COMPLETE", "```\n```\n```"]) * rng.randrange(1, 50))
    return out[:N]


@pytest.mark.parametrize("cut_off", [False, True], ids=["complete", "cut-off"])
@pytest.mark.parametrize("schema", list(GOOD), ids=lambda s: s.__name__)
def test_structured_parsers_parse_or_reject_every_reply(schema, cut_off):
    rng = random.Random(SEED)
    parsed = rejected = 0
    for reply in replies(rng, json.dumps(GOOD[schema])):
        try:
            parse_reply(reply, schema, cut_off=cut_off)
            parsed += 1
        except ValueError as exc:
            assert str(exc), "a rejection must say why"
            rejected += 1
    assert parsed + rejected == N and parsed >= 1 and rejected >= N // (3 if cut_off else 2)  # a cut-off reply is closed: more parse


def test_files_lazy_attacks_and_actions_parse_or_reject_every_reply():
    rng = random.Random(SEED)
    for reply in replies(rng, "```bash\n#!/bin/bash\necho 3 > /app/count.txt\n```"):
        for parse in (file_text, lambda text: parse_lazy_solutions(text, 2)):
            try:
                parse(reply)
            except ValueError as exc:
                assert str(exc)
        action = parse_action(reply)  # never raises: a malformed reply is an Action with a problem
        assert action.command is not None or action.complete or action.problem


def test_planned_paths_never_leave_the_bundle(tmp_path):
    rng = random.Random(SEED)
    written = 0
    for i, reply in enumerate(replies(rng, json.dumps(GOOD[Blueprint]))):
        try:
            files = checked_blueprint(parse_reply(reply, Blueprint))
        except (ValueError, StageError) as exc:
            assert str(exc)
            continue
        bundle = make_bundle(f"t{i}")
        for planned in files:
            bundle.environment[planned.path] = BundleFile.text("x")
        try:
            root = bundle.write(tmp_path / "bundles")
        except BundleError as exc:
            assert str(exc)
            continue
        written += 1
        for path in root.rglob("*"):
            assert path.resolve().is_relative_to((tmp_path / "bundles").resolve()), path
    assert written >= 1
    assert {p.name for p in tmp_path.iterdir()} == {"bundles"}  # nothing beside the bundles


@pytest.mark.parametrize("dockerfile, problem", [
    ("FROM termigen/base:bookworm\nADD https://example.com/data.tgz /app/\n", "downloads with `ADD <url>`"),
    ("FROM termigen/base:bookworm\nADD --chmod=755 http://x.org/run.sh /usr/local/bin/\n", "downloads with `ADD <url>`"),
    ("FROM termigen/base:bookworm\nRUN --security=insecure make\n", "asks for privileges"),
    ("FROM termigen/base:bookworm\n# docker run --privileged\nRUN true\n", "asks for privileges"),
    ("FROM ubuntu:24.04\n", "must start with"),
    ("FROM termigen/base:bookworm\nADD data.tgz /app/\nCOPY . /app\n", None),
])  # fmt: skip
def test_dockerfiles_that_download_or_ask_for_privileges_are_refused(dockerfile, problem):
    found = dockerfile_problem(dockerfile, "termigen/base:bookworm")
    assert (found is None) if problem is None else (problem in found)
