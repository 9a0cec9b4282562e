"""The whole synthesis pipeline with a scripted model, through real Docker builds and gates."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from termigen_harbor.llm import LLM, Budget, ScriptedBackend
from termigen_harbor.bundle import TaskBundle
from termigen_harbor.synthesis.pipeline import Pipeline, Progress, SynthesisConfig
from termigen_harbor.synthesis.provenance import SynthesisProvenance
from termigen_harbor.taxonomy import load_taxonomy
from termigen_harbor.testing import Crash, SynthesisRoles

def pipeline(model: SynthesisRoles, out: Path, budget: Budget | None = None, progress: Progress | None = None) -> Pipeline:
    config = SynthesisConfig(out=out, categories=["data_etl"], per_category=1, k_lazy=1, max_gate_rounds=2)
    return Pipeline(LLM(ScriptedBackend(model), budget=budget), load_taxonomy("termigen"), config, progress)


@pytest.mark.docker
async def test_a_scripted_run_is_interrupted_resumed_and_yields_a_valid_bundle(docker_engine, tmp_path):
    out = tmp_path / "out"
    first = SynthesisRoles(crash_at="alternative")
    notes: list[tuple[str, str]] = []  # what the console shows during the long stages
    with pytest.raises(Crash):
        await pipeline(first, out, progress=Progress(note=lambda task, message: notes.append((task, message)))).run()
    said = [message for task, message in notes if task == "data_etl-001"]
    assert said[0].startswith("build 1: failed: The instruction `RUN ") and "no-such-package-xyz" in said[0] and said[1] == "build 2: built"
    assert said[2] == "reference, round 1: it ran and wrote every output the task names" and len(said) == 3  # the independent solution comes next
    state = json.loads((out / ".work" / "data_etl-001" / "state.json").read_text())
    assert state["stage"] == "built" and [a["ok"] for a in state["build"]["attempts"]] == [False, True]
    assert "no-such-package-xyz" in state["build"]["attempts"][0]["error"]
    assert [r["evaluation"]["environment_complexity"] for r in state["spec_outcome"]["rounds"]] == [3, 4]

    assert state["verifying"]["solution"] and not state["verifying"]["alternative"]  # the verification's progress: the reference is kept
    second = SynthesisRoles()  # the verify stage goes on after the reference: weak tests first, then strong ones
    notes.clear()
    manifest = await pipeline(second, out, progress=Progress(note=lambda task, message: notes.append((task, message)))).run()
    said = [message for _, message in notes]
    assert said[:2] == ["resumed after the reference", "independent solution, round 1: it ran and wrote every output the task names"]
    # the weak tests pass in the untouched image: they go back before the Judge or the gate sees them
    assert said[2].startswith("tests, round 1: sent back by pytest: every test passes in the task's untouched image") and said[3] == "tests, round 2: approved by the judge"
    assert said[-1] == "gate, round 1: reference 1, no-op 0, lazy 0 0, independent 1", said  # the scripted attack, and every output created empty
    assert not {"seeds", "proposer", "evaluator", "planner", "constructor", "environment", "solution"} & set(second.calls), second.calls
    assert manifest.accepted == 1 and manifest.yield_ == 1.0 and manifest.items[0].stage == "accepted"
    assert manifest.funnel.model_dump() == {"seeds": 1, "spec_passed": 1, "built": 1, "tests_approved": 1, "gate_passed": 1}
    assert set(manifest.usage_by_stage) == {"spec", "plan", "construct", "build", "verify"} and manifest.per_accepted_task.input_tokens > 0
    written = json.loads((out / "manifest.json").read_text())
    assert written["schema_version"] == 1 and written["yield"] == 1.0 and written["funnel"]["gate_passed"] == 1 and written["items"][0]["title"] == "count-words"
    bundle = Path(manifest.items[0].bundle)
    provenance = json.loads((bundle / "provenance.json").read_text())
    assert provenance["source"] == "synthesized" and provenance["seed"] == "Count words in a text file"
    gate_rounds = provenance["gate_rounds"]
    assert len(gate_rounds) == 1 and gate_rounds[0]["nop"] == 0.0 and gate_rounds[0]["problems"] == []
    assert any(c["purpose"] == "proposer" for c in provenance["transcript"])
    from harbor.cli.sync import sync_dataset  # the output folder is a Harbor dataset whose digests Harbor agrees with

    assert f'name = "termigen/{bundle.name}"' in (out / "dataset.toml").read_text()
    assert [c.name for c in sync_dataset(out) if c.old != c.new] == []
    typed = SynthesisProvenance.model_validate(provenance)
    assert typed.build_attempts[-1].ok and typed.usage["verify"].seconds > 0 and TaskBundle.read(bundle).provenance.model_dump()["gate_rounds"]
    termigen = str(Path(sys.executable).with_name("termigen"))
    check = subprocess.run([termigen, "validate", str(bundle), "--json", "--jobs-dir", str(tmp_path / "validate")], capture_output=True, text=True, timeout=600)
    assert check.returncode == 0, check.stdout[-2000:]
    assert json.loads(check.stdout)[0]["ok"]
    again = await pipeline(SynthesisRoles(), out).run()  # nothing left to do
    assert again.accepted == 1


async def test_a_token_budget_stops_the_run_cleanly_and_the_same_command_goes_on(tmp_path):
    out = tmp_path / "out"
    model = SynthesisRoles(crash_at="planner")  # a run that got past the budget would reach the planner
    manifest = await pipeline(model, out, Budget(max_tokens=400)).run()
    assert manifest.stopped.startswith("budget: token budget spent") and manifest.accepted == 0
    assert "planner" not in model.calls and manifest.items[0].stage in ("seeded", "specified")
    assert json.loads((out / "manifest.json").read_text())["stopped"] == manifest.stopped
    state = json.loads((out / ".work" / "data_etl-001" / "state.json").read_text())
    assert state["stage"] == manifest.items[0].stage  # the spent work is kept for the next run


async def test_a_model_that_stops_answering_leaves_the_task_errored_not_rejected_and_the_same_command_resumes(tmp_path):
    from termigen_harbor.llm import RetryPolicy
    from termigen_harbor.synthesis.pipeline import MODEL_DOWN

    out = tmp_path / "out"
    config = SynthesisConfig(out=out, categories=["data_etl"], per_category=1, k_lazy=1, max_gate_rounds=2)
    fast = RetryPolicy(max_retries=1, base_delay_s=0.01)
    first = SynthesisRoles(down_at="planner")
    manifest = await Pipeline(LLM(ScriptedBackend(first), retry=fast), load_taxonomy("termigen"), config).run()
    assert manifest.stopped.startswith(f"{MODEL_DOWN}: ") and "connection refused at the planner" in manifest.stopped
    [item] = manifest.items
    assert item.stage == "specified" and item.error and item.reason is None and manifest.errored == 1  # no verdict, not a rejection

    second = SynthesisRoles(down_at="constructor")  # the server is back, then goes again one stage later
    manifest = await Pipeline(LLM(ScriptedBackend(second), retry=fast), load_taxonomy("termigen"), config).run()
    assert "planner" in second.calls and not {"seeds", "proposer", "evaluator"} & set(second.calls)  # resumed where it stopped
    assert manifest.items[0].stage == "specified" and manifest.stopped.startswith(MODEL_DOWN)
    # run R: the local server was killed (no retry brings it back), and the nine tasks left were rejected one after another
    gone = SynthesisRoles(gone_at="planner")
    two = config.model_copy(update={"categories": ["data_etl", "algorithms"]})
    manifest = await Pipeline(LLM(ScriptedBackend(gone), retry=fast), load_taxonomy("termigen"), two).run()
    assert manifest.stopped.startswith(f"{MODEL_DOWN}: scripted: the local model server died while answering the planner")
    assert [(item.stage, item.reason) for item in manifest.items] == [("specified", None), ("seeded", None)] and gone.calls.count("planner") == 1


async def test_a_category_whose_seeds_never_parse_is_reported_and_the_others_go_on(tmp_path):
    from termigen_harbor.llm import RetryPolicy

    roles = SynthesisRoles(down_at="planner")  # stop once the other category's spec is done: no Docker needed

    def model(request):
        if "distinct task seeds" in request.messages[0].content and "Data Processing" in request.messages[0].content:
            return json.dumps({"seeds": ["/app/data/orders.csv"]})
        return roles(request)

    config = SynthesisConfig(out=tmp_path / "out", categories=["data_etl", "algorithms"], per_category=1, k_lazy=1, max_gate_rounds=2)
    manifest = await Pipeline(LLM(ScriptedBackend(model), retry=RetryPolicy(max_retries=0)), load_taxonomy("termigen"), config).run()
    assert list(manifest.seed_failures) == ["data_etl"] and "not a path or a name" in manifest.seed_failures["data_etl"]
    assert [item.id for item in manifest.items] == ["algorithms-001"]
    assert not (tmp_path / "out" / ".work" / "seeds-data_etl.json").exists()  # the next run asks again


async def test_a_task_rejected_inside_a_stage_keeps_the_calls_and_the_cost_of_that_stage(tmp_path):
    roles = SynthesisRoles()

    def model(request):
        if "write one file" in request.messages[0].content:
            return "```python\nprint('the reply was cut off"  # never closed, three times
        return roles(request)

    config = SynthesisConfig(out=tmp_path / "out", categories=["data_etl"], per_category=1, k_lazy=1, max_gate_rounds=2)
    manifest = await Pipeline(LLM(ScriptedBackend(model)), load_taxonomy("termigen"), config).run()
    [item] = manifest.items
    assert item.stage == "rejected" and "never closed" in item.reason
    state = json.loads((tmp_path / "out" / ".work" / "data_etl-001" / "state.json").read_text())
    assert state["usage"]["construct"]["output_tokens"] > 0 and manifest.usage_by_stage["construct"].output_tokens > 0
    assert [c["purpose"] for c in state["transcript"]].count("constructor") == 3  # the failed replies, for whoever asks why

    # after a fix, --retry-rejected reopens the task at the stage named, if it got that far, and its earlier usage stays counted
    from termigen_harbor.llm import RetryPolicy

    retry = SynthesisConfig(out=tmp_path / "out", categories=["data_etl"], per_category=1, k_lazy=1, max_gate_rounds=2, retry_rejected="verify")
    untouched = SynthesisRoles()
    assert (await Pipeline(LLM(ScriptedBackend(untouched)), load_taxonomy("termigen"), retry).run()).items[0].stage == "rejected" and untouched.calls == []
    fixed = SynthesisRoles(down_at="environment")  # the constructor's fix works; stop before Docker
    manifest = await Pipeline(LLM(ScriptedBackend(fixed), retry=RetryPolicy(max_retries=0)), load_taxonomy("termigen"), retry.model_copy(update={"retry_rejected": "plan"})).run()
    [item] = manifest.items
    assert fixed.calls[0] == "planner" and "proposer" not in fixed.calls and item.stage == "environment" and item.reason is None and item.error
    again = json.loads((tmp_path / "out" / ".work" / "data_etl-001" / "state.json").read_text())
    assert again["usage"]["construct"]["output_tokens"] > state["usage"]["construct"]["output_tokens"] and again["files"]


async def test_an_interrupted_run_writes_the_manifest_of_what_was_done_so_far(tmp_path):
    import asyncio

    from termigen_harbor.llm import ChatRequest, Completion
    from termigen_harbor.synthesis.manifest import Manifest
    from termigen_harbor.synthesis.pipeline import INTERRUPTED

    roles = SynthesisRoles()
    planning = asyncio.Event()

    class SlowPlanner(ScriptedBackend):  # the planner's call is still waiting when Ctrl-C comes
        async def complete(self, request: ChatRequest) -> Completion:
            if "plan the files" in request.messages[0].content:
                planning.set()
                await asyncio.sleep(3600)
            return await super().complete(request)

    config = SynthesisConfig(out=tmp_path / "out", categories=["data_etl"], per_category=1, k_lazy=1)
    run = asyncio.create_task(Pipeline(LLM(SlowPlanner(roles)), load_taxonomy("termigen"), config).run())
    await asyncio.wait_for(planning.wait(), 30)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    manifest = Manifest.model_validate_json((tmp_path / "out" / "manifest.json").read_text())
    assert manifest.stopped == INTERRUPTED and manifest.tasks == 1 and manifest.items[0].stage == "specified"
    assert (manifest.funnel.seeds, manifest.funnel.spec_passed, manifest.funnel.built) == (1, 1, 0)


def test_retry_rejected_names_a_stage_or_the_command_says_which_it_takes(tmp_path):
    from typer.testing import CliRunner

    from termigen_harbor.cli import app

    result = CliRunner().invoke(app, ["synthesize", "-o", str(tmp_path / "out"), "--retry-rejected", "gate"])
    assert result.exit_code == 2 and "--retry-rejected 'gate' is not a stage: use one of spec, plan, build, verify" in " ".join(result.output.split())
    assert not (tmp_path / "out").exists()
