import json
import subprocess
import sys

import pytest
from harbor.models.environment_type import EnvironmentType

from termigen_harbor.runner import RunnerError, RunSpec, job_config, parse_ctrf, parse_junit


def test_junit_from_a_real_pytest_run_gives_per_test_outcomes(tmp_path):
    (tmp_path / "test_sample.py").write_text(
        "import pytest\n"
        "def test_ok():\n    assert True\n"
        "def test_bad():\n    assert 1 == 2, 'one is not two'\n"
        "@pytest.fixture\ndef broken():\n    raise RuntimeError('fixture exploded')\n"
        "def test_err(broken):\n    pass\n"
        "@pytest.mark.skip(reason='later')\ndef test_skip():\n    pass\n"
    )
    junit = tmp_path / "junit.xml"
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}", str(tmp_path)], capture_output=True)
    outcomes = {t.name.rsplit("::", 1)[-1]: t for t in parse_junit(junit.read_text())}
    assert {k: v.outcome for k, v in outcomes.items()} == {"test_ok": "passed", "test_bad": "failed", "test_err": "error", "test_skip": "skipped"}
    assert "one is not two" in outcomes["test_bad"].message


def test_ctrf_reports_as_terminal_bench_writes_them():
    report = {"results": {"tool": {"name": "pytest"}, "summary": {"tests": 3}, "tests": [
        {"name": "test_a", "status": "passed", "duration": 0.1},
        {"name": "test_b", "status": "failed", "duration": 0.2, "message": "AssertionError"},
        {"name": "test_c", "status": "skipped", "duration": 0.0},
    ]}}
    outcomes = parse_ctrf(json.dumps(report))
    assert [(t.name, t.outcome) for t in outcomes] == [("test_a", "passed"), ("test_b", "failed"), ("test_c", "skipped")]
    assert parse_ctrf("not json") == [] and parse_junit("<not xml") == []


def test_job_config_takes_builtin_agents_import_paths_and_any_environment(tmp_path):
    config = job_config(RunSpec(tasks=[tmp_path], agent="oracle", n_attempts=3, n_concurrent=4, agent_timeout_multiplier=8))
    assert config.agents[0].name == "oracle" and config.n_attempts == 3 and config.n_concurrent_trials == 4
    assert config.agent_timeout_multiplier == 8 and job_config(RunSpec(tasks=[tmp_path])).agent_timeout_multiplier is None
    assert config.tasks[0].path == tmp_path.resolve()
    config = job_config(RunSpec(tasks=[tmp_path], agent="termigen_harbor.agents:BashAgent", model="openai/x", agent_kwargs={"injection_rate": 0.2}, env="daytona"))
    agent = config.agents[0]
    assert (agent.import_path, agent.model_name, agent.kwargs) == ("termigen_harbor.agents:BashAgent", "openai/x", {"injection_rate": 0.2})
    assert config.environment.type == EnvironmentType.DAYTONA
    assert job_config(RunSpec(tasks=[tmp_path], env="my_pkg.envs:Sandbox")).environment.import_path == "my_pkg.envs:Sandbox"


@pytest.mark.parametrize("spec, message", [
    (dict(agent="oracel"), "unknown agent 'oracel'.*Harbor's agents: .*oracle"),
    (dict(agent="my_pkg.agents:MyAgent"), "unknown agent 'my_pkg.agents:MyAgent': .*No module named 'my_pkg'"),
    (dict(env="dokcer"), "unknown environment type 'dokcer'"),
    (dict(tasks=[]), "no tasks"),
])
def test_job_config_rejects_mistakes_with_a_clear_message(tmp_path, spec, message):
    with pytest.raises(RunnerError, match=message):
        job_config(RunSpec(**{"tasks": [tmp_path], **spec}))


def test_registry_datasets_are_passed_to_harbor_and_a_failed_lookup_says_what_to_do(tmp_path):
    from termigen_harbor.runner import run_job

    config = job_config(RunSpec(datasets=["terminal-bench-core@0.1.1", "other"], agent="oracle"))
    assert [(d.name, d.version) for d in config.datasets] == [("terminal-bench-core", "0.1.1"), ("other", None)] and config.tasks == []
    with pytest.raises(RunnerError, match="registry lookup of termigen-no-such-dataset@0.0.0 failed.*local folder"):
        run_job(RunSpec(datasets=["termigen-no-such-dataset@0.0.0"], agent="oracle", jobs_dir=tmp_path))


def test_a_job_resumes_with_the_concurrency_it_started_with_and_another_config_is_a_clear_error(tmp_path, capsys):
    """Harbor resumes only an identical job; concurrency changes no result, so it is not a reason to refuse."""
    from termigen_harbor.runner import keep_started_concurrency, run_job

    from termigen_harbor.testing import make_bundle

    task = make_bundle().write(tmp_path / "tasks")
    started = job_config(RunSpec(tasks=[task], agent="nop", n_concurrent=2, jobs_dir=tmp_path / "jobs", job_name="eval-x"))
    (tmp_path / "jobs" / "eval-x").mkdir(parents=True)
    (tmp_path / "jobs" / "eval-x" / "config.json").write_text(started.model_dump_json(indent=4, exclude_defaults=True))
    again = job_config(RunSpec(tasks=[task], agent="nop", n_concurrent=1, jobs_dir=tmp_path / "jobs", job_name="eval-x"))
    keep_started_concurrency(again)
    assert again.n_concurrent_trials == 2 and "with the concurrency it was started with (2)" in capsys.readouterr().err
    with pytest.raises(RunnerError, match="holds a job started with other settings.*another --jobs-dir"):
        run_job(RunSpec(tasks=[task], agent="oracle", jobs_dir=tmp_path / "jobs", job_name="eval-x"))


def test_trials_stopped_by_an_interrupt_run_again_when_the_job_resumes(tmp_path):
    from termigen_harbor.runner import forget_interrupted_trials

    for name, exception in (("a__1", "CancelledError"), ("b__2", "AgentTimeoutError"), ("c__3", None)):
        (tmp_path / name).mkdir()
        info = {"exception_type": exception, "exception_message": ""} if exception else None
        (tmp_path / name / "result.json").write_text(json.dumps({"task_name": name, "exception_info": info}))
    (tmp_path / "d__4").mkdir()  # still running when stopped: no result.json, Harbor reruns it itself
    (tmp_path / "e__5").mkdir()
    (tmp_path / "e__5" / "result.json").write_text('{"task_name": "e", "exception_in')  # cut short by kill -9
    assert forget_interrupted_trials(tmp_path) == {"a__1": "interrupted", "e__5": "result cut short"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b__2", "c__3", "d__4"]  # real outcomes are kept
    assert forget_interrupted_trials(tmp_path / "no-such-job") == {}


def test_harbors_image_build_locks_work_for_jobs_on_several_event_loops_at_once():
    """Harbor takes its build lock as `_image_build_locks.setdefault(name, asyncio.Lock())`. Jobs run
    in two threads at once (synthesize -n 2), then a later job on a new loop: with one lock for the
    process, the waiter in one thread is never woken (a 600 s hang in Harbor) or the lock refuses a
    second loop ("bound to a different event loop")."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from harbor.environments.docker.docker import DockerEnvironment

    from termigen_harbor.build_locks import use_per_loop_build_locks

    use_per_loop_build_locks()

    async def build():
        async with DockerEnvironment._image_build_locks.setdefault("count-words", asyncio.Lock()):
            await asyncio.sleep(0.2)

    async def job():  # three trials of one task: they wait on each other's build
        await asyncio.wait_for(asyncio.gather(build(), build(), build()), timeout=10)

    with ThreadPoolExecutor(2) as pool:
        for future in [pool.submit(asyncio.run, job()) for _ in range(2)]:
            future.result(timeout=30)
    asyncio.run(job())


def test_unnamed_jobs_started_in_the_same_second_get_folders_of_their_own(tmp_path, monkeypatch):
    import datetime as real
    import harbor.models.job.config as harbor_config

    class Frozen(real.datetime):  # both jobs start in the same second, as a build and its repaired rebuild did
        @classmethod
        def now(cls, tz=None):
            return real.datetime(2026, 12, 3, 13, 46, 34)

    monkeypatch.setattr(harbor_config, "datetime", Frozen)
    task = tmp_path / "task"
    first = job_config(RunSpec(tasks=[task], agent="nop", jobs_dir=tmp_path / "jobs"))
    (tmp_path / "jobs" / first.job_name).mkdir(parents=True)  # Harbor made its folder
    second = job_config(RunSpec(tasks=[task], agent="nop", jobs_dir=tmp_path / "jobs"))
    assert (first.job_name, second.job_name) == ("2026-12-03__13-46-34", "2026-12-03__13-46-34-2")
    named = job_config(RunSpec(tasks=[task], agent="nop", jobs_dir=tmp_path / "jobs", job_name=first.job_name))
    assert named.job_name == first.job_name  # a named job resumes its folder
