import pytest

from termigen_harbor.bundle import BundleFile
from termigen_harbor.llm import LLM, ScriptedBackend
from termigen_harbor.synthesis.build import build_until_ok
from termigen_harbor.synthesis.spec import TaskSpec
from termigen_harbor.synthesis.environment import PlannedFile

pytestmark = pytest.mark.docker
SPEC = TaskSpec(title="count-lines", objective="Count the lines of /app/data.txt into /app/n.txt.", inputs=["/app/data.txt"], outputs=["/app/n.txt"],
                success_criteria=["n.txt exists", "holds the count", "data.txt unchanged"], difficulty="easy")  # fmt: skip
NO_INPUT = SPEC.model_copy(update={"inputs": []})


async def test_a_dockerfile_that_fails_to_build_is_repaired_from_the_build_output(docker_engine, tmp_path):
    broken = "FROM termigen/base:bookworm\nRUN apt-get update -qq && apt-get install -y -qq no-such-package-xyz\nCOPY data.txt /app/data.txt\n"
    fixed = "FROM termigen/base:bookworm\nCOPY data.txt /app/data.txt\n"
    backend = ScriptedBackend([f"```dockerfile\n{broken}```", f"```dockerfile\n{fixed}```"])
    files = {"data.txt": BundleFile.text("a\nb\nc\n")}
    outcome = await build_until_ok(LLM(backend), SPEC, [PlannedFile(path="data.txt", purpose="input")], files, tmp_path / "jobs")
    assert outcome.ok and outcome.dockerfile == fixed and [a.ok for a in outcome.attempts] == [False, True]
    assert "Unable to locate package no-such-package-xyz" in outcome.attempts[0].error
    repair_prompt = backend.requests[1].messages[-1].content
    assert "Unable to locate package no-such-package-xyz" in repair_prompt and "no-such-package-xyz" in repair_prompt.split("Previous Dockerfile")[1]


async def test_a_dockerfile_that_fails_its_checks_goes_back_without_a_build(docker_engine, tmp_path):
    backend = ScriptedBackend(["```dockerfile\nFROM termigen/base:bookworm\nADD http://example.com/x.tgz /\n```", "```dockerfile\nRUN echo no from line\n```"])
    outcome = await build_until_ok(LLM(backend), NO_INPUT, [], {}, tmp_path / "jobs")
    # one build only: the first reply went back unbuilt; the second, with no FROM line, is built on our base
    assert outcome.ok and [a.ok for a in outcome.attempts] == [True] and len(backend.requests) == 2
    assert "ADD <url>" in backend.requests[1].messages[-1].content


async def test_an_image_that_lacks_an_input_the_task_names_goes_back_saying_which(docker_engine, tmp_path):
    # run Q: the input copied in, then removed at the end of the Dockerfile; six solutions failed on it. Moved away here (an rm is taken out before any build)
    moved = "FROM termigen/base:bookworm\nCOPY data.txt /app/data.txt\nRUN mv /app/data.txt /tmp/data.txt\n"
    fixed = "FROM termigen/base:bookworm\nCOPY data.txt /app/data.txt\n"
    backend = ScriptedBackend([f"```dockerfile\n{moved}```", f"```dockerfile\n{fixed}```"])
    files = {"data.txt": BundleFile.text("a\nb\n")}
    outcome = await build_until_ok(LLM(backend), SPEC, [PlannedFile(path="data.txt", purpose="input")], files, tmp_path / "jobs")
    assert outcome.ok and outcome.dockerfile == fixed and [a.ok for a in outcome.attempts] == [False, True]
    assert outcome.attempts[0].error.startswith("The image built, but it lacks input the task names: /app/data.txt.")
    assert "it lacks input the task names: /app/data.txt" in backend.requests[1].messages[-1].content


async def test_a_build_that_never_succeeds_stops_after_the_bound(docker_engine, tmp_path):
    broken = "```dockerfile\nFROM termigen/base:bookworm\nRUN exit 7\n```"
    also_broken = "```dockerfile\nFROM termigen/base:bookworm\nRUN true && exit 7\n```"  # (the same one again is refused unbuilt)
    outcome = await build_until_ok(LLM(ScriptedBackend([broken, also_broken])), SPEC, [], {}, tmp_path / "jobs", max_iterations=2)
    assert not outcome.ok and len(outcome.attempts) == 2 and "exit code: 7" in outcome.attempts[1].error


async def test_a_failed_dockerfile_sent_back_unchanged_loses_the_package_no_installer_has(docker_engine, tmp_path):
    broken = "FROM termigen/base:bookworm\nRUN echo kept > /app/kept.txt && pip install --no-index no-such-pkg-xyz\nCOPY data.txt /app/data.txt\n"
    backend = ScriptedBackend([f"```dockerfile\n{broken}```"] * 2)  # the 1.5B model's habit: the same file after the build output
    files = {"data.txt": BundleFile.text("a\n")}
    outcome = await build_until_ok(LLM(backend), SPEC, [PlannedFile(path="data.txt", purpose="input")], files, tmp_path / "jobs")
    assert outcome.ok and [a.ok for a in outcome.attempts] == [False, True] and len(backend.requests) == 2
    assert outcome.dockerfile.splitlines()[1] == "RUN echo kept > /app/kept.txt" and "took `no-such-pkg-xyz`" in outcome.attempts[1].repair
    # other lines changed, the failed instruction kept as it was (a real run: three builds failed on one apt package)
    reworded = "FROM termigen/base:bookworm\nENV LANG=C.UTF-8\n" + broken.split("\n", 1)[1]
    backend = ScriptedBackend([f"```dockerfile\n{broken}```", f"```dockerfile\n{reworded}```"])
    outcome = await build_until_ok(LLM(backend), SPEC, [PlannedFile(path="data.txt", purpose="input")], files, tmp_path / "jobs2")
    assert outcome.ok and outcome.dockerfile.startswith("FROM termigen/base:bookworm\nENV LANG=C.UTF-8\nRUN echo kept > /app/kept.txt\n")
    repair_prompt = backend.requests[1].messages[-1].content  # the agent was told which instruction failed, and why
    # the failed instruction rewritten, the package still in it (a real run: three builds failed on one pip package)
    rewritten = broken.replace("echo kept > /app/kept.txt && pip install --no-index", "echo kept > /app/kept.txt && pip install -q --no-index")
    backend = ScriptedBackend([f"```dockerfile\n{broken}```", f"```dockerfile\n{rewritten}```"])
    outcome = await build_until_ok(LLM(backend), SPEC, [PlannedFile(path="data.txt", purpose="input")], files, tmp_path / "jobs3")
    assert outcome.ok and outcome.dockerfile.splitlines()[1] == "RUN echo kept > /app/kept.txt" and "out of the lines that still install it" in outcome.attempts[1].repair
    assert "The instruction `RUN echo kept > /app/kept.txt && pip install --no-index no-such-pkg-xyz` failed with exit code 1" in repair_prompt


async def test_a_run_that_failed_in_two_builds_running_is_taken_out_though_other_lines_changed(docker_engine, tmp_path):
    # run S: `cmake . && make` of the program the task asks to build, with no CMakeLists.txt, kept through four builds while other lines changed
    def dockerfile(env: str) -> str:
        return f"```dockerfile\nFROM termigen/base:bookworm\nENV STEP={env}\nCOPY data.txt /app/data.txt\nRUN cd /app && make\n```"

    backend = ScriptedBackend([dockerfile("one").replace("cd /app && ", ""), dockerfile("two"), dockerfile("three")])  # reworded, the same error
    files = {"data.txt": BundleFile.text("a\n")}
    outcome = await build_until_ok(LLM(backend), SPEC, [PlannedFile(path="data.txt", purpose="input")], files, tmp_path / "jobs")
    assert outcome.ok and [a.ok for a in outcome.attempts] == [False, False, True] and len(backend.requests) == 3
    assert outcome.dockerfile == "FROM termigen/base:bookworm\nENV STEP=three\nCOPY data.txt /app/data.txt\n"
    assert outcome.attempts[1].repair is None and "took out `RUN cd /app && make`, which failed" in outcome.attempts[2].repair


async def test_an_environment_agent_that_never_writes_a_usable_repair_stops_the_build_with_its_attempts_kept(docker_engine, tmp_path):
    downloads = "```dockerfile\nFROM termigen/base:bookworm\nADD http://example.com/x.tgz /\n```"  # refused unbuilt, every time
    backend = ScriptedBackend(["```dockerfile\nFROM termigen/base:bookworm\nRUN exit 7\n```"] + [downloads] * 3)
    outcome = await build_until_ok(LLM(backend), SPEC, [], {}, tmp_path / "jobs")
    assert not outcome.ok and len(outcome.attempts) == 1 and "exit code: 7" in outcome.attempts[0].error
    assert outcome.reason.startswith("the Environment agent wrote no usable Dockerfile") and "ADD <url>" in outcome.reason
