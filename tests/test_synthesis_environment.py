import json

import pytest

from termigen_harbor.llm import LLM, ScriptedBackend, StructuredOutputError
from termigen_harbor.synthesis.spec import TaskSpec
from termigen_harbor.synthesis.checks import context_problem, dockerfile_problem
from termigen_harbor.synthesis.python_source import python_fixed, undefined_names, with_missing_imports, with_typos_fixed, without_broken_tests
from termigen_harbor.synthesis.environment import fit_to_context, PlannedFile, as_instructions, construct_files, plan_files, write_dockerfile

SPEC = TaskSpec(title="fix-cron-env", objective="Make the backup cron job run.", inputs=["/etc/cron.d/backup"], outputs=["/var/backups/db.tar.gz"],
                success_criteria=["cron line valid", "script executable", "backup exists"], difficulty="easy")  # fmt: skip


async def test_the_blueprint_refuses_paths_outside_and_drops_what_must_not_be_in_the_image():
    plan = {"files": [{"path": "cron/backup", "purpose": "broken cron file"}, {"path": "tests/test_outputs.py", "purpose": "x"},
                      {"path": "solution/solve.sh", "purpose": "x"}, {"path": "Dockerfile", "purpose": "x"},
                      {"path": "db.tar.gz", "purpose": "the backup"}]}  # fmt: skip  (the last is the task's output: the agent makes it)
    files = await plan_files(LLM(ScriptedBackend([json.dumps(plan)])), SPEC)
    assert [(f.path, f.purpose) for f in files] == [("etc/cron.d/backup", "broken cron file (in the image at /etc/cron.d/backup)")]  # where the spec's input is
    good = json.dumps({"files": [{"path": "maze.txt", "purpose": "the maze"}]})
    backend = ScriptedBackend([json.dumps({"files": [{"path": "../../outside", "purpose": "x"}]}), good])  # goes back to the model with the reason
    assert [f.path for f in await plan_files(LLM(backend), SPEC)] == ["maze.txt"]
    assert "relative to the Docker build context" in backend.requests[1].messages[-1].content
    with pytest.raises(StructuredOutputError, match="leaves the bundle"):  # and a model that insists gets no blueprint
        await plan_files(LLM(ScriptedBackend([json.dumps({"files": [{"path": "../etc/passwd", "purpose": "x"}]})] * 3)), SPEC)
    # a place in the image (what the 1.5B model wrote three times in a real run) is a path in the context, and the purpose keeps the place
    placed = {"files": [{"path": "/app/data/orders.csv", "purpose": "orders"}, {"path": "/etc/cron.d/job", "purpose": "the cron line"}]}
    files = await plan_files(LLM(ScriptedBackend([json.dumps(placed)])), SPEC)
    assert [(f.path, f.purpose) for f in files] == [("data/orders.csv", "orders (in the image at /app/data/orders.csv)"), ("etc/cron.d/job", "the cron line (in the image at /etc/cron.d/job)")]
    # the task's output as the spec words it (`path: format`), planned with the colon (a real run): the agent makes it
    parquet = SPEC.model_copy(update={"outputs": ["/app/output/summary.parquet: a Parquet file summarising /app/data/orders.csv"]})
    planned = {"files": [{"path": "data/orders.csv", "purpose": "orders"}, {"path": "output/summary.parquet: ", "purpose": "the summary"}]}
    assert [f.path for f in await plan_files(LLM(ScriptedBackend([json.dumps(planned)])), parquet)] == ["data/orders.csv"]
    # a config repaired in place is an input and an output (run N: dropped, the reference found no file to repair three rounds running)
    in_place = SPEC.model_copy(update={"inputs": ["/app/config.txt"], "outputs": ["/app/config.txt: the corrected configuration"]})
    planned = {"files": [{"path": "config.txt", "purpose": "a config with misspelled keys"}]}
    assert [f.path for f in await plan_files(LLM(ScriptedBackend([json.dumps(planned)])), in_place)] == ["config.txt"]
    # an input named as an output elsewhere is the input (run S: /app/config.txt dropped for /app/output/config.txt, never built in 5 attempts)
    renamed = SPEC.model_copy(update={"inputs": ["/app/config.txt"], "outputs": ["/app/output/config.txt: the corrected configuration"]})
    planned = {"files": [{"path": "config.txt", "purpose": "a config with misspelled keys"}, {"path": "output/config.txt", "purpose": "the fixed one"}]}
    assert [f.path for f in await plan_files(LLM(ScriptedBackend([json.dumps(planned)])), renamed)] == ["config.txt"]
    # a file planned by its name alone, for an input the spec places in a folder (run N: copied to /app/edges.csv, the reference found nothing)
    graph = SPEC.model_copy(update={"inputs": ["/app/graphs/edges.csv", "/app/a/cfg.json", "/app/b/cfg.json"], "outputs": ["/app/sccs.txt"]})
    planned = {"files": [{"path": "edges.csv", "purpose": "the graph"}, {"path": "cfg.json", "purpose": "a config"}, {"path": "a/cfg.json", "purpose": "a"}]}
    assert [(f.path, f.purpose) for f in await plan_files(LLM(ScriptedBackend([json.dumps(planned)])), graph)] == [
        ("graphs/edges.csv", "the graph (in the image at /app/graphs/edges.csv)"), ("cfg.json", "a config"), ("a/cfg.json", "a")]  # two inputs of that name: left as planned


async def test_each_file_is_written_separately_with_the_whole_blueprint_in_view():
    plan = {"files": [{"path": "cron/backup", "purpose": "broken cron file"}, {"path": "gen_data.py", "purpose": "generates the db"}]}
    backend = ScriptedBackend([json.dumps(plan), "```\n* * * * root /usr/local/bin/backup\n```", "Here it is:\n```python\nprint('x')\n```\n"])
    llm = LLM(backend)
    files = await construct_files(llm, SPEC, await plan_files(llm, SPEC))
    assert files["etc/cron.d/backup"].content.startswith(b"* * * *") and files["gen_data.py"].executable
    assert "`gen_data.py`" in backend.requests[2].messages[-1].content and "etc/cron.d/backup: broken cron file" in backend.requests[2].messages[-1].content


async def test_the_dockerfile_must_start_from_the_configured_base_and_sees_the_build_error():
    assert "its first FROM is ubuntu:24.04" in dockerfile_problem("FROM ubuntu:24.04\n", "termigen/base:bookworm")
    assert "missing" in dockerfile_problem("RUN echo hi\n", "termigen/base:bookworm")
    assert dockerfile_problem("# comment\nFROM termigen/base:bookworm\n", "termigen/base:bookworm") is None
    backend = ScriptedBackend(["```dockerfile\nFROM termigen/base:bookworm\nRUN apt-get install -y cron\n```"])
    text = await write_dockerfile(LLM(backend), SPEC, [], build_error="E: Unable to locate package cronie", previous="FROM termigen/base:bookworm\nRUN apt-get install -y cronie\n")
    assert text.endswith("\n") and "Unable to locate package cronie" in backend.requests[0].messages[-1].content


async def test_a_file_comes_back_as_raw_text_and_a_broken_one_goes_back_with_the_checkers_output():
    source = 'import json\nprint(json.dumps({"path": "C:\\\\data", "quote": "\\"x\\""}))\n'  # backslashes and quotes, unescaped
    backend = ScriptedBackend([
        "```python\ndef main(:\n    pass\n```",  # a syntax error: py_compile's message goes back
        f"```python\n{source}```",
    ])  # fmt: skip
    files = await construct_files(LLM(backend), SPEC, [PlannedFile(path="gen.py", purpose="generator")])
    assert files["gen.py"].content.decode() == source
    repair = backend.requests[1].messages[-1].content
    assert "py_compile gen.py" in repair and "line 1" in repair and "def main(:" in repair


async def test_a_json_file_the_task_says_is_broken_goes_back_when_it_parses_and_is_broken_at_last():
    # run R: "correct a malformed character in /app/data.json", and the 1.5B Constructor wrote it valid
    spec = SPEC.model_copy(update={"objective": "Fix a JSON file's parsing issue by correcting a malformed character in /app/data.json"})
    valid, broken = '{\n  "name": "Ann",\n  "age": 30\n}\n', '{\n  "name": "Ann"\n  "age": 30\n}\n'
    backend = ScriptedBackend([f"```json\n{valid}```", f"```json\n{broken}```"])
    files = await construct_files(LLM(backend), spec, [PlannedFile(path="data.json", purpose="the JSON file to repair")])
    assert files["data.json"].content.decode() == broken
    assert "the task says data.json is broken, but it parses as valid JSON" in backend.requests[1].messages[-1].content
    files = await construct_files(LLM(ScriptedBackend([f"```json\n{valid}```"] * 3)), spec, [PlannedFile(path="data.json", purpose="the JSON file to repair")])
    assert files["data.json"].content.decode() == '{\n  "name": "Ann",\n  "age": 30,\n}\n'  # a trailing comma, the last resort
    # a JSON file the task does not call broken (or another file) is left as written
    other = [PlannedFile(path="config.json", purpose="settings"), PlannedFile(path="data.json", purpose="the data")]
    files = await construct_files(LLM(ScriptedBackend([f"```json\n{valid}```"] * 2)), SPEC, other)
    assert [f.content.decode() for f in files.values()] == [valid, valid]


async def test_python_gets_the_standard_imports_it_forgot_and_goes_back_for_any_other_name_it_never_imports():
    # the 1.5B model's tests called mysql.connector, subprocess and pytest without importing them (runs of 2026-12-03)
    uses = '"""Checks."""\nimport json\n\ndef test_db(tmp_path):\n    conn = mysql.connector.connect(host="localhost")\n    assert subprocess.run(["true"]).returncode == 0\n'
    fine = "import mysql.connector\nLIMIT = 3\n\ndef helper(rows, *rest):\n    return [r for r in rows if r < LIMIT], len, rest, http.client.OK\n\n" \
           "class Db:\n    def open(self):\n        return Db, mysql.connector.connect(), pytest.fail, __file__\n"  # fmt: skip
    backend = ScriptedBackend([f"```python\n{uses}```", f"```python\n{fine}```"])
    files = await construct_files(LLM(backend), SPEC, [PlannedFile(path="check.py", purpose="a checker")])
    repair = backend.requests[1].messages[-1].content
    assert "check.py uses `mysql`, which it never imports or defines" in repair  # subprocess was imported for it
    assert "- `mysql` in: conn = mysql.connector.connect(host=\"localhost\")" in repair  # where, for a model that looks again
    assert files["check.py"].content.decode() == "import http.client\nimport pytest\n" + fine
    assert with_missing_imports(uses).startswith('"""Checks."""\nimport subprocess\nimport json\n')
    assert with_missing_imports("def test_it():\n    assert Path('/app').exists()\n").startswith("from pathlib import Path\n")


def test_only_functions_that_read_an_undefined_name_and_those_relying_on_them_are_dropped_and_only_while_a_test_is_left():
    source = ("import pytest\nfrom pathlib import Path\n\n\n@pytest.fixture\ndef expected():\n    return expected_features_data.strip()\n\n\n"
              "def test_features(expected):\n    assert Path('/app/f.txt').read_text() == expected\n\n\n"
              "def helper():\n    result = 1\n    return result + missing_value\n\n\n"
              "def test_helper():\n    assert helper() == 2\n\n\n"
              "@pytest.mark.parametrize('n', [1, 2])\ndef test_kept(n, tmp_path):\n    result = n\n    assert result > 0\n")  # fmt: skip
    kept = "import pytest\nfrom pathlib import Path\n\n\n@pytest.mark.parametrize('n', [1, 2])\ndef test_kept(n, tmp_path):\n    result = n\n    assert result > 0\n"
    assert without_broken_tests(source) == kept and undefined_names(kept) == []
    only_broken = "def test_a():\n    assert undefined_a\n"
    at_module_level = "VALUE = undefined_b\n\ndef test_a():\n    assert VALUE\n\ndef test_b():\n    assert undefined_c\n"
    in_a_class = "class TestX:\n    def test_a(self):\n        assert undefined_d\n\ndef test_b():\n    assert True\n"
    for source in (only_broken, at_module_level, in_a_class, "def broken(:\n", "def test_fine():\n    assert True\n"):
        assert without_broken_tests(source) == source  # nothing to mend by dropping: the check sends it back
    # a test method found at fault (it crashed on the reference's outputs) goes from its class; a class left with no test goes whole
    classes = ("class TestSum:\n    def setup_method(self):\n        self.n = 1\n\n    def test_exists(self):\n        assert self.n\n\n"
               "    def test_value(self):\n        assert int('a')\n\n\nclass TestOther:\n    def test_bad(self):\n        assert int('b')\n")  # fmt: skip
    crashed = lambda function: "def test_value(" in function or "def test_bad(" in function  # noqa: E731
    assert without_broken_tests(classes, also=crashed) == "class TestSum:\n    def setup_method(self):\n        self.n = 1\n\n    def test_exists(self):\n        assert self.n\n\n"


async def test_a_shell_script_must_pass_bash_n_and_a_dockerfile_must_start_from_the_base():
    backend = ScriptedBackend(["```bash\nif true; then echo x\n```", "```bash\nif true; then echo x; fi\n```"])
    files = await construct_files(LLM(backend), SPEC, [PlannedFile(path="setup.sh", purpose="setup")])
    assert files["setup.sh"].executable and "bash -n" in backend.requests[1].messages[-1].content
    # the base is ours: what the 1.5B model wrote (the base commented out, an image no registry here serves) is built on it
    written = "```dockerfile\n# FROM termigen/base:bookworm\nFROM python:3.10-slim AS app\nWORKDIR /app\nCOPY maze.txt /app/\n```"
    maze = [PlannedFile(path="maze.txt", purpose="the maze")]
    assert await write_dockerfile(LLM(ScriptedBackend([written])), SPEC, maze) == "FROM termigen/base:bookworm AS app\nWORKDIR /app\nCOPY maze.txt /app/\n"
    assert await write_dockerfile(LLM(ScriptedBackend(["```dockerfile\nRUN true\n```"])), SPEC, []) == "FROM termigen/base:bookworm\nRUN true\n"
    backend = ScriptedBackend(["```dockerfile\nFROM termigen/base:bookworm\nADD http://x/y.tgz /\n```", "```dockerfile\nFROM termigen/base:bookworm\n```"])
    assert await write_dockerfile(LLM(backend), SPEC, []) == "FROM termigen/base:bookworm\n"
    assert "ADD <url>" in backend.requests[1].messages[-1].content  # the other checks still send it back


async def test_a_dockerfile_is_fitted_to_its_build_context_and_what_cannot_be_fitted_goes_back_before_any_build():
    maze = [PlannedFile(path="maze.txt", purpose="the maze"), PlannedFile(path="etc/cron.d/job", purpose="the cron line (in the image at /etc/cron.d/job)")]
    # as the 1.5B model wrote them in a real run, again after every reason it was given: a shell line outside RUN,
    # `pip install -r` of a file the context lacks, a COPY of a name the blueprint does not have, planned files never copied
    written = ("```dockerfile\nFROM termigen/base:bookworm\napt-get update && apt-get install -y \\\n    # tools\n    jq\n"
               "RUN pip install --no-cache-dir -r requirements.txt\nCOPY requirements.txt ./\nCOPY data.csv ./\nRUN python3 generate_restore_script.py\n"
               "RUN cat <<'EOF' > /app/gen.py\nprint(1)\nEOF\nRUN python3 /app/gen.py\nENTRYPOINT [\"tmux\", \"s\", \"start\"]\nCMD [\"python3\", \"-m\", \"termigen.check\"]\n```")  # fmt: skip
    backend = ScriptedBackend([written])
    assert await write_dockerfile(LLM(backend), SPEC, maze) == (
        'FROM termigen/base:bookworm\nCOPY ["maze.txt", "/app/maze.txt"]\nCOPY ["etc/cron.d/job", "/etc/cron.d/job"]\n'
        "RUN apt-get update && apt-get install -y \\\n    # tools\n    jq\nRUN cat <<'EOF' > /app/gen.py\nprint(1)\nEOF\nRUN python3 /app/gen.py\n"
    )  # a script written by an earlier step stays
    # as the 1.5B model wrote them in later runs: `pip install -r` of a missing file inside a longer RUN (packages on
    # its line stay), a COPY naming one file the context has and one it lacks, a file copied by its name alone
    planned = maze + [PlannedFile(path="data/orders.csv", purpose="the orders")]
    mixed = ("```dockerfile\nFROM termigen/base:bookworm\nCOPY maze.txt gen.py /app/\nCOPY orders.csv /app/data/orders.csv\n"
             "RUN apt-get update && \\\n    pip install --no-cache-dir -r reqs.txt pandas && \\\n    pip3 install -r requirements.txt && echo ok\n"
             "RUN python3 -m ensurepip && pip3 install --upgrade pip\nRUN python3 -m pip install -U pip && pip install numpy\n"
             "RUN apt-get install -y python3-pip && \\\n    pip3 install -r requirements.txt || true\nRUN pip install -r reqs.txt scipy || true\n```")  # fmt: skip
    assert await write_dockerfile(LLM(ScriptedBackend([mixed])), SPEC, planned) == (
        'FROM termigen/base:bookworm\nCOPY ["etc/cron.d/job", "/etc/cron.d/job"]\nCOPY ["maze.txt", "/app/"]\n'
        'COPY ["data/orders.csv", "/app/data/orders.csv"]\nRUN apt-get update && pip install --no-cache-dir pandas && echo ok\n'
        "RUN pip install numpy\nRUN apt-get install -y python3-pip\nRUN pip install scipy || true\n"
    )  # and ensurepip (Debian's python3 refuses it) and pip upgrading itself go: the base has pip
    # a script nobody wrote, made executable then run with its output sent to a log (a real run's Dockerfile, 2026-12-03)
    unwritten = ("```dockerfile\nFROM termigen/base:bookworm\nCOPY maze.txt /app/\nCOPY etc/cron.d/job /etc/cron.d/job\n"
                 "RUN chmod +x generate.sh generate.py\nRUN ./generate.sh > /tmp/output.log 2>&1\nCOPY ./fix_config.py /app/\nRUN python3 fix_config.py\n"
                 "RUN ./clean.py /app/log.txt /app/clean.txt &&     ./summary.py /app/log.txt\n"
                 "RUN python3 -m json_dedupe --input /app/data/orders.json \\\n    --output /app/output/summary.json\n"  # the task's own module (a real run, five builds)
                 "RUN python3 -m pip install jq\nRUN python3 -m json.tool /app/maze.txt\nRUN python3 -m etc --check\n"
                 "RUN cat <<'EOF' > /app/make.sh\necho made\nEOF\nRUN chmod 755 /app/make.sh\nRUN bash /app/make.sh\n```")  # fmt: skip
    assert await write_dockerfile(LLM(ScriptedBackend([unwritten])), SPEC, maze) == (
        "FROM termigen/base:bookworm\nCOPY maze.txt /app/\nCOPY etc/cron.d/job /etc/cron.d/job\n"
        "RUN python3 -m pip install jq\nRUN python3 -m json.tool /app/maze.txt\nRUN python3 -m etc --check\n"
        "RUN cat <<'EOF' > /app/make.sh\necho made\nEOF\nRUN chmod 755 /app/make.sh\nRUN bash /app/make.sh\n"
    )  # a script an earlier step writes stays, with its chmod; so do the modules of pip, the standard library and a package folder of the context
    # pip -r of a missing file inside a compound command (a real run, three replies): taken out, an install left empty made `true`
    compound = ("```dockerfile\nFROM termigen/base:bookworm\nCOPY maze.txt /app/\nCOPY etc/cron.d/job /etc/cron.d/job\n"
                "RUN if ! dpkg-query --installed | grep python3-pip > /dev/null; then \\\n    pip install pyyaml && pip install -r requirements.txt; fi\n"
                "RUN pip install -r reqs.txt scipy | tee /tmp/log\n```")  # fmt: skip
    assert await write_dockerfile(LLM(ScriptedBackend([compound])), SPEC, maze) == (
        "FROM termigen/base:bookworm\nCOPY maze.txt /app/\nCOPY etc/cron.d/job /etc/cron.d/job\n"
        "RUN if ! dpkg-query --installed | grep python3-pip > /dev/null; then pip install pyyaml && true; fi\nRUN pip install scipy | tee /tmp/log\n")
    # the task's output written, or checked, at build time (run N, four builds): the image must not hold the answer; only that command goes
    answer = ("```dockerfile\nFROM termigen/base:bookworm\nCOPY maze.txt /app/\nCOPY etc/cron.d/job /etc/cron.d/job\n"
              "RUN python3 -c \"import tarfile; tarfile.open('/var/backups/db.tar.gz', 'w:gz').close()\"\n"
              "RUN apt-get install -y gzip && tar czf /var/backups/db.tar.gz /etc && mkdir -p /var/backups/old\n"
              "RUN touch /var/backups/db.tar.gz.bak\nRUN cat <<EOF > /var/backups/db.tar.gz\nnot a backup\nEOF\n"
              "RUN cat <<EOF > /app/gen.sh\ntar czf /var/backups/db.tar.gz /etc\nEOF\n```")  # fmt: skip
    assert await write_dockerfile(LLM(ScriptedBackend([answer])), SPEC, maze) == (
        "FROM termigen/base:bookworm\nCOPY maze.txt /app/\nCOPY etc/cron.d/job /etc/cron.d/job\n"
        "RUN apt-get install -y gzip && mkdir -p /var/backups/old\nRUN touch /var/backups/db.tar.gz.bak\n"
        "RUN cat <<EOF > /app/gen.sh\ntar czf /var/backups/db.tar.gz /etc\nEOF\n")  # a heredoc goes whole when its first line writes the output
    # ... unless the output is also an input, repaired in place: the image must hold it then
    in_place = SPEC.model_copy(update={"inputs": ["/var/backups/db.tar.gz: last night's broken backup"]})
    assert "tar czf /var/backups/db.tar.gz /etc" in await write_dockerfile(LLM(ScriptedBackend([answer])), in_place, maze)
    # a `python3 -c '...` script run on over several lines (run O, three replies): Docker reads its lines as instructions; it
    # becomes a heredoc run by the same interpreter (a quote inside does not end it), and goes whole when it writes the output
    inline = ("```dockerfile\nFROM termigen/base:bookworm\nCOPY maze.txt /app/\nCOPY etc/cron.d/job /etc/cron.d/job\n"
              "RUN python3 -c 'import tarfile\nwith open(\"/app/maze.txt\", 'r') as f:\n    print(f.read())\ntarfile.open(\"/var/backups/db.tar.gz\", \"w:gz\").close()'\n\n"
              "RUN bash -c \"mkdir -p /srv\necho ready > /srv/ok\" > /tmp/log\n# done\n```")  # fmt: skip
    assert await write_dockerfile(LLM(ScriptedBackend([inline])), SPEC, maze) == (
        "FROM termigen/base:bookworm\nCOPY maze.txt /app/\nCOPY etc/cron.d/job /etc/cron.d/job\n\n"
        "RUN bash <<'SCRIPT' > /tmp/log\nmkdir -p /srv\necho ready > /srv/ok\nSCRIPT\n# done\n")
    # a RUN repeated word for word (run O: nine times, a generation loop) is built once; heredocs differing in their body are kept
    looped = ("```dockerfile\nFROM termigen/base:bookworm\nCOPY maze.txt /app/\nCOPY etc/cron.d/job /etc/cron.d/job\n" + "RUN apt-get install -y jq\n" * 3
              + "RUN python3 - <<'EOF'\nprint(1)\nEOF\nRUN python3 - <<'EOF'\nprint(2)\nEOF\n```")  # fmt: skip
    assert await write_dockerfile(LLM(ScriptedBackend([looped])), SPEC, maze) == (
        "FROM termigen/base:bookworm\nCOPY maze.txt /app/\nCOPY etc/cron.d/job /etc/cron.d/job\nRUN apt-get install -y jq\n"
        "RUN python3 - <<'EOF'\nprint(1)\nEOF\nRUN python3 - <<'EOF'\nprint(2)\nEOF\n")
    # what has no plain repair goes back with the reason: a COPY of nothing the context has by that name, pip -r in a `;` list with quotes
    unfit = "```dockerfile\nFROM termigen/base:bookworm\nCOPY maze.txt /app/\nRUN pip install -r reqs.txt; echo \"done\"\n```"
    fixed = "```dockerfile\nFROM termigen/base:bookworm\nCOPY maze.txt /app/\nCOPY etc/cron.d/job /etc/cron.d/job\n```"
    backend = ScriptedBackend([unfit, fixed])
    assert await write_dockerfile(LLM(backend), SPEC, maze) == "FROM termigen/base:bookworm\nCOPY maze.txt /app/\nCOPY etc/cron.d/job /etc/cron.d/job\n"
    told = backend.requests[1].messages[-1].content
    assert "line 4 installs from `reqs.txt`, which the build context does not hold (it holds: maze.txt, etc/cron.d/job)" in told
    # the Dockerfile whose build just failed, sent back unchanged, is not built again
    previous = "FROM termigen/base:bookworm\nCOPY maze.txt ./\nCOPY etc/ /etc/\n"
    backend = ScriptedBackend(["```dockerfile\n" + previous + "```", "```dockerfile\nFROM termigen/base:bookworm\nCOPY . /app\n```"])
    assert (await write_dockerfile(LLM(backend), SPEC, maze, build_error="boom", previous=previous)).endswith("COPY . /app\n")
    assert "whose build just failed, unchanged" in backend.requests[1].messages[-1].content
    # heredocs, JSON-form COPY, wildcards, the whole context and other stages are left as they are
    fine = ("FROM termigen/base:bookworm AS builder\nRUN mkdir /out\nFROM termigen/base:bookworm\nRUN cat <<'EOF' > /app/gen.py\nimport json\nprint(json.dumps([1]))\nEOF\n"
            "COPY [\"maze.txt\", \"/app/\"]\nCOPY *.txt /app/\nCOPY . /app\nCOPY --from=builder /out /app\nCOPY --from=0 /out /app\n")  # fmt: skip
    assert as_instructions(fine) == fine and context_problem(fine, ["maze.txt"]) is None
    # a heredoc written `<< EOF` (a real run): Docker reads its lines as instructions (`unknown instruction: set`) unless it is `<<EOF`
    spaced = "FROM termigen/base:bookworm\nRUN cat << EOF > /app/run.sh\n#!/bin/sh\nset -eu\necho ok\nEOF\nRUN cat <<- 'END' > /app/b.txt\nb\nEND\nRUN cat <<< ok\n"
    assert as_instructions(spaced) == spaced.replace("<< EOF", "<<EOF").replace("<<- 'END'", "<<-'END'")
    # a stage the Dockerfile never defines: Docker looks for an image of that name (a real build failed so)
    assert context_problem("FROM termigen/base:bookworm\nCOPY --from=generate_script /app/out.csv /app/\n", []).startswith(
        "line 2 copies from `generate_script`, which is no earlier stage of this Dockerfile")
    assert "line 2 (`jq`) is not a Dockerfile instruction" in context_problem("FROM termigen/base:bookworm\njq\n", [])
    # a capitalised word that is no instruction before a shell command (run T: three replies) is the RUN it stands for
    misspelt = "FROM termigen/base:bookworm\nRUN apt-get update\nRMINV rm -rf /var/lib/apt/lists/*\nWORKDIR /app\n"
    assert as_instructions(misspelt) == misspelt.replace("RMINV rm", "RUN rm") and context_problem(as_instructions(misspelt), []) is None
    assert as_instructions("FROM termigen/base:bookworm\nFOO\nBAR Baz qux\n") == "FROM termigen/base:bookworm\nFOO\nBAR Baz qux\n"  # no command after it: sent back
    # a stage copying from itself: Docker reports a circular dependency (a real build), by number or by name
    assert context_problem("FROM termigen/base:bookworm\nCOPY x.sh .\nCOPY --from=0 /app/x.sh /usr/local/bin/\n", ["x.sh"]).startswith(
        "line 3 copies from stage 0, which is not an earlier stage (this one is stage 0")
    assert "copies from `b`, which is no earlier stage" in context_problem("FROM termigen/base:bookworm AS b\nCOPY --from=b /x /y\n", [])
    # ... which the Dockerfile the writer gets back copies within the stage instead (run O: the nginx task, three replies)
    own = "```dockerfile\nFROM termigen/base:bookworm AS site\nCOPY maze.txt /app/\nCOPY --from=site /app/maze.txt /srv/www/maze.txt\nCOPY --from=0 /app/maze.txt /etc/cron.d/job /opt/\n```"
    assert await write_dockerfile(LLM(ScriptedBackend([own])), SPEC, maze) == (
        "FROM termigen/base:bookworm AS site\nCOPY [\"etc/cron.d/job\", \"/etc/cron.d/job\"]\nCOPY maze.txt /app/\n"
        "RUN mkdir -p /srv/www && cp -r /app/maze.txt /srv/www/maze.txt\nRUN mkdir -p /opt/ && cp -r /app/maze.txt /etc/cron.d/job /opt/\n")
    # an input removed after it was copied (run Q: `WORKDIR /app` then `RUN rm numbers.csv`; six solutions failed on it): that rm goes, other cleanup stays
    removing = ("```dockerfile\nFROM termigen/base:bookworm\nCOPY maze.txt /app/\nCOPY etc/cron.d/job /etc/cron.d/job\nWORKDIR /app\nRUN rm maze.txt\n"
                "RUN apt-get clean && rm -f \"/app/maze.txt\" && rm -rf /var/lib/apt/lists/*\n```")  # fmt: skip
    with_input = SPEC.model_copy(update={"inputs": ["/app/maze.txt: the maze to solve"]})
    assert await write_dockerfile(LLM(ScriptedBackend([removing])), with_input, maze) == (
        "FROM termigen/base:bookworm\nCOPY maze.txt /app/\nCOPY etc/cron.d/job /etc/cron.d/job\nWORKDIR /app\nRUN apt-get clean && rm -rf /var/lib/apt/lists/*\n")
    # a JSON-form COPY that is no JSON list (a real build's parse error, sent back unchanged) is rewritten from its words
    broken = '```dockerfile\nFROM termigen/base:bookworm\nCOPY [maze.txt", "/app/"]\nCOPY --chown=root [etc/cron.d/job, "/etc/cron.d/job"]\n```'
    assert await write_dockerfile(LLM(ScriptedBackend([broken])), SPEC, maze) == (
        'FROM termigen/base:bookworm\nCOPY ["maze.txt", "/app/"]\nCOPY --chown=root ["etc/cron.d/job", "/etc/cron.d/job"]\n')


def test_a_copy_of_a_planned_file_goes_to_the_place_the_planner_named():
    # run R: `COPY graphs/edges.csv .` before any WORKDIR put the input at /edges.csv, and the image lacked /app/graphs/edges.csv
    graph = [PlannedFile(path="graphs/edges.csv", purpose="the graph (in the image at /app/graphs/edges.csv)"), PlannedFile(path="notes.txt", purpose="notes")]
    written = ("FROM termigen/base:bookworm\nCOPY graphs/edges.csv .\nWORKDIR /app\nCOPY --chown=root ./graphs/edges.csv /app/graphs/\n"
               "COPY graphs/edges.csv /app/graphs/edges.csv\nCOPY notes.txt .\n")
    assert fit_to_context(written, graph) == ('FROM termigen/base:bookworm\nCOPY ["graphs/edges.csv", "/app/graphs/edges.csv"]\nWORKDIR /app\n'
                                              "COPY --chown=root ./graphs/edges.csv /app/graphs/\nCOPY graphs/edges.csv /app/graphs/edges.csv\nCOPY notes.txt .\n")


def test_a_workdir_at_an_output_the_agent_makes_becomes_its_folder():
    # run T: `WORKDIR /app/output.txt` ended a Dijkstra task's Dockerfile, and the image held the output as a folder
    written = "FROM termigen/base:bookworm\nWORKDIR /app/output.txt\nWORKDIR /app/data/\nWORKDIR /app/out/\n"
    assert fit_to_context(written, [], made=["/app/output.txt", "/app/out"]) == "FROM termigen/base:bookworm\nWORKDIR /app\nWORKDIR /app/data/\nWORKDIR /app\n"


async def test_a_reply_stuck_repeating_a_line_is_told_so():
    loop = "```dockerfile\nFROM termigen/base:bookworm\nRUN apt-get install -y \\\n" + "    unzip \\\n" * 40
    backend = ScriptedBackend([loop, "```dockerfile\nFROM termigen/base:bookworm\nRUN apt-get install -y unzip\n```"])
    assert (await write_dockerfile(LLM(backend), SPEC, [])).endswith("unzip\n")
    assert "repeats the line `unzip \\` 40 times in a row" in backend.requests[1].messages[-1].content


async def test_a_reply_with_no_file_or_a_cut_off_one_is_asked_again_then_given_up_with_the_reason():
    backend = ScriptedBackend(["Sure! The file sets up cron.", "```\n* * * * root backup\n", "{\"content\": \"x\"}"])
    with pytest.raises(StructuredOutputError, match="no fenced code block") as err:
        await construct_files(LLM(backend), SPEC, [PlannedFile(path="cron/backup", purpose="cron")])
    assert "never closed (was the reply cut off?)" in backend.requests[2].messages[-1].content
    assert err.value.raw_text == "{\"content\": \"x\"}"


def test_a_module_docstring_left_open_is_closed_before_the_first_import():
    # as the 1.5B model began its tests in a real run, three replies running
    opened = '"""\nVerifier for log-to-json: the log is translated.\n\nimport json\nfrom pathlib import Path\n\ndef test_it():\n    """Checks."""\n    assert json.loads(Path("/app/o.json").read_text())\n'
    fixed = python_fixed(opened)
    assert fixed.startswith('"""\nVerifier for log-to-json: the log is translated.\n"""\n\nimport json\n') and compile(fixed, "t.py", "exec")
    for unchanged in ['"""Doc."""\nimport os\n', 'x = """open\n', '"""open and nothing after it\n']:
        assert python_fixed(unchanged) == unchanged


def test_path_strings_used_as_paths_become_paths_and_strings_used_as_strings_stay():
    # as the 1.5B model's tests were in a real run: every trial of a gate round failed on `'str' object has no attribute 'exists'`
    tests = ('"""Tests."""\nimport json\n\nNETWORK = "/app/network.txt"\nOUT = "/app/out.json"\nBACKUP = "/app/config.conf"\n\n'
             "def test_outputs():\n    assert NETWORK.exists()\n    assert json.loads((OUT).read_text())\n    assert (NETWORK / 'x') is not None\n"
             "    assert BACKUP.exists() and open(BACKUP + '.bak')\n")  # fmt: skip
    fixed = python_fixed(tests)
    assert fixed.startswith('"""Tests."""\nfrom pathlib import Path\nimport json\n\nNETWORK = Path("/app/network.txt")\nOUT = Path("/app/out.json")\nBACKUP = "/app/config.conf"\n')
    compile(fixed, "test_outputs.py", "exec")
    twice = 'OUT = "/app/out.json"\nOUT = "/app/other.json"\n\ndef test_x():\n    assert OUT.exists()\n'  # bound twice: which one is meant is not plain
    assert python_fixed(twice) == twice
    assert python_fixed('OUT = "/app/out.json"\n\ndef test_x():\n    assert OUT.endswith(".json")\n') == 'OUT = "/app/out.json"\n\ndef test_x():\n    assert OUT.endswith(".json")\n'


def test_a_files_methods_called_on_a_path_become_the_paths_own():
    # run R: tests crashed on `'PosixPath' object has no attribute 'read'` after the reference had run cleanly
    tests = ('from pathlib import Path\n\nSUM_TXT = Path("/app/sum.txt")\nNUMBERS = "/app/numbers.csv"\n\n'
             "def test_sum():\n    assert float(SUM_TXT.read()) == sum(float(x) for x in NUMBERS.readlines())\n")
    fixed = python_fixed(tests)
    assert fixed == tests.replace('"/app/numbers.csv"', 'Path("/app/numbers.csv")').replace(".read()", ".read_text()").replace(".readlines()", ".read_text().splitlines()")
    with_file = 'from pathlib import Path\n\nOUT = Path("/app/out.txt")\n\ndef test_x():\n    with OUT.open() as f:\n        assert f.read()\n'
    assert python_fixed(with_file) == with_file  # an opened file's read is its own


def test_a_misspelt_name_reads_the_one_close_name_of_its_scope():
    # run O: `tmp_dir` for the test's own `temp_dir`, three replies after being told
    source = ("def test_count(tmp_path):\n    temp_dir = tmp_path / 'task'\n    output_path = tmp_dir / 'sum.txt'\n    assert output_path\n\n"
              "def test_other():\n    assert tmp_dir\n")  # fmt: skip
    assert python_fixed(source) == source.replace("output_path = tmp_dir", "output_path = temp_dir")  # another scope binds no such name: it goes back
    assert undefined_names(python_fixed(source)) == ["tmp_dir"]
    module = "RESULTS = '/app/out.txt'\n\ndef test_a():\n    assert RESULT\n"
    assert with_typos_fixed(module) == module.replace("assert RESULT", "assert RESULTS")
    for left in ("def test_a(value_a, value_b):\n    assert value_c\n", "def test_a(out):\n    assert ou\n"):  # two close names; a short name
        assert with_typos_fixed(left) == left
