"""The reference solution, run once in the task's built image before any test is written: what it
printed, how it exited, and what it left at each output the specification names. A reference that
fails or leaves an output missing goes back to its writer with that evidence; the Test Generator is
then shown the outputs a working solution really produces (LiteCoder-Terminal writes the verifier
after the solution, for the same reason: tests written blind disagreed with every solution on
paths and formats)."""

from __future__ import annotations

import csv
import json
import re
import shlex
import subprocess
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import NamedTuple

from pydantic import BaseModel, Field

from termigen_harbor.bundle import BundleFile
from termigen_harbor.leftovers import owner_label
from termigen_harbor.runner import parse_junit
from termigen_harbor.synthesis.checks import PYTEST, ImageNotBuilt, built_image
from termigen_harbor.synthesis.image_packages import frozen_versions, missing_commands
from termigen_harbor.verifier_sandbox import output_paths

OUTPUT_HEAD = 1500  # characters of each output file shown
LISTING_LINES = 40  # lines of a directory's listing shown
LOG_TAIL = 2000  # characters of the end of the script's own output shown
MARK = "@@termigen-reference "
# bash refusing a line at run time: logic that is easier in Python (a real run: the 1.5B's Dijkstra in
# bash did float arithmetic with $((...)), wrote nothing, exited 0, and came back the same three times)
BASH_RUNTIME_ERROR_RE = re.compile(
    r"^.*solve\.sh: line \d+: .*(?:syntax error|bad array subscript|bad substitution|invalid arithmetic operator"
    r"|integer expression expected|unary operator expected|binary operator expected|too many arguments).*$",
    re.MULTILINE,
)
# run O: a config "repaired in place" ended with `cat "$input_file" > "$output_file"`, one file, in three references
TRUNCATES = ("`> FILE` empties FILE before the command runs: `cat FILE > FILE` or `sort FILE > FILE` leaves it empty; write to a "
             "temporary file and `mv` it over FILE")  # fmt: skip
PYTHON_ERROR_RE = re.compile(r"^(?:\w+\.)*(?:\w+Error|Exception|\w+Exception)(?::.*)?$", re.MULTILINE)  # a traceback's last line
NO_PROGRAM_RE = re.compile(r"python3?(?:\.\d+)?: (?:can't open file '(?P<file>[^']+)'|No module named (?P<module>[\w.]+)\s*$)", re.MULTILINE)
# a file opened by a relative path that is not there (run R: `open('data.json')` three rounds, with WORKDIR /app/output)
RELATIVE_MISSING_RE = re.compile(r"No such file or directory: '(?P<py>[^/'][^']*)'|^(?:[^:\n]+: )?(?:line \d+: )?(?P<sh>[^/\s:'][^\s:']*): No such file or directory",
                                 re.MULTILINE)  # fmt: skip
PYTHON_INSTEAD = ("Text such as JSON quoted inside bash, and arithmetic on decimals, are easy to get wrong in bash: you may instead reply "
                  "with the whole program in Python, in one ```python block, which solve.sh runs with python3.")  # fmt: skip


class ReferenceRun(BaseModel):
    exit_code: int | None = None  # None: it did not finish within the timeout
    log: str = ""  # the end of what solve.sh printed
    outputs: dict[str, str] = Field(default_factory=dict)  # each named output: what is there
    missing: list[str] = Field(default_factory=list)
    no_folder: list[str] = Field(default_factory=list)  # the folders of missing outputs that did not exist either
    empty: list[str] = Field(default_factory=list)
    directories: list[str] = Field(default_factory=list)  # outputs named as files (`sccs.txt`) that are folders
    unchanged: list[str] = Field(default_factory=list)  # outputs the image already held (changed in place) that the run left as they were
    invalid_json: dict[str, str] = Field(default_factory=dict)  # a `.json` output that does not parse: why
    pip_installs: list[str] = Field(default_factory=list)  # packages solve.sh pip-installs that neither the image nor our table pins
    image_problem: str | None = None  # the image did not build: nothing ran

    def problem(self) -> str | None:
        """Why the reference must be rewritten before tests are written against it, or None."""
        if self.image_problem:
            return self.image_problem
        faults = []
        if self.exit_code is None:
            faults.append("solve.sh did not finish within its time limit (a server or service it starts must run in the background; "
                          "a loop that never ends does this too, such as one that reads a file and writes to that same file)")  # fmt: skip
        elif self.exit_code == 139:  # run O: an SCC search by recursive bash functions, three rounds
            faults.append(f"solve.sh crashed with a segmentation fault (exit code 139): a bash function that calls itself too deeply does this. {PYTHON_INSTEAD}")
        elif self.exit_code:
            faults.append(f"solve.sh exited with code {self.exit_code}")
        if "sudo" in missing_commands(self.log):  # a real run: `sudo apt-get install jq`, three rounds
            faults.append("solve.sh runs as root and the image has no sudo: run the commands without it")
        if self.missing:
            faults.append(f"it did not create {', '.join(self.missing)}")
            folders = sorted(set(self.no_folder))  # run Q: "mkdir -p /app" was asked for a script that read the output it never wrote
            if folders:  # the 1.5B wrote to /app/output/... in all three rounds of a real run, and never made the folder
                faults.append(f"writing it failed because its folder does not exist: create it first (mkdir -p {' '.join(folders)})")
        if self.directories:
            faults.append(f"it made {', '.join(self.directories)} a directory, where the task names a file: `mkdir -p` only the folder a file goes in, then write the file")
        if self.unchanged:  # run Q: a config repair whose `python3 -c` failed on its syntax, and the script went on to exit 0
            faults.append(f"it left {', '.join(self.unchanged)} exactly as the image had it: the task asks for it to be changed, and nothing was written to it")
        for path, why in self.invalid_json.items():  # run R: a "corrected" JSON file still missing its comma, from a clean run
            faults.append(f"it left {path} as JSON that does not parse ({why}): check that what it writes parses, for example with `python3 -m json.tool FILE`")
        if self.pip_installs:  # an unpinned install fails `termigen validate` (Harbor's lint): the task would die at the gate's static check
            faults.append(f"it installs {', '.join(self.pip_installs)} with pip at run time, which the image does not hold: a solution uses only "
                          "Python's standard library and what the Dockerfile installs, and installs nothing itself")  # fmt: skip
        python_error = PYTHON_ERROR_RE.findall(self.log) if 'File "' in self.log else []
        if self.empty:  # after a crash the crash is why; after a clean exit, often `cat f > f`
            faults.append(f"it left {', '.join(self.empty)} empty" + ("" if self.exit_code or python_error else f" ({TRUNCATES})"))
        absent = NO_PROGRAM_RE.search(self.log)
        if not faults and not absent:  # run P: `python3 solve.py` failed, and the script went on to exit 0 having made its outputs folders
            return None
        if python_error:  # run P: `IndentationError` three rounds, the reason leading with the empty output
            inline = ('File "<string>"' in self.log and "a `python3 -c` program on one line cannot hold `with`, `for` or `if` blocks after a `;`, "
                      f"and quoting inside it is easy to get wrong. {PYTHON_INSTEAD}")  # fmt: skip
            faults.insert(0, f"its Python program stopped with `{python_error[-1].strip()[:200]}` (see the traceback below)" + (f"; {inline}" if inline else ""))
        if absent:  # run O: `python3 sccs.py` and `python3 -m sccs`, three references, no such program
            faults.append(f"it runs `{absent['file'] or absent['module']}`, which is nowhere in the image: solve.sh must hold the whole solution, its "
                          f"program written out inside it (a heredoc), not call a program no one wrote. {PYTHON_INSTEAD}")  # fmt: skip
        if faults and (relative := RELATIVE_MISSING_RE.search(self.log)):  # why it failed; after a clean run, a missing scratch file is no fault
            faults.append(f"it opened `{relative['py'] or relative['sh']}` by a relative path, which is looked up in the folder solve.sh runs in "
                          "(the image's last WORKDIR), not where the task's files are: name every input and output by its absolute path, as the task does")  # fmt: skip
        if refused := BASH_RUNTIME_ERROR_RE.search(self.log):
            faults.append(f"bash refused lines of it at run time (`{refused[0].strip()[:200]}`). {PYTHON_INSTEAD}")
        return "; ".join(faults) + ".\n" + self.details()

    def shown(self) -> str:
        """The run as a writer is shown it: how solve.sh ended, what it printed, each output."""
        code = "did not finish in time" if self.exit_code is None else f"exited with code {self.exit_code}"
        return f"solve.sh {code}. " + self.details()

    def details(self) -> str:
        parts = ["The end of what it printed:", _indented(self.log) or "    (nothing)"]
        for path, seen in self.outputs.items():
            parts += [f"--- {path}", seen]
        return "\n".join(parts)


def _indented(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.strip().splitlines())


def folder_of(path: str) -> str:
    """The folder an output (a file, or a folder written `/app/out/`) is made in."""
    return str(PurePosixPath(path.rstrip("/")).parent)


JSON_CHECK = "import json, sys; json.load(open(sys.argv[1]))"


def _script(outputs: list[str], timeout_s: int) -> str:
    """Runs solve.sh from the image's working directory (as Harbor's oracle does), then reports on
    each output: a directory's listing, a text file's head, a binary file's size, whether a file
    the image held before the run is byte for byte the same after it, and whether a `.json` parses."""
    before = [f"[ -f {shlex.quote(path)} ] && md5sum < {shlex.quote(path)} > /tmp/termigen-before-{i}" for i, path in enumerate(outputs)]
    lines = [*before, f"timeout {timeout_s} bash /solution/solve.sh > /tmp/solve.out 2>&1; echo \"{MARK}exit $?\"", f"tail -c {LOG_TAIL} /tmp/solve.out"]
    for i, path in enumerate(outputs):
        p = shlex.quote(path)
        parses = (f"[ -f {p} ] && grep -q '[^[:space:]]' {p} && command -v python3 >/dev/null && ! python3 -c {shlex.quote(JSON_CHECK)} {p} 2>/tmp/termigen-json "
                  f'&& echo "{MARK}invalid-json $(tail -n 1 /tmp/termigen-json)"; ') if path.endswith(".json") else ""  # fmt: skip
        lines.append(
            f'echo "{MARK}output {path}"; '
            f'[ -f /tmp/termigen-before-{i} ] && [ -f {p} ] && [ "$(md5sum < {p})" = "$(cat /tmp/termigen-before-{i})" ] && echo "{MARK}unchanged"; '
            f"{parses}"
            f"if [ -d {p} ]; then {f'echo {MARK}directory; ' if PurePosixPath(path).suffix and not path.endswith('/') else ''}ls -la {p} | head -n {LISTING_LINES}; "
            f"elif [ ! -e {p} ]; then echo '{MARK}missing'; [ -d {shlex.quote(folder_of(path))} ] || echo '{MARK}no-folder'; "
            f"elif ! grep -q '[^[:space:]]' {p}; then echo '{MARK}empty'; "
            f"elif grep -qI . {p}; then head -c {OUTPUT_HEAD} {p}; echo; "
            f"else echo \"(binary, $(wc -c < {p}) bytes)\"; fi"
        )
    return "\n".join(lines) + "\n"


def parse_run(stdout: str, outputs: list[str]) -> ReferenceRun:
    run = ReferenceRun()
    head, _, rest = stdout.partition(f"{MARK}exit ")
    code, _, rest = rest.partition("\n")
    run.exit_code = None if code.strip() in ("124", "") else int(code.strip())
    sections = rest.split(f"{MARK}output ")
    run.log = sections[0][-LOG_TAIL:]
    for section in sections[1:]:
        path, _, seen = section.partition("\n")
        seen = seen.rstrip("\n")
        if seen.startswith(f"{MARK}unchanged"):
            run.unchanged.append(path)
            seen = seen.removeprefix(f"{MARK}unchanged").lstrip("\n")
        if seen.startswith(f"{MARK}invalid-json"):
            why, _, seen = seen.removeprefix(f"{MARK}invalid-json").partition("\n")
            run.invalid_json[path] = why.strip()[:200] or "it does not parse"
        if seen.strip().startswith(f"{MARK}missing"):
            run.missing.append(path)
            run.no_folder += [folder_of(path)] if f"{MARK}no-folder" in seen else []
            seen = "(missing)"
        elif seen.strip() == f"{MARK}empty":
            run.empty.append(path)
            seen = "(empty)"
        elif seen.startswith(f"{MARK}directory"):  # a file the task names, made a folder (run P: `mkdir -p /app/sccs.txt`)
            run.directories.append(path)
            seen = "(a directory) " + seen.removeprefix(f"{MARK}directory").lstrip("\n")
        run.outputs[path] = seen
    run.missing += [path for path in outputs if path not in run.outputs]
    return run


def run_reference(environment: dict[str, BundleFile], dockerfile: str, solution: str, outputs: list[str], timeout_s: int = 600) -> ReferenceRun:
    """solve.sh in a container of the task's image (no network, as the writers are told)."""
    named = output_paths(outputs)
    try:
        printed = run_with_solution(environment, dockerfile, solution, _script(named, timeout_s), timeout_s + 120)
    except ImageNotBuilt as exc:
        return ReferenceRun(image_problem=str(exc))
    if printed is None:
        return ReferenceRun(exit_code=None, log="(the container did not answer)", missing=named)
    return parse_run(printed, named)


def run_with_solution(environment: dict[str, BundleFile], dockerfile: str, solution: str, script: str, timeout_s: int, tests: str | None = None) -> str | None:
    """What `script` prints in a container of the task's image (no network) with solve.sh at
    /solution (and the tests at /tests), or None when it does not finish in timeout_s. Raises ImageNotBuilt."""
    with built_image(environment, dockerfile, tests or "") as (tag, root, name):
        (root / "solution").mkdir(exist_ok=True)
        (root / "solution" / "solve.sh").write_text(solution)
        mounts = ["-v", f"{root / 'solution'}:/solution:ro"] + (["-v", f"{root / 'tests'}:/tests:ro"] if tests is not None else [])
        try:
            return subprocess.run(["docker", "run", "--rm", "--name", name, *owner_label(), "--network", "none", *mounts, tag, "bash", "-c", script],
                                  capture_output=True, text=True, timeout=timeout_s).stdout  # fmt: skip
        except subprocess.TimeoutExpired:
            return None


def installed_versions(environment: dict[str, BundleFile], dockerfile: str) -> dict[str, str]:
    """The Python packages pip sees in the task's image, canonical name -> version. Raises ImageNotBuilt."""
    return frozen_versions(run_with_solution(environment, dockerfile, "", "python3 -m pip freeze --all 2>/dev/null", 300) or "")


# a program that used a name its module does not have (run R: `from fastparquet import write_table`,
# `sklearn.graph`, in every round of two tasks): what the module really offers goes back with the run
LACKING_NAME_RES = (
    re.compile(r"ImportError: cannot import name '\w+' from '(?P<module>[\w.]+)'"),
    re.compile(r"AttributeError: module '(?P<module>[\w.]+)' has no attribute"),
    re.compile(r"ModuleNotFoundError: No module named '(?P<module>\w+(?:\.\w+)*)\.\w+'"),  # the package exists, its submodule does not
)
OFFERED_CHARS = 1200  # characters of one module's names shown
_OFFERS = """import importlib, pkgutil, sys
for name in sys.argv[1:]:
    try:
        module = importlib.import_module(name)
    except Exception as exc:
        print(f"- `{name}` cannot be imported either ({type(exc).__name__})")
        continue
    public = ", ".join(n for n in sorted(dir(module)) if not n.startswith("_"))
    subs = ", ".join(sorted(m.name for m in pkgutil.iter_modules(getattr(module, "__path__", []))))
    print(f"- `{name}` offers: {public[:%d] or '(nothing public)'}" + (f"; its submodules: {subs[:%d]}" if subs else ""))
""" % (OFFERED_CHARS, OFFERED_CHARS // 2)


def lacking_modules(log: str) -> list[str]:
    """The modules a Python traceback in `log` asked for a name they do not have, once each."""
    return list(dict.fromkeys(m["module"] for pattern in LACKING_NAME_RES for m in pattern.finditer(log)))


def what_modules_offer(environment: dict[str, BundleFile], dockerfile: str, modules: list[str]) -> str:
    """What each of `modules` offers in the task's image (its public names and submodules), as the
    writer is shown it; "" when there is nothing to show. Raises ImageNotBuilt."""
    if not modules:
        return ""
    script = f"python3 - {' '.join(shlex.quote(m) for m in modules)} <<'OFFERS'\n{_OFFERS}OFFERS\n"
    shown = (run_with_solution(environment, dockerfile, "", script, 120) or "").strip()
    return f"What these modules really offer in the image; use only these names, or the standard library:\n{shown}" if shown else ""


# a program that read a column or key its input does not have (run T: `KeyError: 'stock'` from a CSV whose
# header is `product_id,stock_level`, three references running): the inputs' real columns go back with the run
KEY_ERROR_RE = re.compile(r"^KeyError: (?P<key>'[^'\n]*'|\"[^\"\n]*\")\s*$", re.MULTILINE)
KEYS_SHOWN = 30  # columns or keys of one input shown


def input_keys(files: dict[str, BundleFile]) -> dict[str, list[str]]:
    """Each CSV input's columns (its header) and each JSON input's keys (of the object, or of a
    list's first object), by the file's path."""
    found: dict[str, list[str]] = {}
    for path, file in sorted(files.items()):
        text = file.content.decode(errors="replace")
        if path.endswith((".csv", ".tsv")) and text.strip():
            header = text.lstrip().splitlines()[0]
            found[path] = [c.strip() for c in next(csv.reader([header], delimiter="\t" if path.endswith(".tsv") else ","))]
        elif path.endswith(".json"):
            try:
                data = json.loads(text)
            except ValueError:
                continue
            data = data[0] if isinstance(data, list) and data else data
            if isinstance(data, dict):
                found[path] = [str(k) for k in data]
    return found


def unknown_keys_hint(log: str, files: dict[str, BundleFile]) -> str:
    """For a `KeyError` whose key no CSV or JSON input has: what the inputs really have; "" otherwise."""
    keys = input_keys(files)
    missing = [k for m in KEY_ERROR_RE.finditer(log) if (k := m["key"][1:-1]) and not any(k in names for names in keys.values())]
    if not missing or not keys:
        return ""
    shown = "; ".join(f"`{path}`: {', '.join(names[:KEYS_SHOWN])}" for path, names in keys.items())
    return f"`{missing[-1]}` is no column or key of any input. What the inputs really have (use these names): {shown}"


RunReference = Callable[[dict[str, BundleFile], str, str, list[str]], ReferenceRun]


class TestCrash(NamedTuple):
    __test__ = False  # not a pytest test class
    test: str
    error: str  # the exception, as pytest names it
    traceback: str  # the end of pytest's short traceback


ASSERTED = ("assert ", "AssertionError", "Failed: ")  # a failure by assert or pytest.fail: a verdict on the outputs
TRACEBACK_TAIL = 1200  # characters of each crashed test's traceback shown


def function_of(case_name: str) -> str:
    """A JUnit case's test function (a parametrized test's cases are one test)."""
    return case_name.split("::")[-1].split("[")[0]


def _first_by_test(junit: str, keep: Callable[[str, str], bool]) -> list[TestCrash]:
    """Each test's first case whose (outcome, message) `keep` accepts, with the end of its report."""
    found: dict[str, TestCrash] = {}
    for case in parse_junit(junit, details=TRACEBACK_TAIL):
        message = (case.message or "").strip()
        if keep(case.outcome, message) and (test := function_of(case.name)) not in found:
            found[test] = TestCrash(test, message.splitlines()[0][:300] if message else case.outcome, case.details or "")
    return list(found.values())


def crashed_tests(junit: str) -> list[TestCrash]:
    """The tests, in pytest's JUnit XML, that did not fail by an assertion but by an error raised
    in their own code (reading, parsing, a setup error), by function name: in run N the 1.5B's
    tests read a CSV line by line and raised `ValueError: could not convert string to float` on
    every solution, three gate rounds of about 10 minutes each."""
    return _first_by_test(junit, lambda outcome, message: outcome == "error" or (outcome == "failed" and not message.startswith(ASSERTED)))


def asserted_failures(junit: str) -> list[TestCrash]:
    """The tests that failed by an assertion (or pytest.fail), by function name."""
    return _first_by_test(junit, lambda outcome, message: outcome == "failed" and message.startswith(ASSERTED))


def failed_tests(junit: str) -> set[str]:
    """The tests, by function name, that did not pass."""
    return {function_of(case.name) for case in parse_junit(junit) if case.outcome in ("failed", "error")}


JUNIT = "/tmp/termigen-junit.xml"
NOP_JUNIT = "/tmp/termigen-nop-junit.xml"


class TestsRun(NamedTuple):
    """The tests run in the task's image twice, as the gate will run them: before anything ran
    (the no-op) and after solve.sh (the reference)."""

    __test__ = False  # not a pytest test class
    crashes: list[TestCrash]  # after the reference: tests that raised an error of their own
    failures: list[TestCrash]  # after the reference: tests that failed by an assertion
    nop_failed: set[str]  # before anything ran: the tests that failed (the no-op scores 0 only if one does)
    nop_ran: bool = True  # the no-op run gave a report

    @property
    def pass_the_nop(self) -> bool:
        """Every test passed in the untouched image: the no-op would score 1."""
        return self.nop_ran and not self.nop_failed


def tests_on_reference(environment: dict[str, BundleFile], dockerfile: str, tests: str, solution: str, timeout_s: int = 600,
                       tests_timeout_s: int = 300) -> TestsRun | None:  # fmt: skip
    """The tests run as the verifier runs them (pytest, from /app) in a container of the task's
    image, first untouched (what the no-op will score), then after solve.sh. None when there is no
    verdict (the image did not build, the run did not finish): the gate has the last word. Both runs
    share one container; the tests may not write the outputs (checked before), so the first run
    leaves nothing the reference reads. `tests_timeout_s`: the verifier's time limit for each run."""
    def pytest(junit: str) -> str:
        return (f"( {{ cd /app 2>/dev/null || cd /tests; }} && timeout {tests_timeout_s} $P /tests/test_outputs.py -q -p no:cacheprovider --tb=short "
                f"--junitxml={junit} > /dev/null 2>&1 )")  # fmt: skip

    script = (f"{PYTEST}; {pytest(NOP_JUNIT)}; timeout {timeout_s} bash /solution/solve.sh > /dev/null 2>&1; {pytest(JUNIT)}; "
              f"cat {JUNIT}; echo; echo '{MARK}nop'; cat {NOP_JUNIT}")  # fmt: skip
    try:
        printed = run_with_solution(environment, dockerfile, solution, script, timeout_s + 2 * tests_timeout_s + 120, tests)
    except ImageNotBuilt:
        return None
    reference, _, nop = (part.strip() for part in (printed or "").partition(f"{MARK}nop"))  # an XML declaration must open its text
    if not parse_junit(reference):
        return None
    return TestsRun(crashed_tests(reference), asserted_failures(reference), failed_tests(nop), nop_ran=bool(parse_junit(nop)))


def crashes_problem(crashes: list[TestCrash]) -> str:
    """Why tests that crashed go back to their writer, with what pytest printed; its first line names them."""
    named = "; ".join(f"`{c.test}` raised {c.error}" for c in crashes)
    return (f"tests crashed in their own code after the reference solution ran cleanly and left every output: {named}\n"
            "A test must read each input in its real format (see the environment; the csv module for CSV) and each output as the "
            "reference left it, and fail only through `assert` with a message (if an output cannot be parsed, assert that). What pytest printed:\n" + _reports(crashes))  # fmt: skip


def _reports(tests: list[TestCrash]) -> str:
    return "\n".join(f"- `{t.test}`:\n" + "\n".join(f"    {line}" for line in t.traceback.splitlines()) for t in tests[:3])


def failures_evidence(failures: list[TestCrash]) -> str:
    """The tests the reference failed by an assertion after it ran cleanly, with what pytest printed, as a Judge is shown them."""
    named = "; ".join(f"`{f.test}`: {f.error}" for f in failures)
    return f"the reference solution ran cleanly and left every output, then failed {named}\nWhat pytest printed:\n{_reports(failures)}"


# a test file that passes with nothing done fails the gate's no-op check, and a gate round costs 5 to 10 minutes on 2 cores
NOP_PASSES = ("every test passes in the task's untouched image, before any solution ran (the no-op agent would score 1): the tests must "
              "check what a solution makes, each output's content against values computed from the inputs, so that they fail until "
              "the task is done")  # fmt: skip


TestsOnReference = Callable[[dict[str, BundleFile], str, str, str], TestsRun | None]
