import json

import pytest

from termigen_harbor.llm import LLM, ChatRequest, ScriptedBackend
from termigen_harbor.synthesis.spec import dedupe, near_duplicate, refine_spec, write_seeds
from termigen_harbor.taxonomy import load_taxonomy

CATEGORY = next(c for c in load_taxonomy("termigen").categories if c.id == "build_compilation")
SPEC = {
    "title": "fix-static-lib-link-order", "objective": "Make the build of /app/calc link.", "inputs": ["/app/calc: a C project"],
    "outputs": ["/app/calc/bin/calc"], "success_criteria": ["make succeeds", "bin/calc prints 4 for 2+2", "make clean removes build/"],
    "difficulty": "medium",
}  # fmt: skip


def evaluation(env, data, verify, feedback=""):
    return json.dumps({"environment_complexity": env, "data_generatability": data, "verification_determinism": verify, "feedback": feedback})


def test_near_duplicate_seeds_are_dropped_within_the_run_and_against_existing():
    assert near_duplicate("Resolving gcc -l library not found errors", "resolving gcc library not found errors")
    assert not near_duplicate("Resolving gcc -l library not found errors", "Fixing a CMake toolchain file for ARM")
    kept, dropped = dedupe(["Fix makefile missing separator", "Fix the Makefile missing separator", "Cargo linker failure on musl"], ["cargo linker failure on musl target"])
    assert kept == ["Fix makefile missing separator"] and len(dropped) == 2


async def test_seeds_are_written_and_deduplicated():
    backend = ScriptedBackend([json.dumps({"seeds": ["Fix makefile missing separator", "fix the makefile missing separator", "CMake cannot find zlib"]})])
    kept, dropped = await write_seeds(LLM(backend), CATEGORY, 2, existing=["gcc_cannot_find_library"])
    assert kept == ["Fix makefile missing separator", "CMake cannot find zlib"] and dropped == ["fix the makefile missing separator"]
    prompt = backend.requests[0].messages[-1].content
    assert "Software Build & Compilation" in prompt and "gcc_cannot_find_library" in prompt
    assert "no internet while the task is solved or checked" in prompt and "generated inside the image" in prompt
    assert "no database server" in prompt and "the file the result goes to" in prompt


async def test_a_seed_copied_from_a_template_is_dropped_and_the_model_asked_for_another():
    template_seed = "Fixing a Makefile whose library link order breaks the build"  # the 1.5B model copied template seeds
    backend = ScriptedBackend([json.dumps({"seeds": [template_seed, "CMake cannot find zlib in /app/proj"]}),
                               json.dumps({"seeds": ["Fix the missing include path of /app/tool/Makefile"]})])  # fmt: skip
    kept, dropped = await write_seeds(LLM(backend), CATEGORY, 2, existing=[])
    assert kept == ["CMake cannot find zlib in /app/proj", "Fix the missing include path of /app/tool/Makefile"]
    assert dropped == [template_seed]
    again = backend.requests[1].messages[-1].content
    assert "Write 1 distinct task seeds" in again and template_seed in again and "CMake cannot find zlib" in again


async def test_seeds_that_are_paths_not_problems_go_back_to_the_model():
    paths = json.dumps({"seeds": ["/app/data/warehouse_data.csv", "/app/data/sales.csv"]})  # what the 1.5B model once wrote
    backend = ScriptedBackend([paths, json.dumps({"seeds": ["Merge two CSV exports that disagree on dates"]})])
    kept, _ = await write_seeds(LLM(backend), CATEGORY, 1, existing=[])
    assert kept == ["Merge two CSV exports that disagree on dates"]
    assert "not a path or a name" in backend.requests[1].messages[-1].content


async def test_a_low_scoring_spec_is_revised_with_the_feedback_then_accepted():
    revised = {**SPEC, "success_criteria": SPEC["success_criteria"] + ["bin/calc exits 1 on bad input"]}
    backend = ScriptedBackend([json.dumps(SPEC), evaluation(5, 5, 2, "tests cannot check 'links' without running the binary"),
                               json.dumps(revised), evaluation(3, 5, 4), evaluation(4, 5, 4, "bad input handling is loosely specified"),
                               evaluation(5, 5, 5), evaluation(4, 5, 4, "bad input handling is loosely specified")])  # fmt: skip
    outcome = await refine_spec(LLM(backend), "static lib link order", CATEGORY)
    assert outcome.accepted and outcome.spec.success_criteria[-1] == "bin/calc exits 1 on bad input" and len(outcome.rounds) == 2
    second_proposal = backend.requests[2].messages[-1].content
    assert "tests cannot check 'links'" in second_proposal and "fix-static-lib-link-order" in second_proposal
    assert "explain every score below 4" in backend.requests[4].messages[-1].content  # a rejecting score without a reason goes back
    assert outcome.rounds[-1].evaluation.feedback == "bad input handling is loosely specified"


async def test_a_borderline_review_is_the_median_of_three_and_a_clear_one_decides_alone():
    # as the 1.5B Evaluator scored one unchanged spec in a real run: 3-4-5, then 4-3-5, then 4-5-3
    backend = ScriptedBackend([json.dumps(SPEC), evaluation(3, 4, 5, "environment thin"), evaluation(4, 3, 5, "data vague"), evaluation(4, 5, 3, "outputs vague")])
    outcome = await refine_spec(LLM(backend), "static lib link order", CATEGORY)
    assert outcome.accepted and len(outcome.rounds) == 1 and len(backend.requests) == 4
    assert outcome.rounds[0].evaluation.scores() == (4, 4, 5) and [s.scores() for s in outcome.rounds[0].samples] == [(3, 4, 5), (4, 3, 5), (4, 5, 3)]
    # two of three below the threshold on one score: rejected, with the feedback of the two that rejected
    backend = ScriptedBackend([json.dumps(SPEC), evaluation(3, 5, 5, "a toy"), evaluation(5, 5, 5), evaluation(3, 4, 5, "one file only")])
    outcome = await refine_spec(LLM(backend), "static lib link order", CATEGORY, max_rounds=1)
    assert not outcome.accepted and outcome.rounds[0].evaluation.scores() == (3, 5, 5) and outcome.rounds[0].evaluation.feedback == "a toy\none file only"
    for clear, accepted in ((evaluation(5, 5, 5), True), (evaluation(5, 2, 5, "inputs must be downloaded"), False)):  # one review, no more
        backend = ScriptedBackend([json.dumps(SPEC), clear])
        outcome = await refine_spec(LLM(backend), "static lib link order", CATEGORY, max_rounds=1)
        assert outcome.accepted is accepted and len(backend.requests) == 2 and outcome.rounds[0].samples == []


async def test_a_spec_that_never_reaches_the_threshold_is_rejected_with_scores_and_reasons():
    def reply(request: ChatRequest) -> str:
        return evaluation(3, 4, 4, "needs a GPU") if "review a proposed" in request.messages[-1].content else json.dumps(SPEC)

    outcome = await refine_spec(LLM(ScriptedBackend(reply)), "cuda build", CATEGORY, threshold=4, max_rounds=3)
    assert not outcome.accepted and len(outcome.rounds) == 3
    assert "environment 3" in outcome.reason and "needs a GPU" in outcome.reason


def test_verifier_examples_are_cut_to_fit_a_small_prompt_and_call_nothing_they_leave_out():
    from termigen_harbor.synthesis.examples import MAX_TEST_EXAMPLE, all_examples, examples_for
    from termigen_harbor.synthesis.python_source import undefined_names

    for template in all_examples():  # a 1.5B model copies the example's tests, calls and all
        assert "\ndef test_" in template.tests and undefined_names(template.tests) == [], template.name
    maze = next(e for e in all_examples() if e.name == "grid-shortest-path")
    assert maze.tests.startswith('"""Tests for /app/solve_maze.py') and "import pytest" in maze.tests and len(maze.tests) < 2000
    assert "def run_solver" in maze.tests and "def reference_cost" not in maze.tests  # the helper its first tests call, not the others
    assert maze.tests.endswith("# (further helpers and tests left out of this excerpt)\n")
    [example] = examples_for("algorithms", 1, max_test_chars=MAX_TEST_EXAMPLE)
    assert example.name == "grid-shortest-path"  # its own category's, not the nginx template's HTTP tests (which the model copied)
    [example] = examples_for("data_etl", 1, max_test_chars=MAX_TEST_EXAMPLE)  # its tests need 6,000 characters of helpers
    assert example.category != "data_etl" and len(example.tests) <= MAX_TEST_EXAMPLE


def test_the_test_generator_is_shown_only_an_example_of_its_category_that_runs_no_program_the_task_does_not_name():
    from termigen_harbor.synthesis.verify import verifier_example

    # the 1.5B copied the maze template's SOLVER = Path("/app/solve_maze.py") into tasks whose outputs were files
    assert verifier_example("algorithms", "Outputs: /app/output/city_path.json") is None
    assert verifier_example("algorithms", "Write /app/solve_maze.py, which prints the cost").name == "grid-shortest-path"
    # an output path of the example's own task is no program: the check on unnamed files handles a copied one
    assert verifier_example("security_forensics", "Outputs: /app/findings.json").name == "auth-log-forensics"
    assert verifier_example("data_etl", "Outputs: /app/out.csv") is None  # its own is too long, and another category's is copied whole


def test_success_criteria_that_restate_the_constraints_are_dropped_while_three_are_left():
    from pydantic import ValidationError

    from termigen_harbor.synthesis.spec import TaskSpec

    # as the 1.5B Proposer wrote them (a real run): the prompt's constraints copied in as criteria
    written = ["The agent finds the shortest path.", "The path is written to /app/path.txt.", "The path length is minimal.",
               "No network access is needed during the execution.", "A correct solution takes an expert 5 to 30 minutes.",
               "The container environment meets all specified constraints and requirements."]  # fmt: skip
    spec = TaskSpec(title="maze", objective="o", inputs=[], outputs=["/app/path.txt"], success_criteria=written, difficulty="easy")
    assert spec.success_criteria == written[:3]
    # and as an output, three replies running: it names no file, and goes while another output is left
    copied = "tmux: running in a Docker container built FROM a Debian bookworm image with python3, pip, tmux and curl; no network access is needed"
    outputs = ["/app/output/translated.txt: a JSON object with keys `lines`", copied, "/app/output/log.json: a JSON object"]
    assert TaskSpec(title="jq-log", objective="o", inputs=[], outputs=outputs, success_criteria=written, difficulty="easy").outputs == [outputs[0], outputs[2]]
    with pytest.raises(ValidationError, match="name no file"):
        TaskSpec(title="jq-log", objective="o", inputs=[], outputs=[copied], success_criteria=written, difficulty="easy")
    few = ["/app/out.txt exists", "It holds the sum", "The task runs in a Docker container with 1 CPU"]
    assert TaskSpec(title="sum", objective="o", inputs=[], outputs=["/app/out.txt"], success_criteria=few, difficulty="easy").success_criteria == few


def test_a_bare_relative_input_or_output_is_named_as_the_file_in_the_working_directory():
    from termigen_harbor.synthesis.spec import TaskSpec

    # as the 1.5B Proposer wrote them (a real run): outputs ['corrected.json'], inputs ['corrupted.json']
    # and `app/output/fixed_config_file`, the working directory written without its slash, and a relative path before its description (run M);
    # `Makefile` in and out, a file known by its name (run T: three identical proposals sent back for naming no file)
    given = ["corrected.json", "./data/orders.csv", "output/", "/var/log/app.log", "app/output/fixed.conf", "output/log.json: the translated log",
             "Makefile", "stdout", "../etc/passwd", "a JSON report", ".env", "tmux: running in a container", "make"]  # fmt: skip
    spec = TaskSpec(title="repair-json", objective="o", inputs=given, outputs=given[:7], success_criteria=["a", "b", "c"], difficulty="easy")
    named = ["/app/corrected.json", "/app/data/orders.csv", "/app/output/", "/var/log/app.log", "/app/output/fixed.conf", "/app/output/log.json: the translated log",
             "/app/Makefile", "stdout", "../etc/passwd", "a JSON report", ".env", "tmux: running in a container", "make"]  # fmt: skip
    assert spec.inputs == named and spec.outputs == named[:7]


def test_a_task_that_changes_files_and_names_no_input_ships_the_files_it_changes():
    from termigen_harbor.synthesis.spec import TaskSpec

    # run P: the 1.5B's nginx spec named no input, so the image never held the file three references failed to read
    outputs = ["/app/nginx/conf.d/default.conf: a text file with the modified nginx configuration", "/app/output/change.log: log of the actions taken"]
    spec = TaskSpec(title="nginx-title", objective="Change the title tag in the nginx site.", inputs=[], outputs=outputs, success_criteria=["a", "b", "c"], difficulty="easy")
    assert spec.inputs == ["/app/nginx/conf.d/default.conf"]
    saved_back = spec.model_copy(update={"objective": "Fix the title; the new content is saved back to the file.", "outputs": ["/app/site.conf: the configuration"]})
    assert TaskSpec.model_validate(saved_back.model_dump() | {"inputs": []}).inputs == ["/app/site.conf"]
    made = TaskSpec(title="gen-report", objective="Generate a report of the primes below 100.", inputs=[], outputs=["/app/report.txt: the report"],
                    success_criteria=["a", "b", "c"], difficulty="easy")  # fmt: skip
    assert made.inputs == []  # nothing changed: nothing to ship
    assert TaskSpec.model_validate(made.model_dump() | {"objective": "Write the correct count of primes below 100, fixed width."}).inputs == []
    assert TaskSpec.model_validate(made.model_dump() | {"inputs": ["/app/x.csv"], "objective": "Fix it"}).inputs == ["/app/x.csv"]


async def test_an_output_that_names_no_file_goes_back_to_the_proposer_before_anything_is_built():
    from pydantic import ValidationError

    from termigen_harbor.synthesis.spec import TaskSpec

    def spec(outputs: list[str]) -> TaskSpec:
        return TaskSpec(title="profile-django", objective="o", inputs=[], outputs=outputs, success_criteria=["a", "b", "c"], difficulty="easy")

    # as the 1.5B Proposer wrote them, and its Evaluator passed them (a real run): the tests then invented paths
    with pytest.raises(ValidationError, match=r"name no file: \['Database query profiling report'\]"):
        spec(["/app/app/views.py: the optimized view", "Database query profiling report"])
    for named in ["/app/report.json: a JSON object", "report.txt", "The file /var/log/app.log holds one line per request",
                  "nginx serving /app/site on port 8080", "an HTTP service on localhost:5000"]:  # fmt: skip
        assert spec([named]).outputs
    for vague in ["stdout", "a JSON report", "https://example.com/x", "the fixed w/o errors app", "../etc/passwd"]:
        with pytest.raises(ValidationError, match="name no file"):
            spec([vague])

    with pytest.raises(ValidationError, match="services with no port number"):  # as in a real run
        spec(["/app/output/log.json: JSON", "/app/port/monitoring: TCP port where the monitoring service listens for log requests"])
    assert spec(["/app/ports.json: the port that each service listens on, as JSON", "a service listening on port 8080"]).outputs

    vague_spec = SPEC | {"outputs": ["Database query profiling report"]}
    backend = ScriptedBackend([json.dumps(vague_spec), json.dumps(SPEC), evaluation(5, 5, 5)])
    outcome = await refine_spec(LLM(backend), "profile a slow django view", CATEGORY)
    assert outcome.accepted and outcome.spec.outputs == ["/app/calc/bin/calc"]
    assert "name no file" in backend.requests[1].messages[-1].content  # the Proposer was told what was wrong


def test_the_checks_that_send_tests_back_accept_every_hand_written_template():
    from pathlib import Path

    from termigen_harbor.synthesis.checks import python_problem, stray_statements_problem, unnamed_files

    for template in sorted(p for p in Path(__file__).parents[1].joinpath("task_templates").iterdir() if (p / "task.toml").exists()):
        tests, env = (template / "tests" / "test_outputs.py").read_text(), template / "environment"
        named = "\n".join([(template / "instruction.md").read_text(), (env / "Dockerfile").read_text(),
                           *(f"/app/{p.relative_to(env)}" for p in env.rglob("*") if p.is_file())])  # fmt: skip
        assert (python_problem(tests), stray_statements_problem(tests), unnamed_files(tests, named)) == (None, None, []), template.name


def test_a_proposed_output_where_the_system_writes_is_dropped_beside_others_and_alone_goes_back():
    from pydantic import ValidationError

    from termigen_harbor.synthesis.spec import ProposedSpec, TaskSpec

    def proposed(outputs: list[str]) -> list[str]:
        return ProposedSpec(title="fix-nginx-title", objective="o", inputs=[], outputs=outputs, success_criteria=["a", "b", "c"], difficulty="easy").outputs

    # run R: nginx's own error log as an output, which every solution then "left unchanged"
    assert proposed(["/app/index.html: the fixed page", "/var/log/nginx/error.log: no errors"]) == ["/app/index.html: the fixed page"]
    with pytest.raises(ValidationError, match=r"files the system or a service writes, not a solution: \['The log /proc/1/status'\]"):
        proposed(["The log /proc/1/status"])
    kept = ["/app/var/log/x.log", "/devices.txt", "/run.sh", "/var/logs/x", "A summary of /var/log/syslog written to /app/summary.txt",
            "/app/summary.txt: what /var/log/syslog holds"]  # fmt: skip
    assert proposed(kept) == kept
    # a spec saved before the check loads as it was
    assert TaskSpec(title="t-x", objective="o", inputs=[], outputs=["/var/log/x.log"], success_criteria=["a", "b", "c"], difficulty="easy").outputs == ["/var/log/x.log"]


async def test_a_proposal_whose_only_inputs_are_its_outputs_goes_back_unless_it_changes_them_in_place():
    from termigen_harbor.synthesis.spec import ProposedSpec, TaskSpec

    # run R: the counts file was the only input, and it already held counts; every test round then crashed
    counts = SPEC | {"objective": "Analyze log files for error messages and count them by severity level in /app/log_counts.txt",
                     "inputs": ["/app/log_counts.txt"], "outputs": ["/app/log_counts.txt: a JSON object with the count of each level"]}  # fmt: skip
    backend = ScriptedBackend([json.dumps(counts), json.dumps(SPEC), evaluation(5, 5, 5)])
    outcome = await refine_spec(LLM(backend), "count log messages by severity", CATEGORY)
    assert outcome.accepted and outcome.spec == TaskSpec.model_validate(SPEC) and type(outcome.spec) is TaskSpec
    assert "every input is also an output (/app/log_counts.txt)" in backend.requests[1].messages[-1].content
    # changed in place, as the objective or the output says: the input it rewrites is what it reads
    repairs = [("Configure nginx so it serves /app/site on port 8080", [], "/etc/nginx/conf.d/default.conf: the modified configuration"),
               ("Sort the rows by date", ["data.csv"], "data.csv: the rows, by date"),
               ("Make the script work", ["/app/run.sh"], "/app/run.sh: the corrected script")]  # fmt: skip
    for objective, inputs, output in repairs:
        assert ProposedSpec.model_validate(counts | {"objective": objective, "inputs": inputs, "outputs": [output]}).inputs
    assert TaskSpec.model_validate(counts).inputs == ["/app/log_counts.txt"]  # a spec saved before the check still loads
    in_place = counts | {"objective": "Fix the malformed lines of /app/log_counts.txt in place"}
    backend = ScriptedBackend([json.dumps(in_place), evaluation(5, 5, 5)])
    assert (await refine_spec(LLM(backend), "repair the counts file", CATEGORY)).accepted and len(backend.requests) == 2
