"""The whole synthesis pipeline with a scripted model, through real Docker builds and gates."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from termigen_harbor.llm import LLM, Budget, ChatRequest, ScriptedBackend
from termigen_harbor.synthesis.pipeline import Pipeline, SynthesisConfig
from termigen_harbor.taxonomy import load_taxonomy

from test_synthesis_gate import ALTERNATIVE, REFERENCE, STRONG, WEAK, fenced

SPEC = {"title": "count-words", "objective": "Write the number of words in /app/input.txt to /app/count.txt.", "inputs": ["/app/input.txt: text"],
        "outputs": ["/app/count.txt: the word count"], "success_criteria": ["count.txt exists", "it holds the word count", "input.txt is unchanged"],
        "difficulty": "easy"}  # fmt: skip


class Crash(Exception):
    """Stands for the process being killed mid-run."""


class Model:
    def __init__(self, crash_at: str | None = None):
        self.crash_at = crash_at
        self.calls: list[str] = []
        self.dockerfiles = ["FROM termigen/base:bookworm\nRUN apt-get install -y -qq no-such-package-xyz\nCOPY input.txt /app/input.txt\n",
                            "FROM termigen/base:bookworm\nCOPY input.txt /app/input.txt\n"]  # fmt: skip
        self.evaluations = [(3, 5, 5, "too simple an environment: add a realistic input"), (4, 5, 5, "the environment could hold more than one file")]
        self.tests = [WEAK, STRONG]

    def __call__(self, request: ChatRequest) -> str:
        prompt = request.messages[0].content  # a repair request follows the role's own prompt
        role = next(r for key, r in [
            ("distinct task seeds", "seeds"), ("review a proposed terminal task", "evaluator"), ("turn a task seed into", "proposer"),
            ("plan the files", "planner"), ("write one file", "constructor"), ("write the Dockerfile", "environment"),
            ("You write the verifier", "tests"), ("You review the tests", "judge"), ("reference solution", "solution"),
            ("You attack a terminal task's verifier", "lazy"), ("solve a terminal task independently", "alternative")] if key in prompt)  # fmt: skip
        self.calls.append(role)
        if role == self.crash_at:
            raise Crash(role)
        env, data, verify, feedback = self.evaluations[0] if role == "evaluator" else (0, 0, 0, "")
        replies = {
            "seeds": lambda: {"seeds": ["Count words in a text file"]},
            "proposer": lambda: SPEC,
            "evaluator": lambda: {"environment_complexity": self.evaluations.pop(0)[0], "data_generatability": data, "verification_determinism": verify, "feedback": feedback},
            "planner": lambda: {"files": [{"path": "input.txt", "purpose": "the text to count"}]},
            "constructor": lambda: fenced("a b c\nd e\n"),
            "environment": lambda: fenced(self.dockerfiles.pop(0), "dockerfile"),
            "tests": lambda: fenced(self.tests.pop(0), "python"),
            "judge": lambda: {"approve": True, "problems": []},
            "solution": lambda: fenced(REFERENCE, "bash"),
            "lazy": lambda: "Idea: hard-code\n" + fenced("#!/bin/bash\necho 3 > /app/count.txt\n", "bash"),
            "alternative": lambda: fenced(ALTERNATIVE, "bash"),
        }
        reply = replies[role]()
        return reply if isinstance(reply, str) else json.dumps(reply)


def pipeline(model: Model, out: Path, budget: Budget | None = None) -> Pipeline:
    config = SynthesisConfig(out=out, categories=["data_etl"], per_category=1, k_lazy=1, max_gate_rounds=2)
    return Pipeline(LLM(ScriptedBackend(model), budget=budget), load_taxonomy("termigen"), config)


@pytest.mark.docker
async def test_a_scripted_run_is_interrupted_resumed_and_yields_a_valid_bundle(docker_engine, tmp_path):
    out = tmp_path / "out"
    first = Model(crash_at="solution")
    with pytest.raises(Crash):
        await pipeline(first, out).run()
    state = json.loads((out / ".work" / "data_etl-001" / "state.json").read_text())
    assert state["stage"] == "built" and [a["ok"] for a in state["build"]["attempts"]] == [False, True]
    assert "no-such-package-xyz" in state["build"]["attempts"][0]["error"]
    assert [r["evaluation"]["environment_complexity"] for r in state["spec_outcome"]["rounds"]] == [3, 4]

    second = Model()  # the verify stage starts over as a whole: weak tests first, then strong ones
    manifest = await pipeline(second, out).run()
    assert not {"seeds", "proposer", "evaluator", "planner", "constructor", "environment"} & set(second.calls), second.calls
    assert manifest.accepted == 1 and manifest.yield_ == 1.0 and manifest.items[0].stage == "accepted"
    assert manifest.funnel.model_dump() == {"seeds": 1, "spec_passed": 1, "built": 1, "tests_approved": 1, "gate_passed": 1}
    assert set(manifest.usage_by_stage) == {"spec", "plan", "construct", "build", "verify"} and manifest.per_accepted_task.input_tokens > 0
    written = json.loads((out / "manifest.json").read_text())
    assert written["yield"] == 1.0 and written["funnel"]["gate_passed"] == 1 and written["items"][0]["title"] == "count-words"
    bundle = Path(manifest.items[0].bundle)
    provenance = json.loads((bundle / "provenance.json").read_text())
    assert provenance["source"] == "synthesized" and provenance["seed"] == "Count words in a text file"
    gate_rounds = next(s for s in provenance["stages"] if s["stage"] == "verify")["gate_rounds"]
    assert gate_rounds[0]["nop"] == 1.0 and gate_rounds[1]["problems"] == []
    assert any(c["purpose"] == "proposer" for c in next(s for s in provenance["stages"] if s["stage"] == "transcript")["calls"])
    termigen = str(Path(sys.executable).with_name("termigen"))
    check = subprocess.run([termigen, "validate", str(bundle), "--json", "--jobs-dir", str(tmp_path / "validate")], capture_output=True, text=True, timeout=600)
    assert check.returncode == 0, check.stdout[-2000:]
    assert json.loads(check.stdout)[0]["ok"]
    again = await pipeline(Model(), out).run()  # nothing left to do
    assert again.accepted == 1


async def test_a_token_budget_stops_the_run_cleanly_and_the_same_command_goes_on(tmp_path):
    out = tmp_path / "out"
    model = Model(crash_at="planner")  # a run that got past the budget would reach the planner
    manifest = await pipeline(model, out, Budget(max_tokens=400)).run()
    assert manifest.stopped.startswith("budget: token budget spent") and manifest.accepted == 0
    assert "planner" not in model.calls and manifest.items[0].stage in ("seeded", "specified")
    assert json.loads((out / "manifest.json").read_text())["stopped"] == manifest.stopped
    state = json.loads((out / ".work" / "data_etl-001" / "state.json").read_text())
    assert state["stage"] == manifest.items[0].stage  # the spent work is kept for the next run
