"""The gate on the real engine, driven by scripted roles: weak tests are caught by the no-op agent
and by a lazy solution that read them, and are strengthened; a wrong independent solution is
found wrong by the Judge and rewritten while correct tests are kept; an errored trial is an error,
not a 0; tests the Judge never approves reject the task before any trial."""

import asyncio
import json
import re
import subprocess
import sys

import pytest

from termigen_harbor.bundle import BundleFile
from termigen_harbor.llm import LLM, ChatRequest, ScriptedBackend, StructuredOutputError
from termigen_harbor.synthesis.checks import collect_problem, python_run_by_bash, unnamed_files
from termigen_harbor.synthesis.image_packages import KNOWN_VERSIONS, Installs, debian_packages, frozen_versions, image_installs, pip_pinned, pypi_releases, third_party_imports, unpinned_pip, with_installs
from termigen_harbor.synthesis.python_source import compiles, copied_values, outputless_tests, output_writers, stray_statements, unknown_fixtures
from termigen_harbor.synthesis import reference_run
from termigen_harbor.synthesis.reference_run import TestCrash, TestsRun, asserted_failures, crashed_tests, failed_tests, parse_run
from termigen_harbor.synthesis.spec import TaskSpec
from termigen_harbor.synthesis.shell_fixes import inline_python_dedented, inline_python_imported, one_line_python_split
from termigen_harbor.images import BASE_IMAGE
from termigen_harbor.synthesis.verify import EMPTY_OUTPUTS_IDEA, STANDARD_TEST_SH, verifier_skeleton, GateResult, Problem, VerifyProgress, _Verification, input_only_tests, alternative_solution, empty_outputs_attack, generate_tests, lazy_solutions, python_only, solution_run, verify_task, write_solution
from termigen_harbor.testing import ALTERNATIVE, LINES_NOT_WORDS, REFERENCE, STRONG, WEAK, fenced

SPEC = TaskSpec(title="count-words", objective="Write the number of words in /app/input.txt to /app/count.txt.", inputs=["/app/input.txt"],
                outputs=["/app/count.txt"], success_criteria=["count.txt exists", "it holds the word count", "input.txt is unchanged"], difficulty="easy")  # fmt: skip
FILES = {"input.txt": BundleFile.text("a b c\nd e\n")}
DOCKERFILE = "FROM termigen/base:bookworm\nCOPY input.txt /app/input.txt\n"
CONFIG = {"agent": {"timeout_sec": 120}, "verifier": {"timeout_sec": 120}}
class Model:
    """Scripted roles, told apart by their prompts; each role's replies are consumed in order."""

    def __init__(self, tests=(WEAK, STRONG), alternatives=(ALTERNATIVE,), verdicts=(), judge=None, solutions=(REFERENCE,)):
        self.tests, self.alternatives, self.verdicts, self.solutions = list(tests), list(alternatives), list(verdicts), list(solutions)
        self.judge = judge or (lambda tests: {"approve": True, "problems": []})
        self.prompts: dict[str, list[str]] = {}

    def __call__(self, request: ChatRequest) -> str:
        prompt = request.messages[0].content  # a repair request follows the role's own prompt
        role = next(r for key, r in [
            ("You settle a disagreement", "gate_judge"), ("You write the verifier", "tests"), ("You review the tests", "judge"), ("reference solution", "solution"),
            ("You attack a terminal task's verifier", "lazy"), ("solve a terminal task independently", "alternative")] if key in prompt)  # fmt: skip
        self.prompts.setdefault(role, []).append(prompt)
        if role == "tests":
            return fenced(self.tests.pop(0) if len(self.tests) > 1 else self.tests[0], "python")
        if role == "judge":
            return json.dumps(self.judge(prompt))
        if role == "solution":
            return fenced(self.solutions.pop(0) if len(self.solutions) > 1 else self.solutions[0], "bash")
        if role == "lazy":
            return "Idea: hard-code the count the tests read\n```bash\n#!/bin/bash\necho 3 > /app/count.txt\n```\n"
        if role == "alternative":
            return fenced(self.alternatives.pop(0), "bash")
        return json.dumps(self.verdicts.pop(0))


async def test_a_judge_that_never_approves_rejects_the_task_before_any_trial(tmp_path):
    model = Model(tests=[WEAK] * 3, judge=lambda _p: {"approve": False, "problems": ["nothing checks count.txt"]})
    outcome = await verify_task(LLM(ScriptedBackend(model)), SPEC, FILES, DOCKERFILE, CONFIG, tmp_path / "jobs", k_lazy=1, collect=None, reference_run=None)
    assert not outcome.accepted and not outcome.rounds and not (tmp_path / "jobs").exists()
    assert outcome.reason == "the tests were never approved (judge): nothing checks count.txt"
    assert len(outcome.test_rounds) == 3 and "nothing checks count.txt" in model.prompts["tests"][1]


def test_the_test_generator_starts_from_a_skeleton_with_the_tasks_own_paths():
    spec = SPEC.model_copy(update={"inputs": ["/app/input.txt: the text", "/app/2024-data.csv"], "outputs": ["/app/count.txt: the count", "/app/input.txt: fixed"]})
    assert verifier_skeleton(spec) == (
        'import csv\nimport json\nfrom pathlib import Path\n\n'
        'INPUT_TXT = Path("/app/input.txt")  # input, which the solution changes in place\nF_2024_DATA_CSV = Path("/app/2024-data.csv")  # input\n'
        'COUNT_TXT = Path("/app/count.txt")  # output the solution makes\n\n\n'
        'def test_outputs_exist():\n    assert COUNT_TXT.exists(), "/app/count.txt was not created"\n')
    assert compiles(verifier_skeleton(spec))


async def test_a_rejection_without_a_reason_is_asked_again():
    verdicts = iter([{"approve": False, "problems": []}, {"approve": True, "problems": []}])
    model = Model(tests=[STRONG], judge=lambda _p: next(verdicts))
    tests, rounds, approved, *_ = await generate_tests(LLM(ScriptedBackend(model)), SPEC, FILES, DOCKERFILE, collect=None)
    assert approved and tests == STRONG and len(model.prompts["judge"]) == 2
    assert 'Start from this skeleton' in model.prompts["tests"][0] and 'COUNT_TXT = Path("/app/count.txt")' in model.prompts["tests"][0]


async def test_a_pypi_package_the_tests_import_goes_into_the_image_and_anything_else_goes_back(tmp_path):
    # as in a real run: tests for a CSV-to-Parquet task imported pandas, which the image lacked, three rounds running
    def collect(files, dockerfile, tests):
        wanted = [m for m in ("tabulate", "wordlib") if f"import {m}" in tests and m not in dockerfile]
        return f"pytest cannot collect the tests:\nE   ModuleNotFoundError: No module named '{wanted[0]}'" if wanted else None

    uses_tabulate = "import tabulate\n" + STRONG
    model = Model(tests=[uses_tabulate])
    written = await generate_tests(LLM(ScriptedBackend(model)), SPEC, FILES, DOCKERFILE, collect=collect)
    assert written.approved and written.tests == uses_tabulate and len(written.rounds) == 1 and len(model.prompts["tests"]) == 1
    assert written.dockerfile == DOCKERFILE + "RUN pip install --no-cache-dir tabulate==0.9.0\n"
    # a module of no known release goes back to the Test Generator, the Dockerfile untouched
    model = Model(tests=["import wordlib\n" + STRONG, STRONG])
    written = await generate_tests(LLM(ScriptedBackend(model)), SPEC, FILES, DOCKERFILE, collect=collect)
    assert written.approved and written.dockerfile == DOCKERFILE and written.rounds[0].by == "pytest" and "No module named 'wordlib'" in model.prompts["tests"][1]
    assert pypi_releases("ModuleNotFoundError: No module named 'yaml.constructor'\nModuleNotFoundError: No module named 'pandas'") == ["PyYAML==6.0.2", "pandas==2.2.3"]
    assert third_party_imports("import os\nfrom yaml import safe_load\ndef test_x():\n    import pandas.io, solver\n    from . import y\n") == ["yaml", "pandas"]
    assert pypi_releases("ModuleNotFoundError: No module named 'pandas'\nModuleNotFoundError: No module named 'solver'") == []  # the task's own module: the tests must change
    assert pypi_releases("ERROR: Could not find a version that satisfies the requirement pandas (from versions: none)\nERROR: No matching distribution found for pandas") == ["pandas==2.2.3"]  # pip, offline
    # an install that does not build leaves the Dockerfile as it was and the tests go back
    def pip_fails(files, dockerfile, tests):
        return "the environment's image did not build: ERROR: No matching distribution" if "pip install" in dockerfile else collect(files, dockerfile, tests)

    model = Model(tests=[uses_tabulate, STRONG])
    written = await generate_tests(LLM(ScriptedBackend(model)), SPEC, FILES, DOCKERFILE, collect=pip_fails)
    assert written.approved and written.dockerfile == DOCKERFILE and written.rounds[0].by == "pytest" and "No module named 'tabulate'" in model.prompts["tests"][1]
    # the verification keeps the new Dockerfile: the bundle and the outcome carry it
    model = Model(tests=[uses_tabulate] * 3, judge=lambda _p: {"approve": False, "problems": ["nothing checks count.txt"]})
    outcome = await verify_task(LLM(ScriptedBackend(model)), SPEC, FILES, DOCKERFILE, CONFIG, tmp_path / "jobs", k_lazy=0, collect=collect, reference_run=None)
    assert not outcome.accepted and outcome.dockerfile == DOCKERFILE + "RUN pip install --no-cache-dir tabulate==0.9.0\n"
    assert "RUN pip install --no-cache-dir tabulate==0.9.0" in model.prompts["tests"][1]  # the next round is shown the image as built


async def test_tests_that_keep_reading_an_undefined_value_lose_those_checks_after_the_last_reply_and_the_judge_sees_the_rest():
    # as the 1.5B model wrote them in a real run, three times after being shown the line
    reads_undefined = STRONG + "\n\ndef test_repaired():\n    assert Path('/app/count.txt').read_bytes() != corrupted_input.encode()\n"
    model = Model(tests=[reads_undefined] * 3)
    tests, rounds, approved, *_ = await generate_tests(LLM(ScriptedBackend(model)), SPEC, FILES, DOCKERFILE, collect=None)
    assert approved and tests == STRONG + "\n\n" and len(model.prompts["tests"]) == 3 and len(rounds) == 1  # three replies, the last mended
    assert STRONG in model.prompts["judge"][0] and "corrupted_input" not in model.prompts["judge"][0]


async def test_tests_that_demand_a_file_nothing_names_go_back_and_lose_that_check_after_the_last_reply():
    # as the 1.5B model wrote them in a real run: a solver script the task never asks for
    demands = STRONG + "\n\ndef test_solver_exists():\n    assert Path('/app/solve_maze.py').is_file(), '/app/solve_maze.py is missing'\n"
    model = Model(tests=[demands] * 3)
    backend = ScriptedBackend(model)
    tests, rounds, approved, *_ = await generate_tests(LLM(backend), SPEC, FILES, DOCKERFILE, collect=None)
    assert approved and tests == STRONG + "\n\n" and len(model.prompts["tests"]) == 3
    told = backend.requests[1].messages[-1].content
    assert "test_outputs.py checks `/app/solve_maze.py`, which neither the task nor its environment names" in told
    assert "- `/app/solve_maze.py` in: assert Path('/app/solve_maze.py').is_file()" in told
    # and again, the path held in a module-level constant under a docstring that names it (the maze example's style)
    constant = '"""Tests for /app/solve_maze.py: a solver."""\nSOLVER = Path("/app/solve_maze.py")\n' + STRONG + "\n\ndef test_solver_exists():\n    assert SOLVER.is_file()\n"
    backend = ScriptedBackend(Model(tests=[constant] * 3))
    tests, _rounds, approved, *_ = await generate_tests(LLM(backend), SPEC, FILES, DOCKERFILE, collect=None)
    assert approved and tests == '"""Tests for /app/solve_maze.py: a solver."""\n' + STRONG + "\n\n"
    assert '- `/app/solve_maze.py` in: SOLVER = Path("/app/solve_maze.py")' in backend.requests[1].messages[-1].content  # the line that checks it
    named = SPEC.as_text() + "/app/data/orders.csv\nCOPY gen.sh /opt/tools/gen.sh"
    assert unnamed_files("Path('/app/count.txt'); '/app/data/orders.csv'; \"/opt/x.py\"; '/app/solve.py'; '/app/out/a.json'", named) == ["/app/solve.py", "/app/out/a.json"]
    assert unnamed_files("open('/app/data/other.csv')", named) == []  # in a folder the task names


async def test_checks_dedented_out_of_their_test_go_back_with_their_lines_and_are_dropped_after_the_last_reply():
    # as the 1.5B model wrote them in a real run: a test's last checks dedented to module level
    dedented = '"""Checks."""\nimport pytest\n' + STRONG + "\ndef test_report():\n    output = ''\nif not output:\n    pytest.fail('empty')\nassert True\n"
    backend = ScriptedBackend(Model(tests=[dedented] * 3))
    tests, _rounds, approved, *_ = await generate_tests(LLM(backend), SPEC, FILES, DOCKERFILE, collect=None)
    told = backend.requests[1].messages[-1].content
    assert "runs these lines when pytest imports it, outside every test function" in told and "- line 13: if not output:" in told and "- line 15: assert True" in told
    assert approved and "pytest.fail" not in tests and "assert True" not in tests and tests.startswith('"""Checks."""\nimport pytest\n' + STRONG)
    assert stray_statements('"""Doc."""\nimport os\nX = 1\nif __name__ == "__main__":\n    pass\ntry:\n    import numpy\nexcept ImportError:\n    numpy = None\n') == []


async def test_a_module_level_value_that_crashes_the_collection_is_dropped_after_the_last_reply_with_the_tests_reading_it():
    # run O: `expected_sum = compute_sum([...])` at the top of the file failed pytest's collection in all three rounds
    crashing = STRONG + "\n\nexpected = int('1,2,3')\n\n\ndef test_total():\n    assert Path('/app/count.txt').read_text().strip() == str(expected)\n"

    def collect(files, dockerfile, tests):
        line = next((n for n, text in enumerate(tests.splitlines(), 1) if text.startswith("expected = ")), None)
        return f"/tests/test_outputs.py:{line}: in <module>\n    expected = int('1,2,3')\nE   ValueError: invalid literal" if line else None

    model = Model(tests=[crashing])
    written = await generate_tests(LLM(ScriptedBackend(model)), SPEC, FILES, DOCKERFILE, collect=collect, max_rounds=2)
    assert written.approved and written.tests == STRONG + "\n\n" and [r.by for r in written.rounds] == ["pytest", "judge"]
    assert "def test_total" not in model.prompts["judge"][0] and "def test_count" in model.prompts["judge"][0]  # the judge sees the rest


async def test_tests_taking_an_argument_no_fixture_provides_go_back_and_are_dropped_after_the_last_reply():
    # as the 1.5B model wrote them in a real run: pytest collected them, then every trial errored on setup
    unprovided = STRONG + "\n\ndef test_output_structure(output_path):\n    assert open(output_path).read()\n"
    backend = ScriptedBackend(Model(tests=[unprovided] * 3))
    tests, _rounds, approved, *_ = await generate_tests(LLM(backend), SPEC, FILES, DOCKERFILE, collect=None)
    told = backend.requests[1].messages[-1].content
    assert "tests that take an argument no fixture provides" in told and "- `test_output_structure` takes `output_path`" in told
    assert approved and "output_path" not in tests
    provided = ("import pytest\n\n@pytest.fixture\ndef output_path():\n    return '/app/count.txt'\n\n"
                "@pytest.mark.parametrize('name, size', [('a', 1)])\ndef test_a(output_path, name, size, tmp_path):\n    pass\n\n"
                "class TestB:\n    def test_b(self, monkeypatch, missing):\n        pass\n")
    assert unknown_fixtures(provided) == {"test_b": ["missing"]}


async def test_tests_that_write_the_output_they_check_go_back_and_are_dropped_after_the_last_reply():
    # as the 1.5B model wrote them in run N (and the Judge approved them): the test made the output itself, then compared it with itself
    own = (STRONG + "\n\ndef test_total():\n    total = len(open('/app/input.txt').read().split())\n"
           "    with open('/app/count.txt', 'w') as f:\n        f.write(str(total))\n    assert open('/app/count.txt').read() == str(total)\n")
    backend = ScriptedBackend(Model(tests=[own] * 3))
    tests, _rounds, approved, *_ = await generate_tests(LLM(backend), SPEC, FILES, DOCKERFILE, collect=None)
    told = backend.requests[1].messages[-1].content
    assert "tests that write an output the agent's solution must make" in told and "- `test_total` writes `/app/count.txt`" in told
    assert approved and "def test_total" not in tests and tests.startswith(STRONG)
    # an output the solution changes in place is one too (run Q: a config test rewrote /app/config.txt)
    in_place = SPEC.model_copy(update={"inputs": ["/app/input.txt", "/app/count.txt"]})
    tests, _rounds, approved, *_ = await generate_tests(LLM(ScriptedBackend(Model(tests=[own] * 3))), in_place, FILES, DOCKERFILE, collect=None)
    assert approved and "def test_total" not in tests
    reading = "from pathlib import Path\n\ndef test_a():\n    assert open('/app/count.txt').read()\n    open('/tmp/x', 'w').write('1')\n    open('/app/count.txt', mode='rb')\n"
    assert output_writers(reading, ["/app/count.txt"]) == {}  # reading it, or writing elsewhere, is fine
    assert output_writers("from pathlib import Path\n\nclass TestB:\n    def test_b(self):\n        Path('/app/count.txt').write_text('5')\n", ["/app/count.txt"]) == {"test_b": ["/app/count.txt"]}
    # run O: through a helper of the file that writes the path it is given, three replies
    helper = ("def save(rows, path):\n    with open(path, 'w') as f:\n        f.write(rows)\n\n"
              "def test_a():\n    save('1', '/app/count.txt')\n\ndef test_b():\n    save(path='/app/count.txt', rows='1')\n\ndef test_c():\n    save('1', '/tmp/x')\n")  # fmt: skip
    assert output_writers(helper, ["/app/count.txt"]) == {"test_a": ["/app/count.txt"], "test_b": ["/app/count.txt"]}


async def test_tests_that_compare_with_a_number_copied_from_the_references_run_go_back_and_are_dropped_after_the_last_reply():
    # run R: the sum tests held `expected_value = 550`, the reference's output, which a script writing 550 passes without reading the input
    copied = STRONG + "\n\ndef test_total():\n    expected_value = 12\n    assert int(open('/app/count.txt').read()) == expected_value\n"
    observed = "solve.sh exited with code 0. The end of what it printed:\n    (nothing)\n--- /app/count.txt\n12"
    backend = ScriptedBackend(Model(tests=[copied] * 3))
    tests, _rounds, approved, *_ = await generate_tests(LLM(backend), SPEC, FILES, DOCKERFILE, collect=None, observed=observed)
    told = backend.requests[1].messages[-1].content
    assert "compare with a value copied from the reference solution's run" in told and "- `test_total` holds 12" in told
    assert approved and "def test_total" not in tests and tests.startswith(STRONG)
    # a number the task or its files hold, or a small count, is the task's own
    own = {**FILES, "input.txt": BundleFile.text("12 apples\n")}
    assert copied_values(copied, observed, "\n".join(f.content.decode() for f in own.values())) == {}
    assert copied_values(copied.replace("12", "3"), observed.replace("12", "3"), "") == {}
    assert copied_values(copied, observed, "") == {"test_total": ["12"]}


EXISTS_ONLY = "from pathlib import Path\n\ndef test_count_exists():\n    assert Path('/app/count.txt').exists()\n"  # fails the no-op, not a lazy solution


# as the 1.5B model wrote them in run N: its own helper read a CSV line by line and raised on every solution
CRASHES = STRONG + "\n\ndef test_total():\n    total = sum(float(line) for line in open('/app/input.txt'))\n    assert total > 0\n"


def test_a_test_that_crashes_in_its_own_code_is_told_apart_from_one_that_fails_an_assert(tmp_path):
    (tmp_path / "test_x.py").write_text(
        "import pytest\n\n"
        "def test_assert():\n    assert 1 == 2\n\ndef test_message():\n    assert 1 == 2, 'expected one'\n\n"
        "def test_fail():\n    pytest.fail('nope')\n\ndef test_parse():\n    float('10.5,23.4')\n\n"
        "@pytest.fixture\ndef data():\n    raise OSError('no data')\n\ndef test_setup(data):\n    pass\n\ndef test_fine():\n    pass\n\n"
        "@pytest.mark.parametrize('n', ['1', 'x', 'y'])\ndef test_each(n):\n    int(n)\n")  # fmt: skip
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--tb=short", "--junitxml", str(tmp_path / "j.xml"), str(tmp_path / "test_x.py")],
                   capture_output=True, cwd=tmp_path)  # fmt: skip
    crashed = crashed_tests((tmp_path / "j.xml").read_text())
    assert [(c.test, c.error) for c in crashed] == [("test_parse", "ValueError: could not convert string to float: '10.5,23.4'"),
                                                    ("test_setup", 'failed on setup with "OSError: no data"'),
                                                    ("test_each", "ValueError: invalid literal for int() with base 10: 'x'")]  # a parametrized test is one test  # fmt: skip
    assert "float('10.5,23.4')" in crashed[0].traceback
    assert crashed_tests("") == [] and crashed_tests("<testsuites/>") == []  # no report: no verdict


async def test_tests_that_crash_after_the_reference_go_back_with_the_traceback_and_are_dropped_after_the_last_reply():
    seen = []

    def crashes(dockerfile, tests):
        seen.append(tests)
        crashed = [TestCrash("test_total", "ValueError: could not convert string to float: 'a b c'", "E   ValueError: could not convert")] if "def test_total" in tests else []
        return TestsRun(crashed, [], {"test_count"})

    backend = ScriptedBackend(Model(tests=[CRASHES, STRONG]))
    written = await generate_tests(LLM(backend), SPEC, FILES, DOCKERFILE, collect=None, run_tests=crashes)
    told = backend.requests[1].messages[-1].content
    assert "tests crashed in their own code after the reference solution ran cleanly and left every output: `test_total` raised ValueError: could not convert string to float: 'a b c'\n" in told
    assert "fail only through `assert` with a message" in told and "- `test_total`:\n    E   ValueError" in told
    assert written.approved and written.tests == STRONG and [r.by for r in written.rounds] == ["pytest", "judge"] and seen == [CRASHES, STRONG]
    backend = ScriptedBackend(Model(tests=[CRASHES, CRASHES, STRONG]))  # run O: the same tests sent back unchanged are asked for once more
    written = await generate_tests(LLM(backend), SPEC, FILES, DOCKERFILE, collect=None, run_tests=crashes, max_rounds=2)
    assert written.approved and written.tests == STRONG and "Your reply is the previous tests, unchanged" in backend.requests[2].messages[-1].content
    main = CRASHES + '\n\nif __name__ == "__main__":\n    test_count()\n    test_total()\n'  # run O: a main block calling every test
    written = await generate_tests(LLM(ScriptedBackend(Model(tests=[main]))), SPEC, FILES, DOCKERFILE, collect=None, run_tests=crashes, max_rounds=1)
    assert written.approved and "def test_total" not in written.tests and "__main__" not in written.tests and written.tests.startswith(STRONG)
    backend = ScriptedBackend(model := Model(tests=[CRASHES]))
    written = await generate_tests(LLM(backend), SPEC, FILES, DOCKERFILE, collect=None, run_tests=crashes, max_rounds=1)
    assert written.approved and written.tests.startswith(STRONG) and "def test_total" not in written.tests
    assert "def test_total" not in model.prompts["judge"][0] and "def test_count" in model.prompts["judge"][0]


async def test_tests_that_crash_on_a_column_the_input_lacks_are_told_the_inputs_real_columns():
    def crashes(dockerfile, tests):
        return TestsRun([TestCrash("test_total", "KeyError: 'stock'", "E   KeyError: 'stock'")] if "def test_total" in tests else [], [], {"test_count"})

    files = {**FILES, "stock.csv": BundleFile.text("product_id,stock_level\n1,50\n")}
    backend = ScriptedBackend(Model(tests=[CRASHES, STRONG]))
    written = await generate_tests(LLM(backend), SPEC, files, DOCKERFILE, collect=None, run_tests=crashes)
    assert written.approved and "`stock` is no column or key of any input. What the inputs really have (use these names): `stock.csv`: product_id, stock_level" \
        in backend.requests[1].messages[-1].content


NOP_FAILS = {"test_count"}  # what STRONG fails in the untouched image: count.txt is not there yet


async def test_tests_that_pass_in_the_untouched_image_go_back_before_the_judge_reads_them():
    ran = iter([TestsRun([], [], set()), TestsRun([], [], NOP_FAILS)])  # WEAK passes with nothing done
    model = Model(tests=[WEAK, STRONG])
    written = await generate_tests(LLM(ScriptedBackend(model)), SPEC, FILES, DOCKERFILE, collect=None, run_tests=lambda _d, _t: next(ran))
    assert written.approved and written.tests == STRONG and [r.by for r in written.rounds] == ["pytest", "judge"]
    assert "every test passes in the task's untouched image, before any solution ran" in model.prompts["tests"][1] and len(model.prompts["judge"]) == 1
    model = Model(tests=[WEAK])  # in the last round too: no test left that the no-op fails, so nothing to keep
    written = await generate_tests(LLM(ScriptedBackend(model)), SPEC, FILES, DOCKERFILE, collect=None, run_tests=lambda _d, _t: TestsRun([], [], set()), max_rounds=1)
    assert not written.approved and written.rounds[-1].problems[0].startswith("every test passes in the task's untouched image") and "judge" not in model.prompts


ASKS_MORE = STRONG + "\n\ndef test_report():\n    assert Path('/app/count.txt').read_text() == '5 words\\n', 'count.txt must say 5 words'\n"
SAYS_5_WORDS = TestCrash("test_report", "AssertionError: count.txt must say 5 words", "E   AssertionError: count.txt must say 5 words")


async def test_a_test_the_reference_fails_by_an_assert_goes_to_the_judge_with_pytests_report_before_the_gate():
    ran = lambda _d, tests: TestsRun([], [SAYS_5_WORDS] if "def test_report" in tests else [], NOP_FAILS)  # noqa: E731
    blame_tests = {"wrong": "tests", "reason": "test_report wants '5 words', and the task asks for the number alone"}
    model = Model(tests=[ASKS_MORE, STRONG], verdicts=[blame_tests])
    written = await generate_tests(LLM(ScriptedBackend(model)), SPEC, FILES, DOCKERFILE, collect=None, run_tests=ran, reference=REFERENCE)
    judged = model.prompts["gate_judge"][0]
    assert "The reference solution, whose outputs the tests were written against, fails them." in judged and "wc -w" in judged
    assert "then failed `test_report`: AssertionError: count.txt must say 5 words" in judged and "E   AssertionError" in judged
    assert "a judge found the tests at fault: test_report wants '5 words'" in model.prompts["tests"][1]
    assert written.approved and written.tests == STRONG and [r.by for r in written.rounds] == ["judge", "judge"] and written.reference_fault is None
    assert [(d.solution, d.verdict.wrong) for d in written.disputes] == [("reference", "tests")]  # the call goes into the outcome's disputes
    # the judge blames the reference: the tests stand, and the finding comes back for the reference's rewrite
    model = Model(tests=[ASKS_MORE], verdicts=[{"wrong": "solution", "reason": "the task asks for '5 words'"}])
    written = await generate_tests(LLM(ScriptedBackend(model)), SPEC, FILES, DOCKERFILE, collect=None, run_tests=ran, reference=REFERENCE)
    assert written.approved and written.tests == ASKS_MORE and len(written.rounds) == 1
    assert written.reference_fault.startswith("a judge found the reference at fault: the task asks for '5 words'\nEvidence: the reference solution ran cleanly")
    assert [(d.solution, d.verdict.wrong) for d in written.disputes] == [("reference", "solution")]
    # in the last round, the tests found at fault are dropped while one the untouched image fails remains
    model = Model(tests=[ASKS_MORE], verdicts=[blame_tests])
    written = await generate_tests(LLM(ScriptedBackend(model)), SPEC, FILES, DOCKERFILE, collect=None, run_tests=ran, reference=REFERENCE, max_rounds=1)
    assert written.approved and written.tests.startswith(STRONG) and "def test_report" not in written.tests
    nop_fails_only_report = lambda _d, tests: TestsRun([], [SAYS_5_WORDS], {"test_report"})  # noqa: E731
    model = Model(tests=[ASKS_MORE], verdicts=[blame_tests])
    written = await generate_tests(LLM(ScriptedBackend(model)), SPEC, FILES, DOCKERFILE, collect=None, run_tests=nop_fails_only_report, reference=REFERENCE, max_rounds=1)
    assert not written.approved and written.rounds[-1].by == "judge" and "judge" not in model.prompts


async def test_a_test_the_reference_fails_is_run_after_the_independent_solution_which_decides_without_a_judge():
    ran = lambda _d, tests: TestsRun([], [SAYS_5_WORDS] if "def test_report" in tests else [], NOP_FAILS)  # noqa: E731
    # run P: tests that summed one column failed a reference that summed them all, and so would the independent solution
    model = Model(tests=[ASKS_MORE, STRONG])  # no verdict scripted: a Judge asked would fail the test
    written = await generate_tests(LLM(ScriptedBackend(model)), SPEC, FILES, DOCKERFILE, collect=None, run_tests=ran, reference=REFERENCE, run_alternative=ran)
    assert "gate_judge" not in model.prompts and written.approved and written.tests == STRONG
    told = model.prompts["tests"][1]
    assert "the reference solution and a solution written independently from the specification both fail `test_report`: the tests expect what neither makes" in told
    assert "AssertionError: count.txt must say 5 words" in told
    # in the last round that test is dropped, and the console says who found it wrong: the two solutions, not a judge
    said, model = [], Model(tests=[ASKS_MORE])
    written = await generate_tests(LLM(ScriptedBackend(model)), SPEC, FILES, DOCKERFILE, collect=None, run_tests=ran, reference=REFERENCE, run_alternative=ran,
                                   max_rounds=1, say=said.append)  # fmt: skip
    assert written.approved and written.tests.startswith(STRONG) and "def test_report" not in written.tests
    assert "tests, round 1: dropped test_report, which the reference and the independent solution both fail" in said
    # the independent solution passes what the reference fails: the reference is at fault, and the tests stand
    passes = lambda _d, _t: TestsRun([], [], NOP_FAILS)  # noqa: E731
    model = Model(tests=[ASKS_MORE])
    written = await generate_tests(LLM(ScriptedBackend(model)), SPEC, FILES, DOCKERFILE, collect=None, run_tests=ran, reference=REFERENCE, run_alternative=passes)
    assert "gate_judge" not in model.prompts and written.approved and written.tests == ASKS_MORE
    assert written.reference_fault.startswith("a solution written independently from the specification passes `test_report`, which the reference fails\nEvidence:")


async def test_in_the_last_round_what_is_left_once_the_crashing_tests_are_dropped_is_checked_on_the_reference_too():
    # run Q: the crashing test was dropped, and two tests the reference failed (one `assert False`) went to the Judge, which approved them
    crashes = ASKS_MORE + "\n\ndef test_parse():\n    int('x')\n"
    parse_crash = TestCrash("test_parse", "ValueError: invalid literal for int()", "E   ValueError")

    def ran(nop_failed):
        return lambda _d, tests: TestsRun([parse_crash] if "def test_parse" in tests else [], [SAYS_5_WORDS] if "def test_report" in tests else [], nop_failed)

    said, model = [], Model(tests=[crashes])
    written = await generate_tests(LLM(ScriptedBackend(model)), SPEC, FILES, DOCKERFILE, collect=None, run_tests=ran(NOP_FAILS | {"test_parse", "test_report"}),
                                   reference=REFERENCE, run_alternative=ran(set()), max_rounds=1, say=said.append)  # fmt: skip
    assert written.approved and written.tests.startswith(STRONG) and "def test_report" not in written.tests and "def test_parse" not in written.tests
    assert ("tests, round 1: dropped test_parse, which crashed on the reference's outputs; "
            "test_report, which the reference and the independent solution both fail") in said
    # with no test left that fails the untouched image once they are dropped, the tests go back unapproved, and no Judge reads them
    model = Model(tests=[crashes])
    written = await generate_tests(LLM(ScriptedBackend(model)), SPEC, FILES, DOCKERFILE, collect=None, run_tests=ran({"test_parse", "test_report"}),
                                   reference=REFERENCE, run_alternative=ran(set()), max_rounds=1)  # fmt: skip
    assert not written.approved and "both fail `test_report`" in written.rounds[-1].problems[0] and "judge" not in model.prompts


async def test_a_test_that_reads_only_the_input_and_fails_the_untouched_image_goes_back_with_no_judge_asked():
    # run Q: `assert total == 55` on the input's own first column, a test no solution passes; a Judge blamed the reference
    sums_input = STRONG + "\n\ndef test_total():\n    assert sum(map(len, Path('/app/input.txt').read_text().split())) == 55, 'total'\n"
    total = TestCrash("test_total", "AssertionError: total", "E   AssertionError: total")
    ran = lambda _d, tests: TestsRun([], [total] if "def test_total" in tests else [], NOP_FAILS | ({"test_total"} if "def test_total" in tests else set()))  # noqa: E731
    model = Model(tests=[sums_input, STRONG])  # no verdict scripted: a Judge asked would fail the test
    written = await generate_tests(LLM(ScriptedBackend(model)), SPEC, FILES, DOCKERFILE, collect=None, run_tests=ran, reference=REFERENCE)
    assert "gate_judge" not in model.prompts and written.approved and written.tests == STRONG
    assert model.prompts["tests"][1].count("`test_total` read an input and none of the outputs (`/app/count.txt`), and fail in the untouched image too") == 1
    # in the last round it is dropped, and the test that reads the input beside an output stays
    said, model = [], Model(tests=[sums_input])
    written = await generate_tests(LLM(ScriptedBackend(model)), SPEC, FILES, DOCKERFILE, collect=None, run_tests=ran, reference=REFERENCE, max_rounds=1, say=said.append)
    assert written.approved and written.tests.startswith(STRONG) and "def test_total" not in written.tests
    assert "tests, round 1: dropped test_total, which read no output and fail in the untouched image" in said
    # a check that the input is left as shipped reads no output either, and passes the untouched image: it stands
    assert input_only_tests(STRONG, SPEC) == {"test_input_unchanged"}
    # an output read through a module-level value, a helper or its file name is read
    via = ("from pathlib import Path\nOUT = Path('/app/count.txt')\n\ndef read():\n    return OUT.read_text()\n\n"
           "def test_value():\n    assert read() == '5'\n\ndef test_joined():\n    assert (Path('/app') / 'count.txt').exists()\n")
    assert outputless_tests(via, ["/app/count.txt"]) == [] and outputless_tests(via, ["/app/other.txt"]) == ["test_value", "test_joined"]


async def test_a_rewrite_with_no_usable_reply_leaves_the_last_solution_standing(tmp_path):
    def run(files, dockerfile, solution, outputs):
        return parse_run(f"@@termigen-reference exit {0 if solution == REFERENCE else 1}\n@@termigen-reference output /app/count.txt\n5\n", outputs)

    model = Model(tests=[STRONG], solutions=[LINES_NOT_WORDS, "I cannot."], alternatives=[ALTERNATIVE, LINES_NOT_WORDS], judge=lambda _p: {"approve": False, "problems": ["stop here"]})
    outcome = await verify_task(LLM(ScriptedBackend(model)), SPEC, FILES, DOCKERFILE, CONFIG, tmp_path / "jobs", k_lazy=0, max_rounds=2, collect=None, reference_run=run, tests_run=None)
    assert [r.exit_code for r in outcome.reference_runs] == [1] and outcome.reason.startswith("the reference solution never ran cleanly")


def test_a_tests_run_tells_crashes_from_assert_failures_and_lists_what_the_untouched_image_fails(tmp_path):
    (tmp_path / "test_x.py").write_text("def test_ok():\n    pass\n\ndef test_bad():\n    assert 1 == 2, 'one is not two'\n\ndef test_crash():\n    int('x')\n")
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml", str(tmp_path / "j.xml"), str(tmp_path / "test_x.py")], capture_output=True, cwd=tmp_path)
    junit = (tmp_path / "j.xml").read_text()
    assert [(f.test, f.error) for f in asserted_failures(junit)] == [("test_bad", "AssertionError: one is not two")]
    assert [c.test for c in crashed_tests(junit)] == ["test_crash"] and failed_tests(junit) == {"test_bad", "test_crash"}
    assert TestsRun([], [], set()).pass_the_nop and not TestsRun([], [], set(), nop_ran=False).pass_the_nop and not TestsRun([], [], {"test_bad"}).pass_the_nop


async def test_an_adversary_with_no_attack_bash_parses_leaves_the_attack_that_needs_no_model(tmp_path):
    # as the 1.5B adversary wrote it in a real run, three times: a heredoc left open inside $(...)
    broken = "Idea: hard-code the values\n```bash\n#!/bin/bash\nLOG=$(cat <<EOF\n2023-10-05 INFO start\n```\n"
    [attack] = await lazy_solutions(LLM(ScriptedBackend([broken] * 3)), SPEC, "", STRONG, k=2)
    assert attack.idea.startswith("create every output the task names, empty") and attack.script == "#!/bin/bash\nmkdir -p /app && : > /app/count.txt\n"
    # outputs as specs write them, with what each holds after the path (the attack once created a file named `/app/count.txt: the word count`)
    described = SPEC.model_copy(update={"outputs": ["/app/count.txt: the word count.", "/app/reports/: one file per day", "a summary on port 8080"]})
    assert empty_outputs_attack(described).script == "#!/bin/bash\nmkdir -p /app && : > /app/count.txt\nmkdir -p /app/reports/\n"
    assert await lazy_solutions(LLM(ScriptedBackend([broken] * 3)), SPEC, "", STRONG, k=2, known=[attack.idea]) == []  # not twice
    parsed = await lazy_solutions(LLM(ScriptedBackend(["Idea: hard-code 5\n```bash\n#!/bin/bash\necho 5 > /app/count.txt\n```\n"])), SPEC, "", STRONG, k=2)
    assert [a.idea for a in parsed] == ["hard-code 5", EMPTY_OUTPUTS_IDEA]  # run P: existence-only tests passed the Judge; the empty outputs always attack them
    proc = await asyncio.create_subprocess_exec("bash", "-c", attack.script.replace("/app", str(tmp_path)))
    assert await proc.wait() == 0 and (tmp_path / "count.txt").read_text() == ""


async def test_a_revision_that_is_the_failed_script_unchanged_is_asked_once_more_told_so():
    # as the 1.5B reference writer did in a real run: the same failing script in all three gate rounds
    failed = "#!/bin/bash\ncp ./generator.sh /app/generator.sh\npython3 /app/generator.sh\n"
    backend = ScriptedBackend([fenced(failed.replace("\n", "\n\n"), "bash"), fenced(REFERENCE, "bash")])
    assert await write_solution(LLM(backend), SPEC, "", STRONG, feedback="- count.txt is missing", previous=failed) == REFERENCE
    assert "Your reply is the previous solution, unchanged" in backend.requests[1].messages[-1].content and len(backend.requests) == 2
    backend = ScriptedBackend([fenced(failed, "bash")] * 2)  # asked once more only; a first solution is never compared
    assert await alternative_solution(LLM(backend), SPEC, "", feedback="- wrong", previous=failed) == failed and len(backend.requests) == 2
    assert await write_solution(LLM(ScriptedBackend([fenced(failed, "bash")])), SPEC, "", STRONG) == failed


async def test_a_python_solution_in_a_bash_block_is_run_by_python3_and_a_broken_script_still_goes_back(tmp_path):
    # as the 1.5B model wrote a reference in a real run, three times after `bash -n` named the line
    python = '#!/bin/bash\n\n# Reconnect\ntry:\n    import pymysql\nexcept ImportError as e:\n    print(f"failed: {e}")\nEND = """\nPYTHON\n"""\n'
    mixed = '#!/bin/bash\ndf=$(pandas.read_csv("/tmp/t.txt"))\n'
    backend = ScriptedBackend([fenced(python, "bash"), fenced(mixed, "bash"), fenced(REFERENCE, "bash")])
    wrapped = await write_solution(LLM(backend), SPEC, "", STRONG)
    assert wrapped == ("#!/bin/bash\nset -e\npython3 - <<'PYTHON_END'\n\n# Reconnect\ntry:\n    import pymysql\nexcept ImportError as e:\n"
                       "    print(f\"failed: {e}\")\nEND = \"\"\"\nPYTHON\n\"\"\"\nPYTHON_END\n")  # fmt: skip
    assert await write_solution(LLM(backend), SPEC, "", STRONG) == REFERENCE and "`bash -n` rejects the script" in backend.requests[2].messages[-1].content
    assert "you may instead reply with the whole program in Python" in backend.requests[2].messages[-1].content  # the way out that compiles
    assert python_run_by_bash(REFERENCE) == REFERENCE
    # run P: a `python3 -c '` program indented as the bash around it, three references, IndentationError each time
    indented = "#!/bin/bash\nset -e\npython3 -c '\n    with open(\"/app/input.txt\") as f:\n        n = len(f.read().split())\n    print(n)\n' > /app/count.txt\n"
    written = await write_solution(LLM(ScriptedBackend([fenced(indented, "bash")])), SPEC, "", STRONG)
    assert written == "#!/bin/bash\nset -e\npython3 -c '\nwith open(\"/app/input.txt\") as f:\n    n = len(f.read().split())\nprint(n)\n' > /app/count.txt\n"
    # run P: a config repaired in place by a loop that appends to the file it reads, which never ended in 300 s, three rounds
    in_place = ('#!/bin/bash\nf=/app/input.txt\nwhile IFS= read -r line; do\n    echo "${line^^}" >> $f\ndone < $f\n')
    written = await write_solution(LLM(ScriptedBackend([fenced(in_place, "bash")])), SPEC, "", STRONG)
    assert written == '#!/bin/bash\nf=/app/input.txt\n: > "$f.new"\nwhile IFS= read -r line; do\n    echo "${line^^}" >> "$f.new"\ndone < $f\nmv "$f.new" $f\n'
    (tmp_path / "input.txt").write_text("a b\nc\n")
    proc = await asyncio.create_subprocess_exec("timeout", "10", "bash", "-c", written.replace("/app", str(tmp_path)))
    assert await proc.wait() == 0 and (tmp_path / "input.txt").read_text() == "A B\nC\n" and [p.name for p in tmp_path.iterdir()] == ["input.txt"]
    made_folder = "#!/bin/bash\nmkdir -p /app/count.txt /tmp/work\nwc -w < /app/input.txt > /app/count.txt\n"
    assert await write_solution(LLM(ScriptedBackend([fenced(made_folder, "bash")])), SPEC, "", STRONG) == "#!/bin/bash\nmkdir -p /tmp/work\nwc -w < /app/input.txt > /app/count.txt\n"
    quoted = 'x=$(python3 -c "\n    import json\n    print(json.dumps({\\"a\\": 1}))\n    ")\n'
    assert inline_python_dedented(quoted) == 'x=$(python3 -c "\nimport json\nprint(json.dumps({\\"a\\": 1}))\n")\n'
    # run Q: a one-line program with `with` after a `;` (Python refuses it), its errors sent to /dev/null, in three rounds
    one_line = "#!/bin/bash\npython3 -c \"import sys; n = len(open('/app/input.txt').read().split()); with open('/app/count.txt', 'w') as f: f.write(str(n))\" > /dev/null 2>&1\n"
    written = await write_solution(LLM(ScriptedBackend([fenced(one_line, "bash")])), SPEC, "", STRONG)
    assert written == one_line.replace("; with open", "\nwith open")
    (tmp_path / "input.txt").write_text("a b c\n")
    proc = await asyncio.create_subprocess_exec("bash", "-c", written.replace("/app", str(tmp_path)))
    assert await proc.wait() == 0 and (tmp_path / "count.txt").read_text() == "3"
    # a program that compiles, or that a split cannot mend, is left as written
    for kept in ("python3 -c 'print(\"a; for b\")'\n", "python3 -c 'import x; with open('/app/a') as f: pass'\n", "python3 -c \"for r in [1]: print(r); print(2)\"\n"):
        assert one_line_python_split(kept) == kept
    # run Q: a reference's Python heredoc used `Path` unimported, and stopped on the NameError; the import is added, in a program written to a file too
    heredocs = ("#!/bin/bash\npython3 - <<'EOF'\nn = len(Path('/app/input.txt').read_text().split())\nPath('/app/count.txt').write_text(str(n))\nEOF\n"
                "cat > /app/show.py <<EOF\nprint(json.dumps(open('/app/count.txt').read()))\nEOF\npython3 /app/show.py\n")
    written = await write_solution(LLM(ScriptedBackend([fenced(heredocs, "bash")])), SPEC, "", STRONG)
    assert written == heredocs.replace("<<'EOF'\n", "<<'EOF'\nfrom pathlib import Path\n").replace("<<EOF\n", "<<EOF\nimport json\n")
    proc = await asyncio.create_subprocess_exec("bash", "-c", written.replace("/app", str(tmp_path)), stdout=asyncio.subprocess.PIPE)
    assert (await proc.communicate())[0] == b'"3"\n' and proc.returncode == 0
    # run R: a CSV-to-JSON reference's one-line `python3 -c` program stopped on `NameError: name 'json' is not defined`
    inline = ("#!/bin/bash\npython3 -c \"import csv; rows = list(csv.DictReader(open('/app/input.csv'))); open('/app/count.txt', 'w').write(json.dumps(rows))\"\n"
              "python3 -c 'print(json.load(open(\"/app/count.txt\"))[0][\"a\"])' > /app/first.txt\n")
    written = await write_solution(LLM(ScriptedBackend([fenced(inline, "bash")])), SPEC, "", STRONG)
    assert written == inline.replace('-c "import csv', '-c "import json\nimport csv').replace("-c 'print", "-c 'import json\nprint")
    (tmp_path / "input.csv").write_text("a,b\n1,2\n")
    proc = await asyncio.create_subprocess_exec("bash", "-c", written.replace("/app", str(tmp_path)))
    assert await proc.wait() == 0 and (tmp_path / "first.txt").read_text() == "1\n"
    expanded = 'python3 -c "print(json.dumps(\\"$X\\"))"\n'  # bash rewrites `$X` and `\\"` first: left as written
    assert inline_python_imported(expanded) == expanded
    # the prompt lets a writer answer in Python, which solve.sh then runs with python3
    program = 'import json\nwith open("/app/input.txt") as f:\n    n = len(f.read().split())\nprint(json.dumps(n))\n'
    backend = ScriptedBackend([fenced(program, "python")])
    assert await write_solution(LLM(backend), SPEC, "", STRONG) == f"#!/bin/bash\nset -e\npython3 - <<'PYTHON'\n{program}PYTHON\n"
    assert "reply instead with the complete Python program in one ```python fenced code block" in backend.requests[0].messages[-1].content


async def test_tests_with_no_reply_through_the_checks_lose_a_round_not_the_task_until_the_last_round():
    # run O: three replies read an unbound name in the only test, and the task died in its first test round (that one, `tmp_dir`
    # for `temp_dir`, is now read as the close name; this one is close to nothing)
    typo = "from pathlib import Path\n\ndef test_count():\n    temp_dir = Path('/app')\n    assert (scratch / 'count.txt').read_text()\n"
    backend = ScriptedBackend(model := Model(tests=[typo, typo, typo, STRONG]))
    written = await generate_tests(LLM(backend), SPEC, FILES, DOCKERFILE, collect=None)
    assert written.approved and written.tests == STRONG and [r.by for r in written.rounds] == ["checks", "judge"]
    assert "uses `scratch`, which it never imports or defines" in written.rounds[0].problems[0] and "--- last reply ---" not in written.rounds[0].problems[0]
    assert "uses `scratch`" in model.prompts["tests"][3] and "assert (scratch / 'count.txt')" in model.prompts["tests"][3]  # the next round starts from it
    with pytest.raises(StructuredOutputError):
        await generate_tests(LLM(ScriptedBackend(Model(tests=[typo]))), SPEC, FILES, DOCKERFILE, collect=None, max_rounds=1)


async def test_a_writer_with_no_usable_reply_rejects_the_task_before_anything_after_it_is_written(tmp_path):
    model = Model(tests=[STRONG])

    def replies(request: ChatRequest) -> str:
        return "I cannot write that script." if "solve a terminal task independently" in request.messages[0].content else model(request)

    outcome = await verify_task(LLM(ScriptedBackend(replies)), SPEC, FILES, DOCKERFILE, CONFIG, tmp_path / "jobs", k_lazy=1, collect=None, reference_run=None)
    assert not outcome.accepted and outcome.reason.startswith("StructuredOutputError: scripted gave no usable reply in 3 attempts")
    assert len(model.prompts["solution"]) == 1 and "tests" not in model.prompts and outcome.test_rounds == []  # the independent solution comes before the tests


@pytest.mark.docker
async def test_weak_tests_are_beaten_by_a_lazy_solution_that_read_them_and_are_strengthened(docker_engine, tmp_path):
    model, saved = Model(tests=[WEAK, EXISTS_ONLY, STRONG]), []
    outcome = await verify_task(LLM(ScriptedBackend(model)), SPEC, FILES, DOCKERFILE, CONFIG, tmp_path / "jobs", k_lazy=1, max_rounds=2, checkpoint=saved.append)
    first, second = outcome.rounds
    # the progress saved after the repaired round: a stopped run would go on at round 2, with the new tests and every attack so far
    assert [len(p.outcome.rounds) for p in saved] == [0, 0, 0, 0, 1] and saved[-1].tests == STRONG and len(saved[-1].lazies) == 3
    reasons = " | ".join(p.reason for p in first.problems)
    # the reference is written first and run in the image; the tests are written against what it really
    # produced; the independent solution sees only the task
    assert "def test_" not in model.prompts["solution"][0] and "def test_" not in model.prompts["alternative"][0]
    assert "solve.sh exited with code 0" in model.prompts["tests"][0] and "--- /app/count.txt\n5" in model.prompts["tests"][0]
    assert outcome.reference_runs[0].outputs == {"/app/count.txt": "5"} and outcome.reference_runs[0].problem() is None
    # tests that pass in the untouched image go back before the Judge reads them, in the real image
    assert outcome.test_rounds[0].by == "pytest" and "every test passes in the task's untouched image" in model.prompts["tests"][1]
    assert "def test_count_exists" in model.prompts["lazy"][0] and "Write the number of words" in model.prompts["lazy"][0]
    # the adversary attacks the tests: it sees the input's name and size, not the words it could count by hand
    assert "--- input.txt (2 lines, 10 bytes; not shown)" in model.prompts["lazy"][0] and "a b c" not in model.prompts["lazy"][0]
    assert "a b c" in model.prompts["tests"][0] and "a b c" in model.prompts["alternative"][0]
    assert first.nop == 0.0 and first.lazy == [("hard-code the count the tests read", 1.0), (EMPTY_OUTPUTS_IDEA, 1.0)] and "a lazy solution passes (hard-code the count" in reasons
    assert "echo 3 > /app/count.txt" in model.prompts["tests"][2]
    assert "def test_count" in model.prompts["lazy"][1] and "hard-code the count the tests read" in model.prompts["lazy"][1]  # the new tests are attacked too
    assert second.problems == [] and second.oracle == 1.0 and second.nop == 0.0 and second.alternative == 1.0
    assert [score for _idea, score in second.lazy] == [0.0, 0.0, 0.0]  # the empty outputs are attacked once
    assert outcome.accepted and outcome.bundle.tests["test_outputs.py"].content.decode() == STRONG


@pytest.mark.docker
def test_tests_run_in_the_real_image_untouched_and_after_the_reference(docker_engine):
    ran = reference_run.tests_on_reference(FILES, DOCKERFILE, STRONG, REFERENCE, timeout_s=60, tests_timeout_s=60)
    assert ran == TestsRun([], [], {"test_count"})  # count.txt is not there before the reference
    ran = reference_run.tests_on_reference(FILES, DOCKERFILE, WEAK + CRASHES.removeprefix(STRONG), LINES_NOT_WORDS, timeout_s=60, tests_timeout_s=60)
    assert ran.pass_the_nop is False and [c.test for c in ran.crashes] == ["test_total"] and ran.failures == []
    ran = reference_run.tests_on_reference(FILES, DOCKERFILE, STRONG, LINES_NOT_WORDS, timeout_s=60, tests_timeout_s=60)
    assert [f.test for f in ran.failures] == ["test_count"] and ran.crashes == [] and ran.nop_failed == {"test_count"}
    assert reference_run.tests_on_reference(FILES, DOCKERFILE, WEAK, REFERENCE, timeout_s=60, tests_timeout_s=60).pass_the_nop
    folder = reference_run.run_reference(FILES, DOCKERFILE, "#!/bin/bash\nmkdir -p /app/count.txt\n", ["/app/count.txt: the count"], timeout_s=60)
    assert folder.directories == ["/app/count.txt"] and folder.missing == [] and "a directory, where the task names a file" in folder.problem()
    # a file the task changes in place, left byte for byte as the image had it (run Q: a config repair whose python3 -c failed, then exit 0)
    failed_quietly = "#!/bin/bash\npython3 -c 'import sys; with open(sys.argv[1]) as f: pass' /app/input.txt\nexit 0\n"
    kept = reference_run.run_reference(FILES, DOCKERFILE, failed_quietly, ["/app/input.txt: the text, repaired in place"], timeout_s=60)
    assert kept.exit_code == 0 and kept.unchanged == ["/app/input.txt"] and kept.outputs["/app/input.txt"] == "a b c\nd e"
    assert "it left /app/input.txt exactly as the image had it" in kept.problem()
    changed = reference_run.run_reference(FILES, DOCKERFILE, "#!/bin/bash\necho f >> /app/input.txt\n", ["/app/input.txt"], timeout_s=60)
    assert changed.unchanged == [] and changed.problem() is None
    # an output not written for want of its folder is told to make it; one read before it was written is not (run Q: "mkdir -p /app")
    no_folder = reference_run.run_reference(FILES, DOCKERFILE, "#!/bin/bash\nwc -w < /app/input.txt > /app/out/count.txt\n", ["/app/out/count.txt"], timeout_s=60)
    assert no_folder.no_folder == ["/app/out"] and "its folder does not exist: create it first (mkdir -p /app/out)" in no_folder.problem()
    read_first = reference_run.run_reference(FILES, DOCKERFILE, "#!/bin/bash\ncat /app/count.txt\n", ["/app/count.txt"], timeout_s=60)
    assert read_first.missing == ["/app/count.txt"] and read_first.no_folder == [] and "folder does not exist" not in read_first.problem()
    # a JSON output that does not parse, from a clean run (run R: the "corrected" data.json still lacked its comma)
    broken = reference_run.run_reference(FILES, DOCKERFILE, "#!/bin/bash\nprintf '[1 2]' > /app/c.json\necho '[1, 2]' > /app/d.json\n",
                                         ["/app/c.json", "/app/d.json: the counts"], timeout_s=60)  # fmt: skip
    assert broken.exit_code == 0 and broken.outputs == {"/app/c.json": "[1 2]", "/app/d.json": "[1, 2]"} and list(broken.invalid_json) == ["/app/c.json"]
    assert "it left /app/c.json as JSON that does not parse (json.decoder.JSONDecodeError: Expecting ',' delimiter: line 1 column 4" in broken.problem()


@pytest.mark.docker
async def test_tests_are_run_after_the_reference_in_the_image_and_a_crash_of_their_own_goes_back(docker_engine, tmp_path):
    model = Model(tests=[CRASHES, STRONG])
    outcome = await verify_task(LLM(ScriptedBackend(model)), SPEC, FILES, DOCKERFILE, CONFIG, tmp_path / "jobs", k_lazy=0, max_rounds=2)
    assert [r.by for r in outcome.test_rounds] == ["pytest", "judge"] and "judge" in model.prompts and len(model.prompts["judge"]) == 1
    assert "`test_total` raised ValueError: could not convert string to float: 'a b c" in model.prompts["tests"][1]
    assert outcome.accepted and outcome.bundle.tests["test_outputs.py"].content.decode() == STRONG


@pytest.mark.docker
async def test_a_wrong_independent_solution_is_judged_wrong_and_rewritten_and_correct_tests_are_kept(docker_engine, tmp_path):
    model = Model(tests=[STRONG], alternatives=[LINES_NOT_WORDS, ALTERNATIVE], verdicts=[{"wrong": "solution", "reason": "it counts lines, not words"}])
    outcome = await verify_task(LLM(ScriptedBackend(model)), SPEC, FILES, DOCKERFILE, CONFIG, tmp_path / "jobs", k_lazy=0, max_rounds=2)
    first, second = outcome.rounds
    assert first.oracle == 1.0 and first.alternative == 0.0 and [p.stage for p in first.problems] == ["alternative"]
    assert "test_count" in model.prompts["gate_judge"][0] and "wc -l" in model.prompts["gate_judge"][0]
    assert "it counts lines, not words" in model.prompts["alternative"][1] and "test_count" in model.prompts["alternative"][1]
    assert len(model.prompts["tests"]) == 1 and outcome.disputes[0].verdict.wrong == "solution"
    assert second.passed and outcome.accepted and outcome.bundle.tests["test_outputs.py"].content.decode() == STRONG


@pytest.mark.docker
async def test_after_the_last_gate_round_nothing_is_judged_or_rewritten(docker_engine, tmp_path):
    model = Model(tests=[STRONG], alternatives=[LINES_NOT_WORDS])  # no verdict scripted: a Judge asked would fail the test
    outcome = await verify_task(LLM(ScriptedBackend(model)), SPEC, FILES, DOCKERFILE, CONFIG, tmp_path / "jobs", k_lazy=0, max_rounds=1)
    assert [r.alternative for r in outcome.rounds] == [0.0] and not outcome.accepted and outcome.reason.startswith("the gate never passed")
    assert "gate_judge" not in model.prompts and len(model.prompts["alternative"]) == 1 and len(model.prompts["tests"]) == 1


@pytest.mark.docker
async def test_a_judge_with_no_usable_verdict_leaves_the_tests_standing_and_the_solution_is_rewritten(docker_engine, tmp_path):
    model = Model(tests=[STRONG], alternatives=[LINES_NOT_WORDS, ALTERNATIVE], verdicts=["The reference solution does not pass"] * 3)  # no JSON object
    outcome = await verify_task(LLM(ScriptedBackend(model)), SPEC, FILES, DOCKERFILE, CONFIG, tmp_path / "jobs", k_lazy=0, max_rounds=2)
    assert len(model.prompts["gate_judge"]) == 3 and outcome.disputes[0].verdict.wrong == "solution"  # asked three times
    assert outcome.disputes[0].verdict.reason.startswith("the judge gave no usable verdict")
    assert len(model.prompts["tests"]) == 1 and len(model.prompts["alternative"]) == 2 and outcome.accepted


@pytest.mark.docker
async def test_a_reference_that_fails_on_its_own_is_rewritten_with_its_exit_code_and_output_in_view_before_any_test(docker_engine, tmp_path):
    # as the 1.5B model wrote one in a real run: solve.sh is run with no arguments
    wants_argument = '#!/bin/bash\nif [ $# -ne 1 ]; then echo "Usage: $0 <input_file>"; exit 1; fi\nwc -w < "$1" > /app/count.txt\n'
    model = Model(tests=[STRONG], solutions=[wants_argument, REFERENCE])  # no verdict scripted: a Judge asked would fail the test
    outcome = await verify_task(LLM(ScriptedBackend(model)), SPEC, FILES, DOCKERFILE, CONFIG, tmp_path / "jobs", k_lazy=0, max_rounds=2)
    told = model.prompts["solution"][1]
    assert "failed when it was run in the task's container" in told and "solve.sh exited with code 1; it did not create /app/count.txt.\nThe end of what it printed:" in told
    assert "Usage: /solution/solve.sh <input_file>" in told and "def test_" not in told
    assert [run.exit_code for run in outcome.reference_runs] == [1, 0] and len(model.prompts["tests"]) == 1
    assert "Usage:" not in model.prompts["tests"][0]  # the tests were written against the run that worked
    [gate] = outcome.rounds
    assert gate.passed and outcome.accepted and "gate_judge" not in model.prompts


@pytest.mark.docker
async def test_an_independent_solution_that_fails_on_its_own_is_rewritten_from_its_run_before_the_gate_and_never_sees_the_tests(docker_engine, tmp_path):
    wrong_directory = "#!/bin/bash\nwc -w < /data/input.txt > /app/count.txt\n"  # the input is in /app
    model = Model(tests=[STRONG], alternatives=[wrong_directory, ALTERNATIVE])  # no verdict scripted: a Judge asked would fail the test
    outcome = await verify_task(LLM(ScriptedBackend(model)), SPEC, FILES, DOCKERFILE, CONFIG, tmp_path / "jobs", k_lazy=0, max_rounds=2)
    told = model.prompts["alternative"][1]
    assert "failed when it was run in the task's container" in told and "/data/input.txt: No such file or directory" in told
    assert "def test_" not in told and "wc -w < /app/input.txt" not in told  # neither the tests nor the reference
    assert [run.exit_code for run in outcome.alternative_runs] == [1, 0]
    [gate] = outcome.rounds
    assert gate.alternative == 1.0 and outcome.accepted and "gate_judge" not in model.prompts


async def test_a_reference_that_never_runs_cleanly_rejects_the_task_before_any_test_is_written(tmp_path):
    def fails(files, dockerfile, solution, outputs):
        return parse_run("@@termigen-reference exit 2\nsolve.sh: line 3: cd: /data: No such file or directory\n@@termigen-reference output /app/count.txt\n@@termigen-reference missing\n", outputs)

    model = Model(solutions=[REFERENCE, ALTERNATIVE, LINES_NOT_WORDS], alternatives=[ALTERNATIVE, LINES_NOT_WORDS, REFERENCE])
    outcome = await verify_task(LLM(ScriptedBackend(model)), SPEC, FILES, DOCKERFILE, CONFIG, tmp_path / "jobs", k_lazy=1, collect=None, reference_run=fails)
    assert not outcome.accepted and not outcome.rounds and "tests" not in model.prompts and len(model.prompts["solution"]) == 3
    assert len(model.prompts["alternative"]) == 3 and len(outcome.alternative_runs) == 3  # the independent writer was tried as the reference, and failed too
    assert outcome.reason.startswith("the reference solution never ran cleanly in the task's image: solve.sh exited with code 2; it did not create /app/count.txt")
    assert outcome.reason.endswith("(nor did the independent writer's solution)")
    assert "cd: /data: No such file or directory" in model.prompts["solution"][1] and "--- /app/count.txt\n(missing)" in model.prompts["solution"][1]


async def test_a_reference_that_never_runs_cleanly_gives_way_to_an_independent_solution_that_does(tmp_path):
    def run(files, dockerfile, solution, outputs):  # only the Python programs run cleanly here
        ok = "python3" in solution
        return parse_run(f"@@termigen-reference exit {0 if ok else 2}\n@@termigen-reference output /app/count.txt\n{5 if ok else ''}\n", outputs)

    another = ALTERNATIVE.replace("print(len(", "print(0 + len(")
    said, model = [], Model(tests=[STRONG], solutions=[REFERENCE, LINES_NOT_WORDS, REFERENCE], alternatives=[ALTERNATIVE, another],
                            judge=lambda _p: {"approve": False, "problems": ["stop here"]})  # fmt: skip
    outcome = await verify_task(LLM(ScriptedBackend(model)), SPEC, FILES, DOCKERFILE, CONFIG, tmp_path / "jobs", k_lazy=0, collect=None, reference_run=run,
                                tests_run=None, say=said.append)  # fmt: skip
    # the independent writer's first solution ran cleanly: it is the reference the tests are written against
    assert [r.exit_code for r in outcome.reference_runs] == [2, 2, 2, 0] and "solve.sh exited with code 0" in model.prompts["tests"][0]
    assert "reference: the independent writer's solution ran cleanly and is the reference; another independent solution is written" in said
    # and a new independent solution is written from the task alone, not from the one that became the reference
    assert len(model.prompts["alternative"]) == 2 and "print(len(" not in model.prompts["alternative"][1]
    assert [r.exit_code for r in outcome.alternative_runs] == [0, 0] and outcome.reason.startswith("the tests were never approved")


async def test_a_solution_whose_run_failed_in_a_way_python_avoids_is_asked_for_in_python(tmp_path):
    # run O: an SCC search by recursive bash functions crashed (exit 139) three rounds running, offered Python each time
    def run(files, dockerfile, solution, outputs):
        ok = solution in (REFERENCE, ALTERNATIVE)
        return parse_run(f"@@termigen-reference exit {0 if ok else 139}\n@@termigen-reference output /app/count.txt\n{'5' if ok else '@@termigen-reference missing'}\n", outputs)

    model = Model(tests=[STRONG], solutions=["#!/bin/bash\nf() { f; }\nf\n", REFERENCE], judge=lambda _p: {"approve": False, "problems": ["stop here"]})
    outcome = await verify_task(LLM(ScriptedBackend(model)), SPEC, FILES, DOCKERFILE, CONFIG, tmp_path / "jobs", k_lazy=0, max_rounds=2, collect=None, reference_run=run, tests_run=None)
    asked = "reply with the complete Python program in one ```python fenced code block (standard library and the packages the environment installs), which solve.sh runs with python3, and nothing else"
    assert asked not in model.prompts["solution"][0] and asked in model.prompts["solution"][1] and "segmentation fault" in model.prompts["solution"][1]
    assert [r.exit_code for r in outcome.reference_runs] == [139, 0]


async def test_solutions_rewritten_after_a_gate_round_run_in_the_image_before_the_next_round(tmp_path):
    # a real run: both gate-round rewrites of the reference crashed at once, each costing a gate round
    crashes = "#!/bin/bash\npython3 - <<EOF\nprint(e)\nEOF\n"

    def run(files, dockerfile, solution, outputs):
        ok = solution in (REFERENCE, ALTERNATIVE)
        return parse_run(f"@@termigen-reference exit {0 if ok else 1}\n{'' if ok else 'NameError: name e is not defined'}\n"
                         f"@@termigen-reference output /app/count.txt\n{'5' if ok else '@@termigen-reference missing'}\n", outputs)  # fmt: skip

    model = Model(tests=[STRONG], solutions=[crashes, REFERENCE], alternatives=[crashes, ALTERNATIVE],
                  verdicts=[{"wrong": "solution", "reason": "it writes no count"}, {"wrong": "solution", "reason": "it writes no count either"}])  # fmt: skip
    verification = _Verification(LLM(ScriptedBackend(model)), SPEC, FILES, DOCKERFILE, CONFIG, tmp_path / "jobs", 0, 3, "docker", None, "", lambda _m: None, run)
    verification.tests, verification.solution, verification.alternative = STRONG, LINES_NOT_WORDS, LINES_NOT_WORDS
    gate = GateResult(oracle=0.0, nop=0.0, alternative=0.0, problems=[Problem(stage="solution", reason="reward 0.0; failing tests: test_count"),
                                                                        Problem(stage="alternative", reason="reward 0.0; failing tests: test_count")])  # fmt: skip
    assert await verification.repair(gate)
    assert verification.solution == REFERENCE and verification.alternative == ALTERNATIVE  # each ran cleanly before the next round
    assert [r.exit_code for r in verification.outcome.reference_runs] == [1, 0] and [r.exit_code for r in verification.outcome.alternative_runs] == [1, 0]
    first, second = model.prompts["solution"]
    assert "failed the tests" in first and "A judge found the solution at fault: it writes no count" in first and "def test_count" in first
    assert "failed when it was run in the task's container" in second and "NameError" in second and "def test_count" in second
    assert "reviewer found your solution at fault" in model.prompts["alternative"][0] and "failed when it was run" in model.prompts["alternative"][1]
    assert all("def test_count" not in prompt for prompt in model.prompts["alternative"])  # the independent solution never sees the tests


async def test_a_solution_makes_the_folders_of_the_outputs_first():
    # two real runs: the 1.5B wrote into /app/output/ three rounds running without making it, told each time
    spec = SPEC.model_copy(update={"outputs": ["/app/output/top.json: the top users", "/app/report/", "/app/count.txt", "/srv/app/run.log: a log"]})
    script = await write_solution(LLM(ScriptedBackend(["```bash\n#!/bin/bash\necho '{}' > /app/output/top.json\n```"])), spec, "", None)
    assert script == "#!/bin/bash\nmkdir -p /app/output /app/report /srv/app\necho '{}' > /app/output/top.json\n"
    python = "```python\nimport json\nwith open('/app/output/top.json', 'w') as f:\n    json.dump({}, f)\n```"
    wrapped = await alternative_solution(LLM(ScriptedBackend([python])), spec, "")
    assert wrapped.startswith("#!/bin/bash\nmkdir -p /app/output /app/report /srv/app\nset -e\npython3 - <<'PYTHON'\nimport json\n")
    assert await write_solution(LLM(ScriptedBackend(["```bash\nwc -w < /app/input.txt > /app/count.txt\n```"])), SPEC, "", None) == "wc -w < /app/input.txt > /app/count.txt\n"
    # solve.sh runs as root and the image has no sudo (run N: exit 127 two rounds running, told each time): a plain sudo goes
    sudo = "```bash\nsudo apt-get install -y jq && sudo  wc -w < /app/input.txt > /app/count.txt\nif true; then sudo cp a b; fi\nsudo -u nobody id\necho 'no sudo here'\n```"
    assert await write_solution(LLM(ScriptedBackend([sudo])), SPEC, "", None) == (
        "apt-get install -y jq && wc -w < /app/input.txt > /app/count.txt\nif true; then cp a b; fi\nsudo -u nobody id\necho 'no sudo here'\n")


def test_pandas_asking_for_an_optional_package_names_the_release_that_provides_it():
    assert pypi_releases("ImportError: `Import fastparquet` failed. fastparquet is required for parquet support.") == ["fastparquet==2024.11.0"]
    assert pypi_releases("ImportError: Unable to find a usable engine; tried using: 'pyarrow', 'fastparquet'.") == ["pyarrow==18.1.0"]
    assert pypi_releases("ImportError: Missing optional dependency 'openpyxl'.  Use pip or conda to install openpyxl.") == ["openpyxl==3.1.5"]
    assert pypi_releases("ModuleNotFoundError: No module named 'json_normalize'") == []  # no such package: the solution must change


@pytest.mark.docker
async def test_a_reference_that_imports_a_well_known_package_the_image_lacks_gets_it_installed_without_a_rewrite(docker_engine, tmp_path):
    # as in a real run: pandas' to_parquet, with no Parquet engine in the image, three rounds running
    uses_tabulate = "#!/bin/bash\npython3 -c \"import tabulate; print(len(open('/app/input.txt').read().split()))\" > /app/count.txt\n"
    model = Model(tests=[STRONG], solutions=[uses_tabulate], alternatives=[ALTERNATIVE])
    outcome = await verify_task(LLM(ScriptedBackend(model)), SPEC, FILES, DOCKERFILE, CONFIG, tmp_path / "jobs", k_lazy=0, max_rounds=1)
    assert [run.problem() is None for run in outcome.reference_runs] == [False, True] and len(model.prompts["solution"]) == 1
    assert "No module named 'tabulate'" in outcome.reference_runs[0].log
    assert outcome.dockerfile.endswith("RUN pip install --no-cache-dir tabulate==0.9.0\n") and "tabulate==0.9.0" in model.prompts["tests"][0]  # the tests see it too
    assert outcome.accepted and outcome.bundle.environment["Dockerfile"].content.decode() == outcome.dockerfile


def test_a_tool_a_solution_runs_and_the_image_lacks_names_the_debian_package_that_provides_it():
    assert debian_packages("/solution/solve.sh: line 13: jq: command not found\n") == ["jq"]  # bash, as in a real run
    assert debian_packages("sh: 1: xmllint: not found\nsh: 2: pkill: not found\nsh: 3: pgrep: not found") == ["libxml2-utils", "procps"]  # dash
    assert debian_packages("line 3: shortest_path: command not found\nline 4: jq: command not found") == []  # the task's own program: the solution must change
    assert debian_packages("Error: input file not found") == []
    installs = image_installs("line 2: jq: command not found\nModuleNotFoundError: No module named 'yaml'")
    assert installs == Installs(pypi=("PyYAML==6.0.2",), debian=("jq",)) and str(installs) == "jq PyYAML==6.0.2"
    assert with_installs("FROM termigen/base:bookworm\n", installs) == (
        "FROM termigen/base:bookworm\nRUN apt-get update && apt-get install -y --no-install-recommends jq && rm -rf /var/lib/apt/lists/*\n"
        "RUN pip install --no-cache-dir PyYAML==6.0.2\n")
    assert not image_installs("solve.sh exited with code 1")


@pytest.mark.parametrize("said", ["/solution/solve.sh: line 6: sudo: command not found", "sh: 1: sudo: not found"])
def test_a_solution_that_runs_sudo_is_told_it_is_root(said):
    run = parse_run(f"@@termigen-reference exit 127\n{said}\n@@termigen-reference output /app/count.txt\n@@termigen-reference missing\n", ["/app/count.txt"])
    assert "solve.sh runs as root and the image has no sudo: run the commands without it" in run.problem()
    assert not image_installs(run.log)  # no sudo goes into the image


def test_a_bash_solution_that_bash_refuses_at_run_time_is_offered_python():
    # a real run: Dijkstra in bash with $((...)) on decimals wrote nothing and exited 0, three rounds
    log = ("/solution/solve.sh: line 12: 10.472: syntax error: invalid arithmetic operator (error token is \".472\")\n"
           "/solution/solve.sh: line 25: distances[$start]: bad array subscript\n")
    run = parse_run(f"@@termigen-reference exit 0\n{log}@@termigen-reference output /app/path.json\n@@termigen-reference empty\n", ["/app/path.json"])
    assert "bash refused lines of it at run time (`/solution/solve.sh: line 12: 10.472: syntax error" in run.problem()
    assert "reply with the whole program in Python" in run.problem()
    fine = parse_run(f"@@termigen-reference exit 0\n{log}@@termigen-reference output /app/path.json\n[\"A\"]\n", ["/app/path.json"])
    assert fine.problem() is None  # what bash printed matters only when the run failed
    wrote_nothing = parse_run("@@termigen-reference exit 1\nTraceback (most recent call last):\n@@termigen-reference output /app/path.json\n@@termigen-reference missing\n", ["/app/path.json"])
    assert "Python" not in wrote_nothing.problem()
    # run O: a reference that runs a program no one wrote, three rounds
    for said, named in [("python3: can't open file '/tmp/sccs.py': [Errno 2] No such file or directory", "/tmp/sccs.py"), ("/usr/bin/python3: No module named sccs", "sccs")]:
        absent = parse_run(f"@@termigen-reference exit 2\n{said}\n@@termigen-reference output /app/sccs.txt\n@@termigen-reference missing\n", ["/app/sccs.txt"])
        assert f"it runs `{named}`, which is nowhere in the image: solve.sh must hold the whole solution" in absent.problem()
    crashed = parse_run("@@termigen-reference exit 139\nEdges loaded: 1 2\n@@termigen-reference output /app/sccs.txt\n@@termigen-reference missing\n", ["/app/sccs.txt"])
    assert crashed.problem().startswith("solve.sh crashed with a segmentation fault (exit code 139): a bash function that calls itself")  # run O, three rounds
    # run O: a config repaired in place, ended by `cat "$input_file" > "$output_file"` (one file), in three references
    assert "it left /app/path.json empty (`> FILE` empties FILE before the command runs" in run.problem()
    # run P: a Python program that stopped at once left the output empty; the Python error is named first, with no `> FILE` hint
    indented = parse_run('@@termigen-reference exit 1\n  File "<string>", line 2\n    with open("/app/numbers.csv") as f:\nIndentationError: unexpected indent\n'
                         "@@termigen-reference output /app/sum.txt\n@@termigen-reference empty\n", ["/app/sum.txt"])  # fmt: skip
    assert indented.problem().startswith("its Python program stopped with `IndentationError: unexpected indent` (see the traceback below); a `python3 -c` "
                                         "program on one line cannot hold")  # fmt: skip
    assert "you may instead reply with the whole program in Python" in indented.problem() and "solve.sh exited with code 1; it left /app/sum.txt empty.\n" in indented.problem()
    # run P: a one-line `python3 -c` with `with` after a `;`, solve.sh exiting 0: no `> FILE` hint either
    one_line = parse_run('@@termigen-reference exit 0\n  File "<string>", line 1\n    import sys; with open("/app/n.csv") as f: print(1)\nSyntaxError: invalid syntax\n'
                         "@@termigen-reference output /app/sum.txt\n@@termigen-reference empty\n", ["/app/sum.txt"])  # fmt: skip
    assert "`SyntaxError: invalid syntax`" in one_line.problem() and "> FILE" not in one_line.problem() and python_only(one_line.problem(), ran=True)
    assert "its Python program" not in parse_run("@@termigen-reference exit 1\nError: no input\n", ["/app/sum.txt"]).problem()
    # run P: `mkdir -p /app/sccs.txt` made the output a folder, and tests that only checked it existed passed
    folder = parse_run("@@termigen-reference exit 0\n@@termigen-reference output /app/sccs.txt\n@@termigen-reference directory\ntotal 0\n", ["/app/sccs.txt"])
    assert folder.directories == ["/app/sccs.txt"] and folder.problem().startswith("it made /app/sccs.txt a directory, where the task names a file")
    went_on = parse_run("@@termigen-reference exit 0\npython3: can't open file '/app/solve.py': [Errno 2] No such file or directory\nSuccess\n"
                        "@@termigen-reference output /app/sccs.txt\n1 2\n", ["/app/sccs.txt"])  # fmt: skip
    assert went_on.problem().startswith("it runs `/app/solve.py`, which is nowhere in the image")  # a clean exit and every output do not hide it


@pytest.mark.docker
async def test_a_debian_tool_the_reference_runs_and_the_image_lacks_goes_into_the_real_image_without_a_rewrite(docker_engine, tmp_path):
    # as in a real run: `jq: command not found`, three rounds, the environment writer having pip-installed jq
    uses_jq = "#!/bin/bash\nwc -w < /app/input.txt | jq -R tonumber > /app/count.txt\n"
    model = Model(tests=[STRONG], solutions=[uses_jq], alternatives=[ALTERNATIVE])
    outcome = await verify_task(LLM(ScriptedBackend(model)), SPEC, FILES, DOCKERFILE, CONFIG, tmp_path / "jobs", k_lazy=0, max_rounds=1)
    assert "jq: command not found" in outcome.reference_runs[0].log and outcome.reference_runs[1].problem() is None
    assert len(model.prompts["solution"]) == 1 and "apt-get install -y --no-install-recommends jq" in model.prompts["tests"][0]
    assert outcome.accepted and "jq" in outcome.bundle.environment["Dockerfile"].content.decode()


def test_a_reference_that_wrote_into_a_folder_nobody_made_is_told_to_make_it():
    # as the 1.5B wrote it three rounds running in a real run
    run = parse_run("@@termigen-reference exit 1\n/solution/solve.sh: line 10: /app/output/log.json: No such file or directory\n"
                    "@@termigen-reference output /app/output/log.json\n@@termigen-reference missing\n@@termigen-reference no-folder\n"
                    "@@termigen-reference output /app/count.txt\n@@termigen-reference missing\n", ["/app/output/log.json", "/app/count.txt"])  # fmt: skip
    assert run.problem().startswith("solve.sh exited with code 1; it did not create /app/output/log.json, /app/count.txt; "
                                    "writing it failed because its folder does not exist: create it first (mkdir -p /app/output).")  # fmt: skip


@pytest.mark.docker
def test_an_interrupted_run_removes_its_own_containers_so_a_thread_waiting_on_one_returns(docker_engine):
    import threading
    import time

    from termigen_harbor.leftovers import remove_own
    from termigen_harbor.synthesis.reference_run import run_reference

    serves = "#!/bin/bash\nmkdir -p /app && python3 -m http.server 8000\n"  # in the foreground, as a real reference did until its time ran out
    runs = []
    waiting = threading.Thread(target=lambda: runs.append(run_reference(FILES, DOCKERFILE, serves, ["/app/count.txt"], timeout_s=900)))
    waiting.start()
    removed = None
    for _ in range(300):  # until its container runs (the image is built first)
        if removed := remove_own():
            break
        time.sleep(1)
    waiting.join(timeout=120)
    assert removed and not waiting.is_alive()
    assert runs[0].problem().startswith("solve.sh did not finish within its time limit (a server or service it starts must run in the background; ")


def test_a_solution_run_is_its_exit_code_and_the_end_of_its_output(tmp_path):
    assert solution_run(tmp_path) == ""  # a trial with no oracle files (the no-op agent)
    (tmp_path / "oracle.txt").write_text("".join(f"line {i}\n" for i in range(40)))
    assert solution_run(tmp_path) == "solve.sh exited with code 0; the end of its output:\n" + "\n".join(f"    line {i}" for i in range(28, 40))
    (tmp_path / "exit-code.txt").write_text("2")
    (tmp_path / "oracle.txt").write_text("")
    assert solution_run(tmp_path) == "solve.sh exited with code 2; the end of its output:\n    (no output)"


@pytest.mark.docker
async def test_tests_that_ask_more_than_the_task_fail_both_solutions_in_the_real_image_and_are_rewritten(docker_engine, tmp_path):
    # a test that asks for a format the task never names fails every solution by its assert: the tests' run
    # after the reference and after the independent solution shows it before the gate, with no Judge needed
    relative = STRONG.replace("/app/", "")  # tests run in the task's working directory, /app, as the agent does
    model = Model(tests=[ASKS_MORE, relative])  # no verdict scripted: a Judge asked would fail the test
    outcome = await verify_task(LLM(ScriptedBackend(model)), SPEC, FILES, DOCKERFILE, CONFIG, tmp_path / "jobs", k_lazy=0, max_rounds=2)
    told = model.prompts["tests"][1]
    assert "the reference solution and a solution written independently from the specification both fail `test_report`" in told
    assert "count.txt must say 5 words" in told and outcome.test_rounds[0].by == "pytest" and "gate_judge" not in model.prompts
    assert len(model.prompts["solution"]) == 1  # the reference was right: it is kept, not rewritten
    [gate] = outcome.rounds
    assert gate.passed and outcome.accepted and outcome.bundle.tests["test_outputs.py"].content.decode() == relative


@pytest.mark.docker
async def test_a_reference_that_fails_tests_the_independent_solution_passes_is_rewritten_before_the_gate(docker_engine, tmp_path):
    model = Model(tests=[STRONG], solutions=[LINES_NOT_WORDS, REFERENCE])  # no verdict scripted: a Judge asked would fail the test
    outcome = await verify_task(LLM(ScriptedBackend(model)), SPEC, FILES, DOCKERFILE, CONFIG, tmp_path / "jobs", k_lazy=0, max_rounds=1)
    told = model.prompts["solution"][1]
    assert "a solution written independently from the specification passes `test_count`, which the reference fails" in told and "def test_count" in told
    [gate] = outcome.rounds
    assert gate.passed and outcome.accepted and len(model.prompts["tests"]) == 1 and "gate_judge" not in model.prompts


@pytest.mark.docker
def test_tests_can_import_what_the_environment_installs_and_nothing_else(docker_engine):
    # where `pip install` (PIP_BREAK_SYSTEM_PACKAGES is set in the base) puts a package system-wide
    installs = DOCKERFILE + "RUN mkdir -p /usr/local/lib/python3.11/dist-packages && echo 'WORDS = 5' > /usr/local/lib/python3.11/dist-packages/wordlib.py\n"
    tests = "import wordlib\n\ndef test_words():\n    assert wordlib.WORDS == 5\n"
    assert collect_problem(FILES, installs, tests) is None
    # built as Harbor builds the task (BuildKit): the classic builder refused this COPY, which the environment stage had built, in a real run
    two = {**FILES, "b.txt": BundleFile.text("b\n")}
    assert collect_problem(two, "FROM termigen/base:bookworm\nWORKDIR /app\nCOPY input.txt b.txt .\n", "def test_x():\n    assert True\n") is None
    problem = collect_problem(FILES, DOCKERFILE, tests)
    assert problem.startswith("the tests import `wordlib`, which the task's image does not have") and "No module named 'wordlib'" in problem
    dedented = "import pytest\n\ndef test_words():\n    output = ''\nif not output:\n    pytest.fail('not repaired')\n"  # a check that fell out of its function
    problem = collect_problem(FILES, DOCKERFILE, dedented)
    assert problem.startswith("line 5 of the tests runs when pytest imports them, outside every test function") and "NameError" in problem


@pytest.mark.docker
async def test_a_pypi_package_the_tests_import_is_installed_in_the_real_image(docker_engine):
    # imported inside a test, as in a real run (yaml): pytest's collection passes, every trial then failed on it
    uses_tabulate = STRONG + "\n\ndef test_table():\n    import tabulate\n    assert tabulate.tabulate([[1]])\n"
    written = await generate_tests(LLM(ScriptedBackend(Model(tests=[uses_tabulate]))), SPEC, FILES, DOCKERFILE)
    assert written.approved and len(written.rounds) == 1 and written.dockerfile.endswith("RUN pip install --no-cache-dir tabulate==0.9.0\n")


def test_each_pip_install_is_pinned_to_the_version_it_installs_and_what_it_cannot_pin_is_named():
    # run Q: `termigen validate` (Harbor's lint) refused the first task past the gate for this line
    run = "RUN pip install pandas && \\\n    python3 -m pip install --no-cache-dir -r req.txt 'numpy>=2' tabulate==0.9.0 pandas[parquet] wordlib\n"
    assert unpinned_pip(run) == ["pandas", "numpy", "wordlib"]  # the requirements file is pip's to read, a pinned release is left
    versions = {**KNOWN_VERSIONS, **frozen_versions("pandas==2.2.3\nnumpy==1.26.4\nwordlib @ file:///src/wordlib\n")}
    assert pip_pinned(run, versions) == ("RUN pip install pandas==2.2.3 && \\\n    python3 -m pip install --no-cache-dir -r req.txt 'numpy>=2' tabulate==0.9.0 "
                                         "'pandas[parquet]==2.2.3' wordlib\n")  # numpy 1.26.4 is not >=2; wordlib has no version
    assert unpinned_pip(pip_pinned(run, versions)) == ["numpy", "wordlib"]


async def test_a_task_that_termigen_validate_would_refuse_is_rejected_before_the_gate(tmp_path):
    installs = "#!/bin/bash\npip install wordlib tabulate\nwc -w < /app/input.txt > /app/count.txt\n"  # wordlib: no release we know the version of
    outcome = await verify_task(LLM(ScriptedBackend(Model(tests=[STRONG], solutions=[installs]))), SPEC, FILES, DOCKERFILE, CONFIG, tmp_path / "jobs", k_lazy=0,
                                collect=None, reference_run=None, tests_run=None)  # fmt: skip
    assert not outcome.accepted and not outcome.errored and not outcome.rounds and not (tmp_path / "jobs").exists()
    assert outcome.reason.startswith("the task fails the static checks of `termigen validate`: [unpinned-python-dependency] solution/solve.sh:2")


async def test_a_solution_that_pip_installs_what_the_image_lacks_goes_back_to_its_writer_before_the_gate(tmp_path, monkeypatch):
    from termigen_harbor.synthesis import verify

    built, ran = [], []
    monkeypatch.setattr(verify, "installed_versions", lambda files, dockerfile: built.append(dockerfile) or {"tabulate": "0.9.0"})  # the real one: the docker test below

    def run(files, dockerfile, solution, outputs):
        ran.append(solution)
        return parse_run("@@termigen-reference exit 0\n@@termigen-reference output /app/count.txt\n5\n", outputs)

    installs = "#!/bin/bash\npip install wordlib tabulate\nwc -w < /app/input.txt > /app/count.txt\n"  # wordlib: neither the image nor our table knows it
    model = Model(solutions=[installs, REFERENCE])
    verification = _Verification(LLM(ScriptedBackend(model)), SPEC, FILES, DOCKERFILE, CONFIG, tmp_path, 0, 3, "docker", None, "", lambda _m: None, reference_run=run)
    assert await verification.write_reference() and verification.solution == REFERENCE
    assert ran[0] == installs.replace("tabulate", "tabulate==0.9.0")  # what the image holds is pinned; the run itself was clean
    assert [r.pip_installs for r in verification.outcome.reference_runs] == [["wordlib"], []]
    assert "it installs wordlib with pip at run time, which the image does not hold" in model.prompts["solution"][1]
    await verification.image_versions()
    assert built == [DOCKERFILE]  # the image is built and asked once per Dockerfile
    verification._use(DOCKERFILE + "RUN pip install tabulate\n")
    await verification.pin_installs()
    await verification.image_versions()
    assert built == [DOCKERFILE, DOCKERFILE + "RUN pip install tabulate\n"] and verification.dockerfile.endswith("tabulate==0.9.0\n")  # and not again once pinned


@pytest.mark.docker
async def test_an_unpinned_pip_install_in_the_dockerfile_is_pinned_to_the_version_the_real_image_holds(docker_engine, tmp_path):
    said = []
    verification = _Verification(LLM(ScriptedBackend(Model())), SPEC, FILES, DOCKERFILE + "RUN pip install --no-cache-dir tabulate\n", CONFIG, tmp_path,
                                 0, 1, "docker", None, "", said.append, reference_run=reference_run.run_reference)  # fmt: skip
    await verification.pin_installs()
    pinned = re.fullmatch(re.escape(DOCKERFILE) + r"RUN pip install --no-cache-dir tabulate==(\S+)\n", verification.dockerfile)
    assert pinned and reference_run.installed_versions(FILES, verification.dockerfile)["tabulate"] == pinned[1]  # what the image built from it holds
    assert said == ["Dockerfile: pinned tabulate to the versions the image holds"] and f"tabulate=={pinned[1]}" in verification.environment


@pytest.mark.docker
def test_the_verifier_lets_tests_run_pytest_on_the_tasks_own_code(docker_engine, tmp_path):
    # as in a real run: tests that check a repaired project by running its test suite with `pytest`
    import docker

    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "test_app.py").write_text("def test_ok():\n    assert 1 + 1 == 2\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test.sh").write_text(STANDARD_TEST_SH)
    (tmp_path / "tests" / "test_outputs.py").write_text(
        "import subprocess\n\ndef test_suite_passes():\n    assert subprocess.run(['pytest', '-q', '/app/test_app.py']).returncode == 0\n")
    out = docker.from_env().containers.run(BASE_IMAGE, ["bash", "-c", "bash /tests/test.sh >/dev/null; cat /logs/verifier/reward.txt; command -v pytest || echo none"],
                                           volumes={str(tmp_path / "app"): {"bind": "/app"}, str(tmp_path / "tests"): {"bind": "/tests", "mode": "ro"}}, remove=True)  # fmt: skip
    assert out.decode().split() == ["1", "none"]  # passed; and pytest is on no one's PATH outside the verifier


@pytest.mark.docker
async def test_tests_that_pytest_cannot_collect_in_the_image_go_back_and_an_errored_trial_is_an_error(docker_engine, tmp_path):
    needs_wordlib = "import wordlib\n\ndef test_x():\n    assert wordlib.WORDS == 5\n"  # a module no release provides
    hangs = "import time\nfrom pathlib import Path\n\ndef test_count():\n    time.sleep(60)\n    assert Path('/app/count.txt').exists()\n"
    model = Model(tests=[needs_wordlib, hangs])
    config = {"agent": {"timeout_sec": 60}, "verifier": {"timeout_sec": 5}}
    outcome = await verify_task(LLM(ScriptedBackend(model)), SPEC, FILES, DOCKERFILE, config, tmp_path / "jobs", k_lazy=0, max_rounds=2)
    assert outcome.test_rounds[0].by == "pytest" and "No module named 'wordlib'" in outcome.test_rounds[0].problems[0]
    assert "No module named 'wordlib'" in model.prompts["tests"][1] and len(model.prompts["judge"]) == 1
    assert outcome.errored and not outcome.accepted and len(outcome.rounds) == 1
    gate = outcome.rounds[0]
    assert gate.oracle is None and gate.nop is None and "VerifierTimeoutError" in outcome.reason


async def test_a_stopped_verification_resumes_after_the_last_step_it_saved(tmp_path):
    from termigen_harbor.llm.types import BudgetExceeded

    def stopped_at_the_attack(model):
        def reply(request):
            if "You attack a terminal task's verifier" in request.messages[0].content:
                model.prompts.setdefault("lazy", []).append(request.messages[0].content)
                return BudgetExceeded("the token budget of 1000 is spent")
            return model(request)
        return reply

    saved, model = [], Model(tests=[STRONG])
    with pytest.raises(BudgetExceeded):
        await verify_task(LLM(ScriptedBackend(stopped_at_the_attack(model))), SPEC, FILES, DOCKERFILE, CONFIG, tmp_path / "jobs", k_lazy=1, collect=None,
                          reference_run=None, tests_run=None, checkpoint=saved.append)  # fmt: skip
    # saved after the reference, after the independent solution and after the approved tests; the attack was never made
    assert [(bool(p.solution), bool(p.alternative), bool(p.tests)) for p in saved] == [(True, False, False), (True, True, False), (True, True, True)]
    assert saved[-1].tests == STRONG and saved[-1].outcome.test_rounds[-1].approved and saved[-1].lazies is None
    # the next run, from the progress as the state file holds it: only the attack is asked for again
    progress = VerifyProgress.model_validate_json(saved[-1].model_dump_json())
    said, again = [], Model(tests=[WEAK])
    with pytest.raises(BudgetExceeded):
        await verify_task(LLM(ScriptedBackend(stopped_at_the_attack(again))), SPEC, FILES, DOCKERFILE, CONFIG, tmp_path / "jobs", k_lazy=1, collect=None,
                          reference_run=None, tests_run=None, progress=progress, say=said.append)  # fmt: skip
    assert list(again.prompts) == ["lazy"] and STRONG.strip() in again.prompts["lazy"][0]
    assert said[0] == "resumed after the reference, the independent solution, the tests"


def test_tests_that_check_nothing_are_dropped_while_one_that_checks_something_is_left():
    from termigen_harbor.synthesis.python_source import empty_tests, without_empty_tests
    from termigen_harbor.synthesis.verify import tests_fixed

    # run R: the 1.5B Judge approved these beside the real checks of the first task a local run accepted
    nothing = ('def test_no_additional_files_or_services():\n    """No other files."""\n    pass\n\n\n'
               "@pytest.mark.skip\ndef test_later():\n    ...\n\nclass TestMore:\n    def test_true(self):\n        assert True\n\n    def test_real(self):\n        assert 1 == 2\n\n")
    tests = "import pytest\n\n" + nothing + STRONG
    assert empty_tests(tests) == ["test_no_additional_files_or_services", "test_later", "test_true"]
    kept = tests_fixed(tests)
    assert empty_tests(kept) == [] and "def test_real" in kept and kept.endswith(STRONG) and compiles(kept)
    assert without_empty_tests("def test_x():\n    pass\n") == "def test_x():\n    pass\n"  # nothing else left: the Judge sends it back
    # a class of empty tests goes whole; of two tests of one name, the one that checks something stays
    same_name = 'class TestNothing:\n    """Empty."""\n\n    def test_a(self):\n        pass\n\n\ndef test_x():\n    pass\n\n\ndef test_x():\n    assert 1 == 2\n'
    assert without_empty_tests(same_name) == "def test_x():\n    assert 1 == 2\n"


def test_the_modules_a_traceback_asked_for_a_name_they_lack_are_found():
    log = ("ImportError: cannot import name 'write_table' from 'fastparquet' (/usr/local/lib/python3.11/dist-packages/fastparquet/__init__.py)\n"
           "ModuleNotFoundError: No module named 'sklearn.graph'\nModuleNotFoundError: No module named 'pandas'\n"
           "AttributeError: module 'networkx.algorithms' has no attribute 'kosaraju'\nAttributeError: 'list' object has no attribute 'x'\n")  # fmt: skip
    # a missing top-level package is the image's to install (with_what_it_lacks), not a name to look up
    assert reference_run.lacking_modules(log) == ["fastparquet", "networkx.algorithms", "sklearn"]


@pytest.mark.docker
async def test_a_solution_that_imports_a_name_its_module_lacks_is_shown_what_the_module_offers_in_the_real_image(docker_engine, tmp_path):
    # run R: `from fastparquet import write_table` and `sklearn.graph`, rewritten blind in every round of two tasks
    wrong = "#!/bin/bash\npython3 -c 'from csv import DictWriterr' && wc -w < /app/input.txt > /app/count.txt\n"
    model = Model(solutions=[wrong, REFERENCE])
    verification = _Verification(LLM(ScriptedBackend(model)), SPEC, FILES, DOCKERFILE, CONFIG, tmp_path, 0, 3, "docker", None, "", lambda _m: None,
                                 reference_run=reference_run.run_reference)  # fmt: skip
    assert await verification.write_reference() and verification.solution == REFERENCE
    told = model.prompts["solution"][1]
    assert "cannot import name 'DictWriterr' from 'csv'" in told and "- `csv` offers: Dialect, DictReader, DictWriter, " in told


async def test_a_solution_that_reads_a_column_its_input_lacks_is_told_the_inputs_real_columns(tmp_path, monkeypatch):
    from termigen_harbor.synthesis import verify

    # run T: `KeyError: 'stock'` from a CSV whose header is `product_id,stock_level`, three references running
    monkeypatch.setattr(verify, "installed_versions", lambda files, dockerfile: {})
    logs = iter(["Traceback (most recent call last):\n  File \"<stdin>\", line 4, in <module>\nKeyError: 'stock'\n", ""])

    def run(files, dockerfile, solution, outputs):
        log = next(logs)
        return parse_run(f"@@termigen-reference exit {1 if log else 0}\n{log}@@termigen-reference output /app/count.txt\n" + ("" if log else "5\n"), outputs)

    files = {**FILES, "data/stock.csv": BundleFile.text("product_id,stock_level\n1,50\n"), "data/levels.json": BundleFile.text('[{"product_id": 1, "reorder_level": 40}]')}
    model = Model(solutions=[REFERENCE, REFERENCE])
    verification = _Verification(LLM(ScriptedBackend(model)), SPEC, files, DOCKERFILE, CONFIG, tmp_path, 0, 3, "docker", None, "", lambda _m: None, reference_run=run)
    assert await verification.write_reference()
    told = model.prompts["solution"][1]
    assert ("`stock` is no column or key of any input. What the inputs really have (use these names): "
            "`data/levels.json`: product_id, reorder_level; `data/stock.csv`: product_id, stock_level") in told
    # a key the inputs do have is the program's own affair (a dict it built): nothing is added
    assert reference_run.unknown_keys_hint("KeyError: 'stock_level'\n", files) == ""
    assert reference_run.unknown_keys_hint("KeyError: 'stock'\n", FILES) == ""  # no CSV or JSON input to show


def test_a_failed_run_that_opened_a_missing_file_by_a_relative_path_is_told_to_use_absolute_paths():
    # run R: `open('data.json')` in three references, the image's WORKDIR being /app/output
    crashed = "Traceback (most recent call last):\n  File \"<stdin>\", line 2, in <module>\nFileNotFoundError: [Errno 2] No such file or directory: 'data.json'\n"
    run = parse_run(f"@@termigen-reference exit 1\n{crashed}", ["/app/count.txt"])
    assert "it opened `data.json` by a relative path, which is looked up in the folder solve.sh runs in" in run.problem()
    shell = parse_run("@@termigen-reference exit 1\ncat: input.txt: No such file or directory\n", ["/app/count.txt"])
    assert "it opened `input.txt` by a relative path" in shell.problem()
    clean = parse_run("@@termigen-reference exit 0\nrm: cannot remove 'tmp': No such file or directory\ncat: scratch.txt: No such file or directory\n"
                      "@@termigen-reference output /app/count.txt\n5\n", ["/app/count.txt"])  # fmt: skip
    assert clean.problem() is None  # a clean run is clean whatever it printed
    absolute = parse_run("@@termigen-reference exit 1\ncat: /app/input.txt: No such file or directory\n", ["/app/count.txt"])
    assert "relative path" not in absolute.problem()
