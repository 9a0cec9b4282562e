"""What a failed `docker build` says, read from its output: the instruction that failed and its
own output lines, a package that does not exist; and the one repair a failed build's Dockerfile
can get without a model: the missing package, or else the failing RUN, taken out."""

from __future__ import annotations

import re

from pydantic import BaseModel

from termigen_harbor.synthesis.checks import EMPTY_INSTALL_RE, and_segments, instructions

FAILED_STEP_RE = re.compile(r"^ > \[[^\]\n]*\] (?P<instruction>.+?):\n(?P<output>.*?)^-{6}$", re.M | re.S)
PARSE_ERROR_RE = re.compile(r"dockerfile parse error on line (?P<line>\d+): (?P<what>[^\n]+)")
EXIT_CODE_RE = re.compile(r"did not complete successfully: exit code: (?P<code>\d+)")
TIMESTAMP_RE = re.compile(r"^\d+\.\d+ ", re.M)
SHELL_PREFIX_RE = re.compile(r"^/bin/(?:ba)?sh: (?:line )?\d+: ", re.M)  # `/bin/sh: 1: make: not found`, which a build prints without it at times
MISSING_PACKAGE_RES = (
    re.compile(r"No matching distribution found for (?P<name>[A-Za-z0-9][\w.-]*)"),  # pip
    re.compile(r"Invalid requirement: '(?P<name>[^'\s]+)'"),  # pip, given no package (run P: `pip install termigen/base:bookworm`, three builds)
    re.compile(r"Unable to locate package (?P<name>[a-z0-9][a-z0-9.+-]*)"),  # apt
    re.compile(r"Package '(?P<name>[a-z0-9][a-z0-9.+-]*)' has no installation candidate"),  # apt
)
INSTALL_RE = re.compile(r"\b(?:pip3?|apt-get|apt)\s+install\b")


class BuildFailure(BaseModel):
    instruction: str | None = None  # `RUN pip install tmux`, as the build printed it
    output: str = ""  # that instruction's own output lines, or the parse error
    exit_code: int | None = None
    missing_package: str | None = None

    def repeats(self, earlier: BuildFailure | None) -> bool:
        """Whether the `earlier` build failed the same way: at this instruction as it was, or with this
        same error from a RUN reworded (run S: `cd /app && cmake . && make`, then `cmake . && make`,
        each "does not appear to contain CMakeLists.txt")."""
        if not (earlier and earlier.instruction and self.instruction):
            return False
        said, before = (SHELL_PREFIX_RE.sub("", output) for output in (self.output, earlier.output))
        return _same(earlier.instruction, self.instruction) or (bool(said.strip()) and _same(before, said))

    def summary(self) -> str:
        """One paragraph that points at what to change, put before the build's output."""
        if self.instruction is None:
            return f"The Dockerfile could not be read: {self.output}." if self.output else ""
        said = f" with exit code {self.exit_code}" if self.exit_code is not None else ""
        last = self.output.strip().splitlines()[-3:]
        text = f"The instruction `{self.instruction}` failed{said}" + (": " + " / ".join(line.strip() for line in last) if last else "") + "."
        if self.missing_package:
            text += f" `{self.missing_package}` is no package that this installer can find: remove it from that line, or install it with the right installer."
        return text


def read_failure(output: str) -> BuildFailure | None:
    """The failed instruction in a build's output (BuildKit's boxed excerpt), or a parse error."""
    step = None
    for step in FAILED_STEP_RE.finditer(output):
        pass  # the last box is the step that stopped the build
    if step is None:
        parse = PARSE_ERROR_RE.search(output)
        return BuildFailure(output=f"line {parse['line']}: {parse['what']}") if parse else None
    lines = TIMESTAMP_RE.sub("", step["output"]).strip()
    code = EXIT_CODE_RE.search(output[step.end():]) or EXIT_CODE_RE.search(output)
    missing = next((m["name"] for pattern in MISSING_PACKAGE_RES for m in [pattern.search(lines)] if m), None)
    return BuildFailure(instruction=step["instruction"].strip(), output=lines, exit_code=int(code["code"]) if code else None, missing_package=missing)


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


def without_failure(dockerfile: str, failure: BuildFailure) -> tuple[str, str] | None:
    """The Dockerfile with the missing package taken out of the failed RUN (an install left with
    nothing to install goes, and a RUN left with nothing to run), or else the failed RUN taken out;
    with what was done. None when the failed instruction is not a RUN of this Dockerfile."""
    if failure.instruction is None or not failure.instruction.upper().startswith("RUN "):
        return None
    found = next((i for i in instructions(dockerfile) if _same(i.text, failure.instruction)), None)
    if found is None:
        return None
    becomes, did = "", f"took out `{failure.instruction}`, which failed"
    name = failure.missing_package
    if name:
        becomes = _run_without(found.text, name)
        did = f"took `{name}`, which the installer could not find, out of `{failure.instruction}`"
    lines = dockerfile.splitlines()
    lines[found.line - 1 : found.end] = [becomes] if becomes else []
    return "\n".join(lines) + ("\n" if dockerfile.endswith("\n") else ""), did


def _package(name: str) -> re.Pattern[str]:
    """`name` as an install's operand, with any version pin (`seaborn-brushable==1.0`)."""
    return re.compile(rf"(?<=\s){re.escape(name)}(?:[=<>~!]=?[^\s]*)?(?=\s|$)")


def _run_without(run: str, name: str) -> str:
    """A RUN with package `name` taken out of its install commands (an install left with nothing to
    install goes); "" when nothing is left to run."""
    kept = []
    for segment in and_segments(run):
        if INSTALL_RE.search(segment):
            segment = _package(name).sub("", segment)
            segment = " ".join(segment.split())
            if EMPTY_INSTALL_RE.fullmatch(segment):
                continue
        kept.append(segment)
    return "RUN " + " && ".join(kept) if kept else ""


def without_package(dockerfile: str, name: str) -> str | None:
    """The Dockerfile with package `name`, which no installer could find, taken out of every RUN
    that still installs it, however else that RUN was rewritten (the 1.5B Environment agent dropped
    `--upgrade`, then another package, and kept `seaborn-brushable` through three builds); None when
    no RUN installs it."""
    lines = dockerfile.splitlines()
    changed = False
    for found in reversed(instructions(dockerfile)):  # from the end, so earlier line numbers hold
        if not found.text.upper().startswith("RUN ") or not any(INSTALL_RE.search(s) and _package(name).search(s) for s in and_segments(found.text)):
            continue
        becomes = _run_without(found.text, name)
        lines[found.line - 1 : found.end] = [becomes] if becomes else []
        changed = True
    return "\n".join(lines) + ("\n" if dockerfile.endswith("\n") else "") if changed else None
