"""Cheap checks a written file must pass before a model's work is trusted: each returns the
problem (the tool's own output, fit to send back to the model) or None."""

from __future__ import annotations

import re
import subprocess
import tempfile
import uuid
from pathlib import Path, PurePosixPath

from harbor.models.task.config import TaskConfig

from termigen_harbor.bash_syntax import bash_complaint
from termigen_harbor.bundle import BundleFile, TaskBundle
from termigen_harbor.leftovers import owner_label

__all__ = ["bash_problem", "collect_problem", "dockerfile_problem", "file_problem", "python_problem"]


def bash_problem(script: str) -> str | None:
    """`bash -n`: the script parses."""
    complaint = bash_complaint(script)
    return None if complaint is None else "`bash -n` rejects the script:\n" + complaint


def python_problem(source: str, name: str = "file.py") -> str | None:
    """What `python -m py_compile` checks: the source compiles."""
    try:
        compile(source, name, "exec", dont_inherit=True)
    except SyntaxError as exc:
        where = f"line {exc.lineno}" + (f", column {exc.offset}" if exc.offset else "")
        code = (exc.text or "").rstrip()
        return f"`python -m py_compile {name}` fails: {exc.msg} ({where})" + (f":\n    {code}" if code else "")
    except ValueError as exc:  # NUL bytes
        return f"`python -m py_compile {name}` fails: {exc}"
    return None


def file_problem(path: str, content: str) -> str | None:
    """The check a file's kind calls for: Python by extension or shebang, shell likewise."""
    first = content.splitlines()[0] if content else ""
    suffix = PurePosixPath(path).suffix
    if suffix == ".py" or (first.startswith("#!") and "python" in first):
        return python_problem(content, PurePosixPath(path).name)
    if suffix in (".sh", ".bash") or (first.startswith("#!") and first.rstrip().endswith(("/sh", "/bash", " sh", " bash"))):
        return bash_problem(content)
    return None


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


COLLECT = ('P=/opt/termigen/verifier/bin/pytest; [ -x "$P" ] || P="python3 -m pytest"; '
           'cd /tests && $P --collect-only -q -p no:cacheprovider test_outputs.py')  # fmt: skip


def collect_problem(environment: dict[str, BundleFile], dockerfile: str, tests: str, timeout_s: int = 900) -> str | None:
    """pytest collects the tests inside the task's own image (built here from the same Dockerfile
    and context, so the engine's layer cache makes it quick after the environment stage): an
    import the image lacks, or a test file without tests, is caught before any trial."""
    # one tag and one container per call: two tasks with the same environment, checked at once in
    # one process, must not run into (or remove) each other's
    call = uuid.uuid4().hex[:12]
    tag = f"termigen/collect-check:{call}"
    with tempfile.TemporaryDirectory(prefix="termigen-collect-") as tmp:
        root = TaskBundle(name="collect", instruction="-", config=TaskConfig(), environment={**environment, "Dockerfile": BundleFile.text(dockerfile)},
                          tests={"test_outputs.py": BundleFile.text(tests)}).write(Path(tmp))  # fmt: skip
        context, tests_dir = root / "environment", root / "tests"
        build = subprocess.run(["docker", "build", "-q", "-t", tag, str(context)], capture_output=True, text=True, timeout=timeout_s)
        if build.returncode:
            return f"the environment's image did not build: {build.stderr.strip()[-1500:]}"
        name = f"termigen-collect-{call}"
        try:
            run = subprocess.run(["docker", "run", "--rm", "--name", name, *owner_label(), "--network", "none", "-v", f"{tests_dir}:/tests:ro", tag, "sh", "-c", COLLECT],
                                 capture_output=True, text=True, timeout=300)  # fmt: skip
        except subprocess.TimeoutExpired:
            return "pytest's collection of the tests did not finish in 300 s inside the task's image (does a test module run work at import?)"
        finally:  # a collection that hung, or this process interrupted, must not leave the container running
            subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=120)
            subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, timeout=120)
    output = (run.stdout + run.stderr).strip()
    if run.returncode == 5:
        return "pytest collected no tests from tests/test_outputs.py (test functions must be named test_*)"
    if run.returncode:
        return f"pytest cannot collect the tests inside the task's image (exit {run.returncode}):\n{output[-2000:]}"
    return None
