"""Cheap checks a written file must pass before a model's work is trusted: each returns the
problem (the tool's own output, fit to send back to the model) or None."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from harbor.models.task.config import TaskConfig

from termigen_harbor.bash_syntax import bash_complaint
from termigen_harbor.bundle import BundleFile, TaskBundle
from termigen_harbor.leftovers import owner_label
from termigen_harbor.synthesis.image_packages import missing_modules, third_party_imports
from termigen_harbor.synthesis.python_source import compiles, copied_values, first_uses, output_writers, python_fixed, stray_statements, undefined_names, unknown_fixtures

__all__ = ["bash_problem", "built_image", "collect_problem", "ImageNotBuilt", "context_problem", "dockerfile_problem", "file_problem", "instructions", "Instruction", "copied_sources", "copy_operands", "holds", "python_problem", "python_run_by_bash", "stray_statements_problem", "unnamed_files", "unnamed_files_problem"]


def bash_problem(script: str) -> str | None:
    """`bash -n`: the script parses."""
    complaint = bash_complaint(script)
    return None if complaint is None else "`bash -n` rejects the script:\n" + complaint


def python_run_by_bash(script: str) -> str:
    """A script that bash rejects but Python compiles, run by python3 from a bash script; any
    other script unchanged. The 1.5B model wrote Python solutions in ```bash blocks, under
    `#!/bin/bash`, three times over after `bash -n` named the line (two tasks with approved tests
    died so)."""
    if bash_complaint(script) is None:
        return script
    body = "\n".join(line for number, line in enumerate(script.splitlines()) if not (number == 0 and line.startswith("#!")))
    if not compiles(body, "solve.py"):
        return script
    end = "PYTHON"
    while end in body.splitlines():
        end += "_END"
    return f"#!/bin/bash\nset -e\npython3 - <<'{end}'\n{body.rstrip()}\n{end}\n"


def python_problem(source: str, name: str = "file.py") -> str | None:
    """What `python -m py_compile` checks, the source compiles; then that it uses no global name it
    never imports or defines (pyflakes' undefined name: `mysql.connector.connect(...)` with no
    import, a NameError only once the line runs)."""
    try:
        compile(source, name, "exec", dont_inherit=True)
    except SyntaxError as exc:
        where = f"line {exc.lineno}" + (f", column {exc.offset}" if exc.offset else "")
        code = (exc.text or "").rstrip()
        return f"`python -m py_compile {name}` fails: {exc.msg} ({where})" + (f":\n    {code}" if code else "")
    except ValueError as exc:  # NUL bytes
        return f"`python -m py_compile {name}` fails: {exc}"
    missing = undefined_names(source, name)
    if missing:
        shown = ", ".join(f"`{n}`" for n in missing)
        where = "\n".join(f"- `{n}` in: {text}" for n, text in first_uses(source, missing).items())  # no line number: forgotten imports may have been added above
        return (f"{name} uses {shown}, which it never imports or defines (a NameError when that line runs): import each module it "
                f"needs at the top, and define each value before it is used (compute it from the inputs) or drop the check that needs it:\n{where}")  # fmt: skip
    return None


APP_FILE_RE = re.compile(r"""['"](/app/[\w.@+-]+(?:/[\w.@+-]+)*\.[A-Za-z0-9]+)['"]""")


def unnamed_files(tests: str, named: str) -> list[str]:
    """The files under /app the tests name that nothing else does: neither `named` (the task's
    specification, its Dockerfile and where its files go) holds the path nor the folder it sits
    in (other than /app). The 1.5B model's tests demanded `/app/solve_maze.py` of a task whose
    outputs were path.txt and final_cost.txt, and `/app/src/main.py` that nothing provided: the
    reference failed them every round."""
    found = []
    for path in dict.fromkeys(APP_FILE_RE.findall(tests)):
        parent = str(PurePosixPath(path).parent)
        if path not in named and (parent == "/app" or parent not in named):
            found.append(path)
    return found


def stray_statements_problem(tests: str, name: str = "test_outputs.py") -> str | None:
    stray = stray_statements(tests)
    if not stray:
        return None
    lines = tests.splitlines()
    shown = "\n".join(f"- line {node.lineno}: {lines[node.lineno - 1].strip()[:120]}" for node in stray[:5])
    return f"{name} runs these lines when pytest imports it, outside every test function: put each check inside a `def test_...():` function (mind the indentation):\n{shown}"


def unnamed_files_problem(tests: str, named: str, name: str = "test_outputs.py") -> str | None:
    unnamed = unnamed_files(tests, named)
    if not unnamed:
        return None
    lines = "\n".join(f"- `{path}` in: {next(line.strip() for line in tests.splitlines() if APP_FILE_RE.search(line) and path in line)[:120]}" for path in unnamed)
    return (f"{name} checks {', '.join(f'`{p}`' for p in unnamed)}, which neither the task nor its environment names: check the outputs "
            f"the task names, made from the inputs it provides, and nothing the task does not ask for:\n{lines}")  # fmt: skip


def is_python(path: str, content: str) -> bool:
    first = content.splitlines()[0] if content else ""
    return PurePosixPath(path).suffix == ".py" or (first.startswith("#!") and "python" in first)


def file_fixed(path: str, content: str) -> str:
    """What a file's kind lets us set right without asking again: Python's unclosed module docstring and forgotten imports."""
    return python_fixed(content) if is_python(path, content) else content


def file_problem(path: str, content: str) -> str | None:
    """The check a file's kind calls for: Python by extension or shebang, shell likewise."""
    first = content.splitlines()[0] if content else ""
    suffix = PurePosixPath(path).suffix
    if is_python(path, content):
        return python_problem(content, PurePosixPath(path).name)
    if suffix in (".sh", ".bash") or (first.startswith("#!") and first.rstrip().endswith(("/sh", "/bash", " sh", " bash"))):
        return bash_problem(content)
    return None


# how a task says a file it ships is broken (run R: "correct a malformed character in /app/data.json")
BROKEN_RE = re.compile(r"\b(?:malformed|invalid|corrupt\w*|broken|unparse?able|pars(?:e|ing) (?:issue|error|problem|fail\w*)|syntax error|does not parse)\b", re.I)


def unbroken_problem(path: str, content: str, described: str) -> str | None:
    """A JSON file that the task (`described`: its objective and the file's purpose, naming it)
    says is broken, and that parses: the solution would have nothing to repair. Run R: the 1.5B
    Constructor wrote a valid data.json for "correct a malformed character in /app/data.json"."""
    name = PurePosixPath(path).name
    if PurePosixPath(path).suffix != ".json" or name not in described or not BROKEN_RE.search(described):
        return None
    try:
        json.loads(content)
    except ValueError:
        return None
    return (f"the task says {name} is broken, but it parses as valid JSON: the solution would have nothing to repair. Write it with "
            "exactly the fault the task names (for example one missing comma, a trailing comma or an unquoted key), and nothing else wrong")


def with_fault(path: str, content: str, described: str) -> str:
    """The last resort for a JSON file unbroken_problem finds whole: a trailing comma before its last
    closing bracket, the commonest hand-made JSON fault (a model told three times wrote it valid)."""
    if unbroken_problem(path, content, described) is None:
        return content
    body = content.rstrip()
    if not body.endswith(("}", "]")):
        return content
    before = body[:-1].rstrip()
    if before.endswith(("{", "[", ",")):
        return content
    return before + ",\n" + body[-1] + content[len(body):]


ADD_URL_RE = re.compile(r"^\s*ADD\s+(?:--\S+\s+)*(?:https?|ftp|git)://", re.I | re.M)
PRIVILEGED_RE = re.compile(r"--privileged\b|--security=insecure|--cap-add\b", re.I)


def dockerfile_problem(dockerfile: str, base_image: str) -> str | None:
    """Why a Dockerfile must not be built, or None: it has to start FROM the configured base,
    download nothing with `ADD <url>`, and ask for no privileges."""
    first = next((line.split()[1] for line in dockerfile.splitlines() if line.strip().upper().startswith("FROM ") and len(line.split()) > 1), None)
    if first != base_image:
        return f"the Dockerfile must start with `FROM {base_image}`; its first FROM is {first or 'missing'}"
    if ADD_URL_RE.search(dockerfile):
        return "the Dockerfile downloads with `ADD <url>`: install from Debian or PyPI in a RUN line, or generate the data in the image"
    if PRIVILEGED_RE.search(dockerfile):
        return "the Dockerfile asks for privileges (--privileged, --security=insecure, --cap-add): a task's image must not"
    return None


INSTRUCTIONS = frozenset("FROM RUN CMD LABEL MAINTAINER EXPOSE ENV ADD COPY ENTRYPOINT VOLUME USER WORKDIR ARG ONBUILD STOPSIGNAL HEALTHCHECK SHELL".split())
STAGE_RE = re.compile(r"\sAS\s+(?P<name>[\w.-]+)\s*$", re.I)
FROM_STAGE_RE = re.compile(r"--from=(?P<name>[^\s]+)")
REQUIREMENTS_RE = re.compile(r"\bpip3?\s+install\b[^\n&|;]*?\s-r\s*(?P<file>[^\s&|;]+)")


def with_stages(found: list[Instruction]) -> Iterator[tuple[Instruction, list[str]]]:
    """Each instruction with the names of the build stages up to its own, which is the last ("" for
    a stage with no `AS` name; a stage's number is its place in the list)."""
    stages: list[str] = []
    for instruction in found:
        if instruction.text.split()[0].upper() == "FROM":
            named = STAGE_RE.search(instruction.text)
            stages = [*stages, named["name"].lower() if named else ""]
        yield instruction, stages


def and_segments(run: str) -> list[str]:
    """A RUN's command split at its `&&`s (`RUN a && b` -> ["a", "b"])."""
    words = run.split(None, 1)
    return re.split(r"\s*&&\s*", words[1]) if len(words) > 1 else [""]


# an install left with nothing to install: options only (pip's that take a value may have it after a space: `--trusted-host pypi.org`)
EMPTY_INSTALL_RE = re.compile(r"(?:python3?\s+-m\s+)?(?:pip3?|apt-get|apt)\s+install(?:\s+(?:--(?:trusted-host|index-url|extra-index-url|target|prefix|root)|-[it])\s+[^\s-]\S*|\s+--?[\w-]+(?:=\S+)?)*")
HEREDOC_RE = re.compile(r"<<-?\s*[\"']?(?P<word>[A-Za-z_]\w*)[\"']?")


class Instruction(NamedTuple):
    line: int  # its first line (1-based)
    end: int  # its last line, continuations and heredoc included
    text: str  # continuations joined, comment lines left out


def instructions(dockerfile: str) -> list[Instruction]:
    """The Dockerfile's instructions; comment lines, inside continuations too, are left out as
    Docker leaves them out, and a heredoc's body (`RUN cat <<'EOF' > f` ... `EOF`) belongs to its
    instruction."""
    found: list[Instruction] = []
    parts: list[str] = []
    start = 0
    heredoc: list[str] = []  # delimiters still open
    number = 0
    for number, line in enumerate(dockerfile.splitlines(), 1):
        if heredoc:
            if line.strip() == heredoc[0]:
                heredoc.pop(0)
            if not heredoc:
                found.append(Instruction(start, number, " ".join(parts)))
                parts = []
            continue
        if line.strip().startswith("#") or (not line.strip() and not parts):
            continue
        if not parts:
            start = number
        parts.append(line.rstrip().removesuffix("\\").strip())
        heredoc = [m["word"] for m in HEREDOC_RE.finditer(line)] if parts[0].split()[0].upper() in ("RUN", "COPY", "ADD") else []
        if not heredoc and not line.rstrip().endswith("\\"):
            found.append(Instruction(start, number, " ".join(p for p in parts if p)))
            parts = []
    if parts:
        found.append(Instruction(start, number, " ".join(p for p in parts if p)))
    return found


def copied_sources(instruction: Instruction) -> list[str] | None:
    """The build-context paths a COPY/ADD instruction reads (`./` and a trailing `/` dropped;
    `.` for the whole context), or None for anything else, another stage's files, a heredoc,
    or a pattern."""
    keyword = instruction.text.split()[0].upper()
    if keyword not in ("COPY", "ADD") or "--from" in instruction.text:
        return None
    sources = [source.removeprefix("./").rstrip("/") or "." for source in _sources(instruction.text)]
    if any(s.startswith("<<") or "://" in s or any(ch in s for ch in "*?[$") for s in sources):
        return None
    return sources


def holds(context_files: list[str], source: str) -> bool:
    return source == "." or any(f == source or f.startswith(source + "/") for f in context_files)


def _sources(instruction: str) -> list[str]:
    return copy_operands(instruction)[:-1]


def copy_flags_and_operands(instruction: str) -> tuple[list[str], str]:
    """A COPY/ADD's leading flags (`--chown=root`), and the rest, its operands, as written."""
    rest = instruction.partition(" ")[2].lstrip()
    flags = re.match(r"(?:--\S+\s+)*", rest)[0]
    return flags.split(), rest[len(flags) :].strip()


def copy_operands(instruction: str) -> list[str]:
    """A COPY/ADD's sources and destination, last (flags left out; the JSON form read too)."""
    _flags, operands = copy_flags_and_operands(instruction)
    if operands.startswith("["):  # JSON form
        return re.findall(r'"([^"]*)"', operands)
    return [w for w in operands.split() if not w.startswith("--")]


def context_problem(dockerfile: str, context_files: list[str]) -> str | None:
    """Why this Dockerfile cannot build from this build context, found without building it: a line
    that is no Dockerfile instruction (a shell command outside RUN), a COPY/ADD of a file the
    context does not hold or from a stage the Dockerfile does not define (Docker then pulls an
    image of that name), `pip install -r` of a requirements file it does not hold. A small model
    writes these, then repeats them after the build fails; the reason names what the context holds."""
    listed = ", ".join(context_files) or "no files"
    names = {PurePosixPath(f).name for f in context_files}
    problems = []
    for found, stages in with_stages(instructions(dockerfile)):
        number, text = found.line, found.text
        keyword = text.split()[0].upper()
        sources = copied_sources(found)
        source_stage = FROM_STAGE_RE.search(text) if keyword in ("COPY", "ADD") else None
        earlier = stages[:-1]
        if source_stage and source_stage["name"].lower() not in earlier and not source_stage["name"].isdigit():
            problems.append(f"line {number} copies from `{source_stage['name']}`, which is no earlier stage of this Dockerfile (and no registry can be "
                            "reached for an image of that name): write the files with a RUN, or COPY them from the build context")  # fmt: skip
        elif source_stage and source_stage["name"].isdigit() and int(source_stage["name"]) >= len(earlier):
            problems.append(f"line {number} copies from stage {source_stage['name']}, which is not an earlier stage (this one is stage {len(earlier)}; "
                            "Docker refuses it as a circular dependency): copy within a stage with `RUN cp`, or COPY from the build context")  # fmt: skip
        elif keyword not in INSTRUCTIONS:
            problems.append(f"line {number} (`{text[:60]}`) is not a Dockerfile instruction: a shell command goes in a RUN instruction")
        elif sources is not None:
            for source in sources:
                if not holds(context_files, source):
                    problems.append(f"line {number} copies `{source}`, which the build context does not hold (it holds: {listed})")
        elif keyword == "RUN":
            for match in REQUIREMENTS_RE.finditer(text):
                if PurePosixPath(match["file"]).name not in names:
                    problems.append(f"line {number} installs from `{match['file']}`, which the build context does not hold (it holds: {listed}): name the packages in the pip line")
    return "; ".join(problems) or None


IMAGE_NOT_BUILT = "the environment's image did not build"
PYTEST = 'P=/opt/termigen/verifier/bin/pytest; [ -x "$P" ] || P="python3 -m pytest"'  # the verifier's pytest, as tests/test.sh runs it
COLLECT = (PYTEST + '; '
           '{ cd /app 2>/dev/null || cd /tests; } && $P --collect-only -q -p no:cacheprovider /tests/test_outputs.py')  # fmt: skip
IMPORT = 'V=/opt/termigen/verifier/bin/python; [ -x "$V" ] || V=python3; $V -c {}'  # as the tests' own interpreter imports


class ImageNotBuilt(Exception):
    """The task's image did not build; the message is the builder's complaint."""


@contextmanager
def built_image(environment: dict[str, BundleFile], dockerfile: str, tests: str = "", timeout_s: int = 900) -> Iterator[tuple[str, Path, str]]:
    """The task's image, built from the same Dockerfile and context as Harbor builds it (compose,
    BuildKit), so the engine's layer cache makes it quick after the environment stage: yields its
    tag, the task folder written for it (tests/ holds `tests` as test_outputs.py) and a container
    name; the image and the container are removed after. Raises ImageNotBuilt."""
    # one tag and one container per call: two tasks with the same environment, checked at once in
    # one process, must not run into (or remove) each other's
    call = uuid.uuid4().hex[:12]
    tag, name = f"termigen/collect-check:{call}", f"termigen-collect-{call}"
    with tempfile.TemporaryDirectory(prefix="termigen-collect-") as tmp:
        root = TaskBundle(name="collect", instruction="-", config=TaskConfig(), environment={**environment, "Dockerfile": BundleFile.text(dockerfile)},
                          tests={"test_outputs.py": BundleFile.text(tests)}).write(Path(tmp))  # fmt: skip
        # the classic `docker build`, which a CLI without buildx falls back to, refused a COPY
        # that the environment stage had built
        (root / "compose.yaml").write_text(json.dumps({"services": {"collect": {"build": {"context": str(root / "environment")}, "image": tag}}}))
        build = subprocess.run(["docker", "compose", "-p", name, "-f", str(root / "compose.yaml"), "build", "-q"],
                               capture_output=True, text=True, timeout=timeout_s)  # fmt: skip
        if build.returncode:
            said = "\n".join(line for line in build.stderr.strip().splitlines() if "level=warning" not in line)  # compose's notes on its builder
            raise ImageNotBuilt(f"{IMAGE_NOT_BUILT}: {said[-1500:]}")
        try:
            yield tag, root, name
        finally:  # a run that hung, or this process interrupted, must not leave the container running
            subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=120)
            subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, timeout=120)


def collect_problem(environment: dict[str, BundleFile], dockerfile: str, tests: str, timeout_s: int = 900) -> str | None:
    """pytest collects the tests inside the task's own image: an import the image lacks, or a test
    file without tests, is caught before any trial."""
    try:
        with built_image(environment, dockerfile, tests, timeout_s) as (tag, root, name):
            modules = third_party_imports(tests)  # imported inside a test, they escape the collection
            command = COLLECT + (" && " + IMPORT.format(shlex.quote("import " + ", ".join(modules))) if modules else "")
            try:
                run = subprocess.run(["docker", "run", "--rm", "--name", name, *owner_label(), "--network", "none", "-v", f"{root / 'tests'}:/tests:ro", tag, "sh", "-c", command],
                                     capture_output=True, text=True, timeout=300)  # fmt: skip
            except subprocess.TimeoutExpired:
                return "pytest's collection of the tests did not finish in 300 s inside the task's image (does a test module run work at import?)"
    except ImageNotBuilt as exc:
        return str(exc)
    output = (run.stdout + run.stderr).strip()
    if run.returncode == 5:
        return "pytest collected no tests from tests/test_outputs.py (test functions must be named test_*)"
    if run.returncode:
        missing = missing_modules(output)
        at_import = MODULE_LEVEL_RE.search(output)
        advice = (f"the tests import {', '.join(f'`{m}`' for m in missing)}, which the task's image does not have: import only the "
                  "standard library (csv, json, statistics, sqlite3, subprocess, ...) and what the Dockerfile installs.\n") if missing else (
                  f"line {at_import[1]} of the tests runs when pytest imports them, outside every test function: put each check inside a "
                  "`def test_...():` function (mind the indentation).\n") if at_import else ""  # fmt: skip
        return f"{advice}pytest cannot collect the tests inside the task's image (exit {run.returncode}):\n{output[-2000:]}"
    return None


MODULE_LEVEL_RE = re.compile(r"test_outputs\.py:(\d+): in <module>")


def unknown_fixtures_problem(tests: str, name: str = "test_outputs.py") -> str | None:
    unknown = unknown_fixtures(tests)
    if not unknown:
        return None
    lines = "\n".join(f"- `{test}` takes {', '.join(f'`{a}`' for a in args)}" for test, args in unknown.items())
    return (f"{name} has tests that take an argument no fixture provides, so pytest errors on their setup: define each as a "
            f"`@pytest.fixture` in the file, or give the test no argument and use the path or value itself:\n{lines}")  # fmt: skip


def output_writers_problem(tests: str, outputs: list[str], name: str = "test_outputs.py") -> str | None:
    writers = output_writers(tests, outputs)
    if not writers:
        return None
    lines = "\n".join(f"- `{test}` writes {', '.join(f'`{p}`' for p in paths)}" for test, paths in writers.items())
    return (f"{name} has tests that write an output the agent's solution must make, so they check their own writing: a test "
            f"reads each output as the solution left it and compares it with what it should hold, and never writes it:\n{lines}")  # fmt: skip


def copied_values_problem(tests: str, shown: str, known: str, name: str = "test_outputs.py") -> str | None:
    copied = copied_values(tests, shown, known)
    if not copied:
        return None
    lines = "\n".join(f"- `{test}` holds {', '.join(values)}" for test, values in copied.items())
    return (f"{name} has tests that compare with a value copied from the reference solution's run, which neither the task nor its files hold: "
            f"a script that writes that value without reading any input passes them. Compute each expected value in the test from the inputs "
            f"(read the input files as the solution must), and compare the output with what you computed:\n{lines}")  # fmt: skip
