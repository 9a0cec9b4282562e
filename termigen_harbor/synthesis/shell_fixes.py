"""Mechanical repairs of a bash solution, for mistakes whose intent is plain and that a small model
repeats after being told (each named by the run it came from)."""

from __future__ import annotations

import re
import shlex
import textwrap
from collections.abc import Callable
from pathlib import PurePosixPath

from termigen_harbor.synthesis.checks import python_run_by_bash
from termigen_harbor.synthesis.python_source import compiles, with_missing_imports
from termigen_harbor.verifier_sandbox import output_paths


def solution_fixed(script: str, outputs: list[str]) -> str:
    """A solution script run by python3 if it is Python, with its inline Python programs dedented
    and its one-line ones split where a block statement follows a `;`, the imports its Python
    heredocs and `-c` programs plainly forgot added, no file read in a loop that
    writes to it, nothing run through plain sudo, no output file of the task's `outputs` made a
    folder, and the folders of those outputs made first."""
    script = python_run_by_bash(one_line_python_split(inline_python_dedented(script)))
    script = without_sudo(read_loop_rewritten(inline_python_imported(python_heredocs_imported(script))))
    return with_output_folders(without_mkdir_of_files(script, output_paths(outputs)), outputs)


DONE_FROM_RE = re.compile(r"^(?P<indent>\s*)done\s*<\s*(?P<target>\"?\$?\{?[\w./-]+\}?\"?)\s*$")
WHILE_RE = re.compile(r"^\s*while\b")


def read_loop_rewritten(script: str) -> str:
    """A `while read ... done < FILE` loop that writes to FILE itself (`>> FILE` or `> FILE` in its
    body) never ends, reading each line it appends again, or keeps one line: it writes to FILE.new
    instead, which replaces FILE after the loop (run P: a config repaired in place ran out its 300 s,
    as run O's had, three rounds each, told only that it had not finished)."""
    lines = script.splitlines()
    for i, line in enumerate(lines):
        done = DONE_FROM_RE.match(line)
        start = next((j for j in range(i - 1, -1, -1) if WHILE_RE.match(lines[j])), None) if done else None
        if start is None:
            continue
        target, bare = done["target"], done["target"].strip('"')
        writes = re.compile(r">>?\s*(?:" + "|".join(re.escape(t) for t in {bare, f'"{bare}"'}) + r")(?=[\s;)]|$)")
        if not any(writes.search(body) for body in lines[start + 1 : i]):
            continue
        new = f'"{bare}.new"'
        lines[start + 1 : i] = [writes.sub(f">> {new}", body) for body in lines[start + 1 : i]]
        lines[i] = f"{line}\n{done['indent']}mv {new} {target}"
        lines[start] = f"{done['indent']}: > {new}\n{lines[start]}"
    return "\n".join(lines) + ("\n" if script.endswith("\n") else "")


MKDIR_RE = re.compile(r"^(?P<lead>[ \t]*mkdir[ \t]+-p[ \t]+)(?P<paths>[^;&|<>#\n]+?)[ \t]*$", re.M)


def without_mkdir_of_files(script: str, files: list[str]) -> str:
    """The script with the output files the task names (`/app/sccs.txt`) taken out of its
    `mkdir -p` lines (a line left with none goes): made folders, they can never be written (run P:
    `mkdir -p /app/sccs.txt`, and an accepted task whose tests only checked that it existed)."""
    named = {f.rstrip("/") for f in files if not f.endswith("/")}

    def mended(line: re.Match[str]) -> str:
        kept = [p for p in line["paths"].split() if p.strip("\"'") not in named]
        return f"{line['lead']}{' '.join(kept)}" if kept else ""

    return MKDIR_RE.sub(mended, script)


def with_output_folders(script: str, outputs: list[str]) -> str:
    """The solution with the folders of the task's outputs made first (`mkdir -p`), after its
    shebang: in two real runs the 1.5B wrote into /app/output/ in all three rounds without making
    it, after being told each time what to run. /app itself exists; a script that has the line keeps it."""
    folders = sorted({path.rstrip("/") if path.endswith("/") else str(PurePosixPath(path).parent) for path in output_paths(outputs)} - {"/", "/app"})
    line = f"mkdir -p {' '.join(shlex.quote(f) for f in folders)}"
    if not folders or line in script.splitlines() or script.startswith("#!") and "python" in script.partition("\n")[0]:
        return script
    first, _, rest = script.partition("\n")
    return f"{first}\n{line}\n{rest}" if first.startswith("#!") else f"{line}\n{script}"


SUDO_RE = re.compile(r"(^|[;&|(`]|\$\(|\b(?:then|do|else)\b)([ \t]*)sudo[ \t]+(?=[^-\s])", re.M)


def without_sudo(script: str) -> str:
    """The solution with a plain `sudo CMD` run as `CMD`: solve.sh runs as root, the image has no
    sudo, and the 1.5B kept it after being told (run N: exit 127, two rounds). `sudo -u user` stays."""
    return SUDO_RE.sub(r"\1\2", script)


# `python3 -c '...'` (bash holds no single quote inside) or `python3 -c "..."` (up to an unescaped double quote)
INLINE_PROGRAM_RE = re.compile(r"""\bpython3?(?:\.\d+)?\s+-c\s+(?:'(?P<single>[^']*)'|"(?P<double>(?:[^"\\]|\\.)*)")""")


def _inline_programs_rewritten(script: str, rewrite: Callable[[str, str], str]) -> str:
    """The script with each `python3 -c` program replaced by `rewrite(program, quote)`, its quotes
    and the command around it kept."""
    def rewritten(found: re.Match[str]) -> str:
        group = "single" if found["single"] is not None else "double"
        start, end = found.span(group)
        program = rewrite(found[group], "'" if group == "single" else '"')
        return found[0][: start - found.start()] + program + found[0][end - found.start() :]

    return INLINE_PROGRAM_RE.sub(rewritten, script)


def inline_python_dedented(script: str) -> str:
    """A bash script's `python3 -c '` whose program starts on the next line, indented as the script
    around it is, with that program dedented: Python reads the indent as an IndentationError (run P:
    the 1.5B's sum reference, three rounds, each sent back with the traceback)."""
    def dedented(program: str, _quote: str) -> str:
        opening = re.match(r"[ \t]*\n", program)
        return program[: opening.end()] + textwrap.dedent(program[opening.end() :]) if opening else program

    return _inline_programs_rewritten(script, dedented)


BLOCK_AFTER = re.compile(r"\s*(?:with|for|if|while|try|def|class)\b")


def one_line_python_split(script: str) -> str:
    """A one-line `python3 -c "...; with open(f) as o: o.write(x)"` program, which Python refuses
    (a block statement cannot follow a `;`), with a new line before each such statement, when that
    compiles: the statements after it stay on its line, as its body. Only a program that cannot
    compile, and holds no backslash, is touched. Run P: three identical sum references; run Q: a
    config reference and a sum's independent solution, each for three rounds (one sent its errors
    to /dev/null and exited 0)."""
    def split(program: str, _quote: str) -> str:
        if "\n" in program or "\\" in program or compiles(program):
            return program
        cuts = [i for i in _top_level_semicolons(program) if BLOCK_AFTER.match(program, i + 1)]
        pieces = [program[start + 1 : end].strip() for start, end in zip([-1, *cuts], [*cuts, len(program)])]
        lines = "\n".join(pieces)
        return lines if cuts and compiles(lines) else program

    return _inline_programs_rewritten(script, split)


def _top_level_semicolons(program: str) -> list[int]:
    """Where `program` has a `;` outside its string literals and brackets."""
    found, depth, quote = [], 0, ""
    for i, char in enumerate(program):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == ";" and depth == 0:
            found.append(i)
    return found


PYTHON_HEREDOC_RE = re.compile(r"^(?:.*?(?:\bpython3?(?:\.\d+)?\b[^\n<]*|\bcat\s+>\s*\S+\.py\s*)<<(?P<dash>-?)\s*(?P<q>['\"]?)(?P<end>\w+)(?P=q).*)\n", re.M)


def python_heredocs_imported(script: str) -> str:
    """The script with the imports its Python heredocs (`python3 - <<'EOF'`, `cat > x.py <<EOF`)
    plainly forgot added (with_missing_imports): run Q's sum reference stopped on `NameError: name
    'Path' is not defined`, and was rewritten from the traceback."""
    out, at = [], 0
    for opened in PYTHON_HEREDOC_RE.finditer(script):
        if opened.start() < at:
            continue
        closing = re.compile(rf"^{'[ \t]*' if opened['dash'] else ''}{opened['end']}[ \t]*$", re.M).search(script, opened.end())
        if closing is None:
            break
        out += [script[at : opened.end()], with_missing_imports(script[opened.end() : closing.start()])]
        at = closing.start()
    return "".join(out) + script[at:]


def inline_python_imported(script: str) -> str:
    """The script with the imports its `python3 -c` programs plainly forgot added (with_missing_imports),
    each on its own line at the program's start; a double-quoted program holding `$`, `\\` or a
    backquote, which bash rewrites before Python sees it, is left as written. Run R: a CSV-to-JSON
    reference's one-line program stopped on `NameError: name 'json' is not defined`."""
    def imported(program: str, quote: str) -> str:
        return program if quote == '"' and re.search(r"[$\\`]", program) else with_missing_imports(program)

    return _inline_programs_rewritten(script, imported)
