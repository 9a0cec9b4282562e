"""Faults a long run meets, with real processes and the real engine: Ctrl-C and SIGTERM leave nothing
on Docker, a run killed with SIGKILL is cleaned up and finished by the next run of the same command,
and the local model server does not outlive the process that started it."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from termigen_harbor.leftovers import PROJECT_LABEL
from termigen_harbor.runner import read_job
from termigen_harbor.testing import make_bundle

TERMIGEN = str(Path(sys.executable).with_name("termigen"))


def ours(prefix: str) -> dict[str, list[str]]:
    """Containers, networks and volumes whose compose project starts with `prefix`."""
    found = {}
    for kind, listing in (("containers", ["ps", "-a"]), ("networks", ["network", "ls"]), ("volumes", ["volume", "ls"])):
        out = subprocess.run(["docker", *listing, "--filter", f"label={PROJECT_LABEL}", "--format", f'{{{{.Label "{PROJECT_LABEL}"}}}}'],
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
        found[kind] = [p for p in out.split() if p.startswith(prefix)]
    return found


def wait_for(condition, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}")


def slow_task(root: Path, seconds: int) -> str:
    """A task whose oracle sleeps, so that a run can be stopped while its container is up. The name is
    unique, so this test's Docker resources are told apart from any other run's."""
    name = f"slow-{uuid.uuid4().hex[:8]}"
    make_bundle(name, solve=f"#!/bin/bash\nsleep {seconds}\nwc -w < /app/input.txt > /app/count.txt\n").write(root)
    return name


def start(args: list[str], log: Path, sigint_ignored: bool = False, env: dict[str, str] | None = None) -> subprocess.Popen:
    """`sigint_ignored`: as a shell without job control starts `cmd &` (scripts, nohup)."""
    ignore = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if sigint_ignored else None
    return subprocess.Popen([TERMIGEN, *args], stdin=subprocess.DEVNULL, stdout=log.open("wb"), stderr=subprocess.STDOUT, preexec_fn=ignore,
                            env={**os.environ, **(env or {})})  # fmt: skip


def running_container(prefix: str) -> bool:
    out = subprocess.run(["docker", "ps", "--filter", f"label={PROJECT_LABEL}", "--format", f'{{{{.Label "{PROJECT_LABEL}"}}}}'], capture_output=True, text=True).stdout
    return any(p.startswith(prefix) for p in out.split())


@pytest.mark.docker
@pytest.mark.parametrize(
    "command, sig, background",
    [
        ("evaluate", signal.SIGINT, False),
        ("evaluate", signal.SIGTERM, True),
        ("validate", signal.SIGINT, False),
        ("validate", signal.SIGTERM, False),
        ("rollout", signal.SIGINT, False),
        ("rollout", signal.SIGTERM, True),
    ],
)
def test_a_stopped_run_leaves_nothing_on_docker(docker_engine, tmp_path, command, sig, background):
    from fake_providers import FakeProvider, openai_completion

    name = slow_task(tmp_path / "tasks", 120)
    args = {
        "evaluate": ["evaluate", "-d", str(tmp_path / "tasks"), "-a", "oracle", "--runs", "1", "--jobs-dir", str(tmp_path / "jobs"), "-o", str(tmp_path / "report")],
        "validate": ["validate", str(tmp_path / "tasks"), "--jobs-dir", str(tmp_path / "jobs")],
        "rollout": ["rollout", str(tmp_path / "tasks" / name), "-m", "local/qwen2.5-coder-0.5b", "-p", "0", "--max-steps", "3", "--jobs-dir", str(tmp_path / "jobs")],
    }[command]
    # the rollout's model (a loopback endpoint) has the agent run a command that is still running when the signal comes
    with FakeProvider([openai_completion("Wait for the input first.\n```bash\nsleep 120\n```")]) as model:
        proc = start(args, tmp_path / "log", sigint_ignored=background, env={"TERMIGEN_LOCAL_BASE_URL": model.url + "/v1"})
        wait_for(lambda: running_container(name), 240, "the trial's container")
        if command == "rollout":
            wait_for(lambda: model.received, 120, "the agent's first step")
        time.sleep(2)
        proc.send_signal(sig)
        rc = proc.wait(timeout=180)
    log = (tmp_path / "log").read_text(errors="replace")
    assert rc != 0, log[-2000:]  # stopped, not finished
    assert "Traceback" not in log, log[-3000:]
    assert ours(name) == {"containers": [], "networks": [], "volumes": []}, log[-2000:]


@pytest.mark.docker
def test_a_killed_evaluation_is_cleaned_up_and_finished_by_the_same_command(docker_engine, tmp_path):
    tasks = tmp_path / "tasks"
    make_bundle("quick").write(tasks)
    slow = slow_task(tasks, 25)
    args = ["evaluate", "-d", str(tasks), "-a", "oracle", "--runs", "1", "-n", "2", "--jobs-dir", str(tmp_path / "jobs"), "-o", str(tmp_path / "report")]
    proc = start(args, tmp_path / "log1")
    results = lambda: list((tmp_path / "jobs").glob("*/quick__*/result.json"))  # noqa: E731
    quick = wait_for(results, 300, "the quick trial's result")[0]
    wait_for(lambda: running_container(slow), 120, "the slow trial's container")
    kept = quick.read_bytes()
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert ours(slow)["containers"], "kill -9 should leave the running trial's container behind"

    again = subprocess.run([TERMIGEN, *args], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    assert re.search(r"removed what 1 killed trial\(s\) of .* left on Docker: 1 containers", again.stderr), again.stderr[-2000:]
    assert quick.read_bytes() == kept  # the finished trial was kept, not run again
    assert ours(slow) == {"containers": [], "networks": [], "volumes": []}
    resumed = json.loads((tmp_path / "report" / "report.json").read_text())

    fresh = subprocess.run([TERMIGEN, *args[:-4], "--jobs-dir", str(tmp_path / "jobs-fresh"), "-o", str(tmp_path / "fresh")],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert fresh.returncode == 0, fresh.stdout[-2000:]
    uninterrupted = json.loads((tmp_path / "fresh" / "report.json").read_text())
    same = ("average_pass_at_1", "pass_at_1_by_run", "pass_at_k", "n_errors", "verified_by_run")
    assert {k: resumed[k] for k in same} == {k: uninterrupted[k] for k in same}
    assert resumed["average_pass_at_1"] == 1.0
    per_task = lambda report: sorted((t["task"], t["rewards"]) for t in report["tasks"])  # noqa: E731
    assert per_task(resumed) == per_task(uninterrupted)


def test_the_local_model_server_dies_with_the_process_that_started_it(tmp_path):
    """A process killed with SIGKILL cannot stop its llama-cpp server; the server notices and exits."""
    script = (
        "import time\nfrom termigen_harbor.llm.local_server import shared_server\n"
        "print(shared_server('qwen2.5-coder-0.5b'), flush=True)\ntime.sleep(600)\n"
    )
    owner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    url = owner.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), url
    children = subprocess.run(["pgrep", "-P", str(owner.pid)], capture_output=True, text=True).stdout.split()
    assert len(children) == 1
    server = int(children[0])
    owner.send_signal(signal.SIGKILL)
    owner.wait()

    def gone() -> bool:
        try:
            os.kill(server, 0)
        except ProcessLookupError:
            return True
        return Path(f"/proc/{server}/stat").read_text().split()[2] == "Z"  # exited, not yet reaped

    wait_for(gone, 15, f"the orphaned server (pid {server}) to exit")


@pytest.mark.docker
def test_a_model_server_that_dies_mid_rollout_errors_the_trial_and_the_same_command_finishes_it(docker_engine, tmp_path):
    from fake_providers import FakeProvider, openai_completion

    steps = [
        "Count the words into the file.\n```bash\nwc -w < /app/input.txt > /app/count.txt\n```",
        "Check it.\n```bash\ncat /app/count.txt\n```",
        "It says 5.\n```bash\necho TASK_COMPLETE\n```",
    ]
    task = make_bundle("count-words").write(tmp_path / "tasks")
    args = [TERMIGEN, "rollout", str(task), "-m", "local/qwen2.5-coder-0.5b", "-p", "0", "--max-steps", "5", "--jobs-dir", str(tmp_path / "jobs"), "--job-name", "r"]
    with FakeProvider([openai_completion(steps[0])]) as dying:
        env = {**os.environ, "TERMIGEN_LOCAL_BASE_URL": dying.url + "/v1"}
        proc = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        wait_for(lambda: dying.received, 300, "the agent's first request")
    # the server is gone: every later request is refused
    out = proc.communicate(timeout=300)[0]
    assert "1 trial(s) errored because the model did not answer" in out, out[-3000:]
    assert "Traceback" not in out, out[-3000:]

    with FakeProvider([openai_completion(s) for s in steps]) as back:
        again = subprocess.run(args, env={**os.environ, "TERMIGEN_LOCAL_BASE_URL": back.url + "/v1"}, stdin=subprocess.DEVNULL,
                               capture_output=True, text=True, timeout=600)  # fmt: skip
    assert "1 trial(s) of" in again.stderr and "run again (the model did not answer)" in again.stderr, again.stderr[-2000:]
    assert again.returncode == 0, again.stdout[-3000:]
    [trial] = read_job(tmp_path / "jobs" / "r").trials
    assert trial.reward == 1.0 and not trial.errored, trial


def test_a_model_endpoint_that_hangs_is_cut_off_by_the_timeout():
    """An endpoint that accepts the request and never answers: the call fails after the timeout and
    its retries, with a message that says so, instead of waiting forever."""
    import asyncio
    import socket
    import threading

    from termigen_harbor.llm import RetryableError, RetryPolicy, make_llm

    listener = socket.create_server(("127.0.0.1", 0))
    held = []
    threading.Thread(target=lambda: [held.append(listener.accept()) for _ in range(10)], daemon=True).start()
    port = listener.getsockname()[1]
    for model in ("openai/some-model", "anthropic/claude-sonnet-4-6"):
        llm = make_llm(model, api_base=f"http://127.0.0.1:{port}" + ("/v1" if model.startswith("openai") else ""), api_key="k", timeout_s=1.5,
                       retry=RetryPolicy(max_retries=1, base_delay_s=0.1))  # fmt: skip
        started = time.monotonic()
        with pytest.raises(RetryableError, match="gave up after 2 attempts"):
            asyncio.run(llm.chat("hi"))
        # the endpoint never answers: only the 1.5 s timeout ends the call (a loaded CI machine
        # adds the client's import and start-up time, hence the margin)
        assert time.monotonic() - started < 120
    listener.close()


@pytest.mark.docker
def test_four_trials_at_once_give_the_results_of_one_at_a_time(docker_engine, tmp_path):
    from termigen_harbor.evaluation.evaluate import EvalSpec, evaluate

    tasks = tmp_path / "tasks"
    for name in ("solvable-a", "solvable-b"):
        make_bundle(name).write(tasks)
    for name in ("unsolvable-a", "unsolvable-b"):
        make_bundle(name, solve="#!/bin/bash\necho 4 > /app/count.txt\n").write(tasks)
    reports = [evaluate(EvalSpec(tasks=sorted(tasks.iterdir()), dataset="four", agent="oracle", runs=1, n_concurrent=n, jobs_dir=tmp_path / f"jobs-{n}"))
               for n in (1, 4)]  # fmt: skip
    serial, parallel = ([(row.task, row.rewards, row.errors) for row in r.tasks] for r in reports)
    assert serial == parallel == [("solvable-a", [1.0], [None]), ("solvable-b", [1.0], [None]), ("unsolvable-a", [0.0], [None]), ("unsolvable-b", [0.0], [None])]


@pytest.mark.docker
async def test_two_tasks_synthesized_at_once_give_the_results_of_one_at_a_time(docker_engine, tmp_path):
    """`synthesize -n 2` against `-n 1`: the same tasks accepted, with the same files (all but the
    provenance log, which holds times and temporary paths), and the same funnel. The scripted model
    gives each task the replies it would get alone."""
    from termigen_harbor.llm import LLM, ScriptedBackend
    from termigen_harbor.synthesis.pipeline import Pipeline, SynthesisConfig
    from termigen_harbor.taxonomy import load_taxonomy
    from termigen_harbor.testing import SynthesisRoles

    def files(bundle: Path) -> dict[str, bytes]:
        return {str(p.relative_to(bundle)): p.read_bytes() for p in sorted(bundle.rglob("*")) if p.is_file() and p.name not in ("task.toml", "provenance.json")}

    async def run(n: int):
        config = SynthesisConfig(out=tmp_path / f"out-{n}", categories=["data_etl", "algorithms"], per_category=1, k_lazy=1, max_gate_rounds=2, concurrency=n)
        manifest = await Pipeline(LLM(ScriptedBackend(SynthesisRoles())), load_taxonomy("termigen"), config).run()
        return (
            [(i.id, i.stage, i.title, i.reason, i.error) for i in manifest.items],
            manifest.funnel,
            {Path(i.bundle).name: files(Path(i.bundle)) for i in manifest.items if i.bundle},
        )

    runs = dict(zip((1, 2), await asyncio.gather(run(1), run(2))))  # both at once: the test takes as long as the serial run
    assert runs[2] == runs[1]
    items, funnel, bundles = runs[1]
    assert [(i[0], i[1], i[2]) for i in items] == [("data_etl-001", "accepted", "count-words"), ("algorithms-001", "accepted", "count-words-2")]
    assert sorted(bundles) == ["count-words", "count-words-2"] and bundles["count-words"] == bundles["count-words-2"]


SYNTHESIS = """
import asyncio, sys
from pathlib import Path
from termigen_harbor.llm import LLM, ScriptedBackend
from termigen_harbor.synthesis.pipeline import Pipeline, SynthesisConfig
from termigen_harbor.taxonomy import load_taxonomy
from termigen_harbor.testing import SynthesisRoles
from termigen_harbor.cli_common import sigterm_as_ctrl_c
sigterm_as_ctrl_c()  # as the `termigen` command does
config = SynthesisConfig(out=Path(sys.argv[1]), categories=["data_etl"], per_category=1, k_lazy=1, max_gate_rounds=2)
manifest = asyncio.run(Pipeline(LLM(ScriptedBackend(SynthesisRoles())), load_taxonomy("termigen"), config).run())
print(manifest.model_dump_json(by_alias=True))
"""


@pytest.mark.docker
def test_synthesis_killed_at_random_points_loses_nothing_and_finishes_as_an_uninterrupted_run(docker_engine, tmp_path):
    """SIGKILL at seeded random moments (inside stages: builds, gate trials, model calls); after each,
    every state file still parses, and the last run ends where an uninterrupted one does."""
    import random

    out = tmp_path / "out"
    command = [sys.executable, "-c", SYNTHESIS, str(out)]
    draws, stages = random.Random(1402), []
    for _ in range(3):
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            proc.wait(timeout=draws.uniform(8, 60))
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        for state in [*out.glob(".work/*/state.json"), *out.glob("*.json")]:
            json.loads(state.read_text())  # written atomically: never half a file
        stages += [json.loads(p.read_text())["stage"] for p in out.glob(".work/*/state.json")]
    assert {"specified", "environment", "built"} & set(stages), stages  # some kill landed between the first stage and the verdict
    final = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=900)
    assert final.returncode == 0, final.stderr[-3000:]
    manifest = json.loads(final.stdout.strip().splitlines()[-1])
    assert manifest["accepted"] == 1 and manifest["errored"] == 0 and manifest["stopped"] is None
    assert manifest["funnel"] == {"seeds": 1, "spec_passed": 1, "built": 1, "tests_approved": 1, "gate_passed": 1}
    assert [p.name for p in out.iterdir() if (p / "task.toml").exists()] == ["count-words"]  # accepted once, not twice
    leftovers = subprocess.run(["docker", "ps", "-a", "--filter", f"label={PROJECT_LABEL}", "--format", f'{{{{.Label "{PROJECT_LABEL}"}}}}'],
                               capture_output=True, text=True).stdout.split()  # fmt: skip
    trials = {p.name.lower() for p in out.glob(".work/*/jobs/*/*") if p.is_dir()}
    assert not [c for c in leftovers if c.split("__env")[0] in trials]


@pytest.mark.docker
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_synthesis_stopped_during_its_gate_leaves_nothing_on_docker(docker_engine, tmp_path, sig):
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-c", SYNTHESIS, str(out)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def gate_trial_running() -> list[str]:
        trials = {p.name.lower() for p in out.glob(".work/*/jobs/*/*") if p.is_dir()}
        return [name for name in trials if running_container(name + "__")]

    trials = wait_for(gate_trial_running, 600, "a gate trial's container")
    proc.send_signal(sig)
    err = proc.communicate(timeout=300)[1]
    assert proc.returncode != 0 and "Crash" not in err
    for trial in trials:
        assert ours(trial + "__") == {"containers": [], "networks": [], "volumes": []}, err[-2000:]
    assert json.loads(next(out.glob(".work/*/state.json")).read_text())["stage"] in ("built", "environment", "specified")


@pytest.mark.docker
def test_a_model_server_that_dies_mid_synthesis_errors_the_task_and_the_same_command_finishes_it(docker_engine, tmp_path):
    from fake_providers import ServedModel

    from termigen_harbor.testing import SynthesisRoles

    out = tmp_path / "out"
    args = [TERMIGEN, "synthesize", "-o", str(out), "--categories", "data_etl", "-k", "1", "--lazy", "1", "-m", "local/qwen2.5-coder-0.5b"]
    with ServedModel(SynthesisRoles(down_at="planner")) as dying:
        proc = subprocess.Popen(args, env={**os.environ, "TERMIGEN_LOCAL_BASE_URL": dying.url + "/v1"}, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
        assert dying.died.wait(300), "the planner was never asked"
    # the server is gone: the request in flight got no answer, every later one is refused
    first = proc.communicate(timeout=300)[0]
    assert proc.returncode == 1 and "Traceback" not in first, first[-3000:]
    assert "did not answer" in first, first[-3000:]
    manifest = json.loads((out / "manifest.json").read_text())
    [item] = manifest["items"]
    assert manifest["errored"] == 1 and item["stage"] == "specified" and item["reason"] is None, manifest  # errored, not rejected

    back = SynthesisRoles()
    with ServedModel(back) as model:
        again = subprocess.run(args, env={**os.environ, "TERMIGEN_LOCAL_BASE_URL": model.url + "/v1"}, stdin=subprocess.DEVNULL,
                               capture_output=True, text=True, timeout=900)  # fmt: skip
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "planner" in back.calls and not {"seeds", "proposer", "evaluator"} & set(back.calls)  # resumed where it stopped
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["accepted"] == 1 and manifest["errored"] == 0 and manifest["stopped"] is None
