"""Environment (synthesis stage 2): a File Planner writes the blueprint, a Constructor writes each file,
an Environment agent writes the Dockerfile from the configured base image. Model-written paths
are untrusted: they pass the bundle's path checks before anything is kept."""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import PurePosixPath
from typing import Any

from pydantic import BaseModel, Field, field_validator, model_validator

from termigen_harbor.bundle import BundleError, BundleFile, safe_relpath
from termigen_harbor.images import BASE_IMAGE
from termigen_harbor.llm import LLM
from termigen_harbor.prompts import render
from termigen_harbor.synthesis.checks import (
    EMPTY_INSTALL_RE, FROM_STAGE_RE, HEREDOC_RE, and_segments, INSTRUCTIONS, REQUIREMENTS_RE, Instruction, context_problem, copied_sources, copy_flags_and_operands, copy_operands, dockerfile_problem, file_fixed, file_problem, holds, instructions, unbroken_problem, with_fault, with_stages,
)
from termigen_harbor.synthesis.image_packages import PYPI_RELEASES
from termigen_harbor.synthesis.spec import TaskSpec
from termigen_harbor.verifier_sandbox import output_paths


class PlannedFile(BaseModel):
    path: str
    purpose: str

    @model_validator(mode="before")
    @classmethod
    def _in_the_context_not_the_image(cls, data: Any) -> Any:
        """A small model writes the file's place in the image (`/app/data/orders.csv`) however
        often it is told otherwise: that place becomes the path in the build context
        (`data/orders.csv`; outside /app, `etc/cron.d/job`), and the purpose says where the image
        has it, so the Dockerfile copies it there."""
        if isinstance(data, dict) and isinstance(data.get("path"), str):  # `output/summary.parquet: ` copied from the spec's `path: format`
            data = {**data, "path": data["path"].strip().removesuffix(":").strip()}
        if isinstance(data, dict) and isinstance(data.get("path"), str) and data["path"].startswith("/"):
            original = data["path"]
            relative = original.lstrip("/").removeprefix("app/")
            data = {**data, "path": relative, "purpose": f"{data.get('purpose', '')} (in the image at {original})".strip()}
        return data

    @field_validator("path")
    @classmethod
    def _inside_the_context(cls, path: str) -> str:
        """Checked while parsing, so that a bad path goes back to the model with the reason (a
        small model writes the file's place in the container, `/app/maze.txt`)."""
        try:
            return safe_relpath(path, "environment").as_posix()
        except BundleError as exc:
            raise ValueError(f"{exc.reason}: paths are relative to the Docker build context (write `maze.txt` for a file the Dockerfile copies to /app/maze.txt)") from None


class Blueprint(BaseModel):
    files: list[PlannedFile] = Field(default_factory=list)


class StageError(RuntimeError):
    """A stage's output cannot be used; the message says which stage and why."""


def checked_blueprint(blueprint: Blueprint, outputs: list[str] = (), inputs: list[str] = ()) -> list[PlannedFile]:
    """Refuses paths that would leave the bundle; drops files the environment must never hold:
    ours (Dockerfile, tests, solution) and the task's outputs, which the agent must make (a small
    model lists them as files of the environment, then has to write the answer). An output that is
    also an input is repaired in place (`/app/config.txt` in and out): the environment holds it; so
    does an input that shares an output's name (`/app/config.txt` in, `/app/output/config.txt` out)."""
    made = agent_outputs(outputs, inputs)
    made_by_the_agent = {PurePosixPath(path).name for path in made}  # `/app/out/summary.parquet: a Parquet file ...`
    named = [path for path in output_paths(inputs) if not path.endswith("/")]
    names = [PurePosixPath(path).name for path in named]
    places = {name: path for name, path in zip(names, named) if names.count(name) == 1}  # an input's name, where only it has that name
    files = []
    for planned in blueprint.files:
        try:
            rel = safe_relpath(planned.path, "environment")
        except BundleError as exc:
            raise StageError(f"file planner: {exc}") from None
        if rel.name in ("Dockerfile", "solve.sh", "test_outputs.py", "test.sh") or rel.parts[0] in ("tests", "solution"):
            continue
        # an input that shares an output's name is kept unless planned at the output's own place (run S:
        # the input /app/config.txt went, for the output /app/output/config.txt, and no build could hold it)
        kept = PlannedFile(path=rel.as_posix(), purpose=planned.purpose)
        if rel.name in made_by_the_agent and (rel.name not in places or image_place(kept) in made):
            continue
        files.append(_at_its_input(kept, places))
    return files


def _at_its_input(planned: PlannedFile, places: dict[str, str]) -> PlannedFile:
    """A planned file with no place in the image, named as an input of the spec that sits elsewhere,
    goes to that input's place: `edges.csv` for the input `/app/graphs/edges.csv` (run N: it was
    copied to /app/edges.csv, and the reference found no input in four rounds)."""
    place = places.get(PurePosixPath(planned.path).name)
    if place is None or IMAGE_PLACE_RE.search(planned.purpose) or image_place(planned) in places.values():
        return planned
    return PlannedFile(path=place, purpose=planned.purpose)  # the validator makes it a context path that keeps the place


def agent_outputs(outputs: list[str], inputs: list[str] = ()) -> list[str]:
    """The paths of the outputs the agent makes: those not also shipped as inputs (a config repaired in place)."""
    shipped = set(output_paths(inputs))
    return [path for path in output_paths(outputs) if path not in shipped]


async def plan_files(llm: LLM, spec: TaskSpec) -> list[PlannedFile]:
    return checked_blueprint(await llm.structured(render("file_planner", spec=spec.as_text()), Blueprint, purpose="file_planner"), spec.outputs, spec.inputs)


async def construct_files(llm: LLM, spec: TaskSpec, blueprint: list[PlannedFile]) -> dict[str, BundleFile]:
    files = {}
    for planned in blueprint:
        prompt = render("constructor", spec=spec.as_text(), blueprint=blueprint, path=planned.path, purpose=planned.purpose)
        described = f"{spec.objective}\n{planned.purpose}"  # a file the task says is broken must be (unbroken_problem)
        content = await llm.file(prompt, purpose="constructor", check=lambda text, path=planned.path, said=described: file_problem(path, text) or unbroken_problem(path, text, said),
                                 fix=lambda text, path=planned.path: file_fixed(path, text),
                                 last_resort=lambda text, path=planned.path, said=described: with_fault(path, text, said))  # fmt: skip
        files[planned.path] = BundleFile.text(content, executable=planned.path.endswith((".sh", ".py")))
    return files


async def write_dockerfile(llm: LLM, spec: TaskSpec, blueprint: list[PlannedFile], base_image: str = BASE_IMAGE,
                           build_error: str | None = None, previous: str | None = None, unchanged_ok: bool = False) -> str:  # fmt: skip
    """The Environment agent's Dockerfile, normalized (on_base, shell lines as RUN). Before any build
    it goes back to the agent when it is not FROM the base, copies or installs from files the build
    context does not hold, or is the very Dockerfile whose build just failed (unless `unchanged_ok`:
    the caller has its own repair for that)."""
    prompt = render("environment_agent", spec=spec.as_text(), blueprint=blueprint, base_image=base_image, build_error=build_error, previous=previous)
    context = [f.path for f in blueprint]
    made = [path for path in agent_outputs(spec.outputs, spec.inputs) if not path.endswith("/")]
    inputs = output_paths(spec.inputs)

    def problem(text: str) -> str | None:
        dockerfile = normalized(text, base_image, blueprint, made, inputs)
        if previous is not None and dockerfile.strip() == previous.strip():
            return None if unchanged_ok else "this is the Dockerfile whose build just failed, unchanged: change what the build output points at"
        return dockerfile_problem(dockerfile, base_image) or context_problem(dockerfile, context)

    return normalized(await llm.file(prompt, purpose="environment_agent", check=problem), base_image, blueprint, made, inputs)


def normalized(dockerfile: str, base_image: str, blueprint: list[PlannedFile] = (), made: list[str] = (), inputs: list[str] = ()) -> str:
    return fit_to_context(as_instructions(on_base(dockerfile, base_image)), blueprint, made, inputs)


IMAGE_PLACE_RE = re.compile(r"\(in the image at (?P<place>/[^)\s]+)\)$")


def image_place(planned: PlannedFile) -> str:
    """Where a planned file goes in the image: the place its purpose names, else under /app."""
    place = IMAGE_PLACE_RE.search(planned.purpose)
    return place["place"] if place else f"/app/{planned.path}"
REDIRECTS = r"(?:\s*(?:\d?>>?|&>)\s*\S+|\s*2>&1)*"  # `> /tmp/out.log 2>&1`
ONLY_SCRIPT_RE = re.compile(r"RUN\s+(?:cd\s+\S+\s*&&\s*)?(?:(?:python3?|bash|sh)\s+)?(?:(?P<script>[\w./-]+\.(?:py|sh))|python3?\s+-m\s+(?P<module>[\w.]+))(?:\s+[^&|;<>]*)?" + REDIRECTS)
# modules `python3 -m` runs that no one has to write: the standard library's, pip, and the well-known packages
PROVIDED_MODULES = set(sys.stdlib_module_names) | {"pip", "pytest"} | set(PYPI_RELEASES)
CHMOD_RE = re.compile(r"RUN\s+chmod\s+(?:-\w+\s+)*(?:[0-7]{3,4}|[ugoa]*[-+=][rwxX]+)\s+(?P<files>[\w./ -]+?)\s*")


def only_touches_scripts(text: str) -> list[str] | None:
    """The scripts a RUN only runs (`RUN python3 gen.py > /tmp/log`, `RUN ./a.py x && ./b.py y`, a
    module of the task's own: `RUN python3 -m dedupe --input x`, as `dedupe.py`) or only makes
    executable (`RUN chmod +x gen.sh run.py`); None for any other instruction."""
    if not text.upper().startswith("RUN "):
        return None
    scripts = []
    for segment in and_segments(text):
        run, chmod = ONLY_SCRIPT_RE.fullmatch("RUN " + segment), CHMOD_RE.fullmatch("RUN " + segment)
        if not run and not chmod:
            return None
        if run and run["module"]:
            top = run["module"].split(".")[0]
            if top in PROVIDED_MODULES:
                return None
            scripts.append(f"{top}.py")
        else:
            scripts += [run["script"]] if run else chmod["files"].split()
    return scripts


def missing_scripts(found: Instruction, everything: list[Instruction], names: set[str]) -> bool:
    """Whether `found` only runs or chmods scripts that the context does not hold and that no
    other instruction names (so none writes them): a model's `RUN chmod +x generate.sh` then
    `RUN ./generate.sh` of a script nobody wrote failed a real build twice, and `COPY gen.py
    /app/` then `RUN python3 gen.py`, with no gen.py in the context, five builds."""
    scripts = only_touches_scripts(found.text)
    if not scripts:
        return False
    others = [i.text for i in everything if only_touches_scripts(i.text) is None and copied_sources(i) is None]  # a COPY from the context brings only what it holds
    return all(PurePosixPath(s).name not in names and not any(PurePosixPath(s).name in text for text in others) for s in scripts)


OR_TRUE_RE = re.compile(r"\s*\|\|\s*(?:true|:)\s*$")
NEEDLESS_RE = re.compile(  # the base already has pip; Debian's python3 refuses ensurepip, which failed a real build
    r"(?:python3?\s+-m\s+)?ensurepip(?:\s+\S+)*|(?:python3?\s+-m\s+)?pip3?\s+install(?:\s+--?[\w-]+(?:=\S+)?)*\s+pip(?:\s+--?[\w-]+(?:=\S+)?)*"
)


def without_needless(run: str, names: set[str]) -> str | None:
    """A RUN with what cannot or need not run taken out of its `&&` chain: `pip install -r FILE`
    of a file the context lacks (packages named on the same pip line stay; with `|| true` too), `ensurepip` and pip
    upgrading itself; "" when nothing is left to run, None when there is nothing to take out or no
    plain way to (a heredoc; quotes or a subshell in a compound command around the pip command)."""
    if HEREDOC_RE.search(run):
        return None
    kept, changed = [], False
    for segment in and_segments(run):
        segment, tolerated = OR_TRUE_RE.sub("", segment), OR_TRUE_RE.search(segment)  # `pip install -r x || true`: the same command, allowed to fail
        missing = _missing_requirements(segment, names)
        if missing and re.search(r"[;|]", segment):  # inside a compound command (`if ...; then pip install -r x; fi`)
            within = _without_requirements_within(segment, names)
            if within is None:
                return None
            kept.append(within + (tolerated[0] if tolerated else ""))
            changed = True
            continue
        if missing:
            segment, changed = _without_requirements(segment, missing).strip(), True
        if NEEDLESS_RE.fullmatch(segment) or (missing and EMPTY_INSTALL_RE.fullmatch(segment)):
            changed = True
        else:
            kept.append(segment + (tolerated[0] if tolerated else ""))
    return None if not changed else ("RUN " + " && ".join(kept) if kept else "")


def without_outputs(run: str, made: list[str], body: str = "") -> str | None:
    """The RUN without the commands of its `&&` chain that name one of the `made` paths; "" when
    none is left, None when none names one. A heredoc RUN (`body`: the heredoc's lines) goes whole
    when its first line names one (`RUN cat <<EOF > /app/output/report.json`, run N), or when it
    runs the heredoc as a script that names one (`RUN python3 - <<'EOF'`); else it is left as it is."""
    if not made:
        return None
    names_one = re.compile("(?:" + "|".join(re.escape(path) for path in made) + r")(?![\w./-])")
    if HEREDOC_RE.search(run):
        first = run.splitlines()[0]
        return "" if names_one.search(first) or (HEREDOC_SCRIPT_RE.search(first) and names_one.search(body)) else None
    segments = and_segments(run)
    kept = [segment for segment in segments if not names_one.search(segment)]
    if len(kept) == len(segments):
        return None
    return "RUN " + " && ".join(kept) if kept else ""


RM_RE = re.compile(r"^\s*rm\s+(?P<operands>.+)$")


def without_removals(run: str, inputs: list[str]) -> str | None:
    """The RUN without the `rm` commands of its `&&` chain that remove one of the task's `inputs`,
    by path or by name (`rm numbers.csv` in WORKDIR /app); "" when none is left, None when none
    removes one. Run Q: a sum task's Dockerfile copied /app/numbers.csv and ended with `WORKDIR
    /app` and `RUN rm numbers.csv`, and six solutions failed on the missing input."""
    names = {PurePosixPath(path.rstrip("/")).name for path in inputs}
    if not names or HEREDOC_RE.search(run):
        return None

    def removes_one(segment: str) -> bool:
        removal = RM_RE.match(segment)
        return bool(removal) and any(PurePosixPath(word.strip("\"'").rstrip("/")).name in names for word in removal["operands"].split() if not word.startswith("-"))

    segments = and_segments(run)
    kept = [segment for segment in segments if not removes_one(segment)]
    if len(kept) == len(segments):
        return None
    return "RUN " + " && ".join(kept) if kept else ""


def _missing_requirements(command: str, names: set[str]) -> list[re.Match[str]]:
    """The `pip install -r FILE` operands of `command` whose file the build context lacks."""
    return [m for m in REQUIREMENTS_RE.finditer(command) if PurePosixPath(m["file"]).name not in names]


def _without_requirements(command: str, missing: list[re.Match[str]]) -> str:
    """`command` with each of the `-r FILE` operands `missing` (matches in it) taken out."""
    for match in reversed(missing):
        command = command[: match.start("file")].rstrip().removesuffix("-r").rstrip() + command[match.end("file") :]
    return command


SHELL_PIECE_RE = re.compile(r"(\|\|?|;)")  # the pieces of a compound command, split at `;`, `|` and `||`
LEAD_KEYWORD_RE = re.compile(r"^\s*(?:(?:then|do|else|\{)\s+)?")


def _without_requirements_within(segment: str, names: set[str]) -> str | None:
    """A compound command with each `-r FILE` of a file the context lacks taken out of its pip
    install, and a pip install left with nothing to install made `true`, so that the shell's
    structure stays whole (a real run: `if ! dpkg-query ... | grep python3-pip; then pip install
    pyyaml && pip install -r requirements.txt; fi`, three replies). None when a quote or a
    subshell makes the pieces uncertain."""
    if re.search(r"[\"'`$(]", segment):
        return None
    pieces = SHELL_PIECE_RE.split(segment)
    for i in range(0, len(pieces), 2):
        piece = pieces[i]
        piece = _without_requirements(piece, _missing_requirements(piece, names)).rstrip()
        lead = LEAD_KEYWORD_RE.match(piece)[0]
        if piece != pieces[i] and EMPTY_INSTALL_RE.fullmatch(piece[len(lead) :].strip()):
            piece = f"{lead}true"
        pieces[i] = piece.strip()
    return "".join(p if i % 2 == 0 else ("; " if p == ";" else f" {p} ") for i, p in enumerate(pieces)).strip()


def json_form_mended(found: Instruction) -> Instruction | None:
    """A COPY/ADD in JSON form that is no JSON list of strings (`COPY [input/orders.csv", "/app/"]`,
    a real build's parse error, sent back unchanged), rewritten from its words; else None."""
    keyword = found.text.partition(" ")[0]
    flags, operands = copy_flags_and_operands(found.text)
    if keyword.upper() not in ("COPY", "ADD") or not operands.startswith("["):
        return None
    try:
        if all(isinstance(word, str) for word in json.loads(operands)):
            return None
    except ValueError:
        pass
    words = [w.strip("\"'") for w in re.split(r"[\s,]+", operands.strip("[] ")) if w.strip("\"'")]
    return Instruction(found.line, found.end, " ".join([keyword, *flags, json.dumps(words)])) if len(words) >= 2 else None


def fitted_copy(found: Instruction, context: list[str]) -> str | None:
    """A COPY/ADD with its sources fitted to the context: a source the context holds stays, one
    it holds under another folder by the same unique name is read from there, any other goes;
    "" when no source is left, None when nothing changes (or it is not a plain COPY/ADD)."""
    sources = copied_sources(found)
    if sources is None or all(holds(context, source) for source in sources):
        return None
    fitted = []
    for source in sources:
        same_name = [f for f in context if PurePosixPath(f).name == PurePosixPath(source).name]
        if holds(context, source):
            fitted.append(source)
        elif len(same_name) == 1:
            fitted.append(same_name[0])
    if not fitted:
        return ""
    words = found.text.split()
    flags = [w for w in words[1:] if w.startswith("--")]
    destination = copy_operands(found.text)[-1]
    if len(fitted) > 1 and not destination.endswith("/"):
        destination += "/"  # Docker wants a folder for several sources
    return " ".join([words[0], *flags, json.dumps([*fitted, destination])])


def placed_copy(text: str, places: dict[str, str]) -> str | None:
    """A COPY/ADD of one planned file whose place in the image the File Planner named (`places`:
    context path -> place), to that place (run R: `COPY graphs/edges.csv .` before any WORKDIR put
    the SCC task's input at /edges.csv, not at /app/graphs/edges.csv, and the image that lacked it
    went back to the Environment agent); None when it goes there already, or is no such COPY."""
    keyword = text.split()[0]
    if keyword.upper() not in ("COPY", "ADD") or "--from" in text:
        return None
    *sources, destination = copy_operands(text)
    place = places.get(sources[0].removeprefix("./")) if len(sources) == 1 else None
    if place is None or destination == place or (destination.endswith("/") and destination + PurePosixPath(place).name == place):
        return None
    return " ".join([keyword, *copy_flags_and_operands(text)[0], json.dumps([sources[0].removeprefix("./"), place])])


def own_stage_copy(found: Instruction, stages: list[str]) -> str | None:
    """A COPY/ADD `--from` the stage it is in (by number or name; `stages`: the names of the stages
    up to its own, with_stages), which Docker refuses as a circular dependency, as the RUN that
    copies within the stage; None for anything else. Run O: the 1.5B's nginx Dockerfile had
    `COPY --from=0` in its one stage, three replies."""
    source = FROM_STAGE_RE.search(found.text)
    operands = copy_operands(found.text)
    if not source or not stages or len(operands) < 2 or source["name"].lower() not in (str(len(stages) - 1), stages[-1]):
        return None
    *sources, destination = operands
    folder = destination if destination.endswith("/") or len(sources) > 1 else str(PurePosixPath(destination).parent)
    return f"RUN mkdir -p {shlex.quote(folder)} && cp -r {' '.join(map(shlex.quote, sources))} {shlex.quote(destination)}"


def fit_to_context(dockerfile: str, blueprint: list[PlannedFile], made: list[str] = (), inputs: list[str] = ()) -> str:
    """What a small model gets wrong about the build context, set right where the intent is plain
    (in a real run the 1.5B model wrote these again after every reason it was given): a COPY/ADD
    source the context lacks goes, or is read from the one context path of that name (a build step
    that needed a lost file then fails, and that output goes back); `pip install -r` of a file the
    context lacks, `ensurepip` and pip upgrading itself go from their RUN; a RUN that only runs (or
    only chmods) scripts that neither the context holds nor another step writes goes; a command of a
    RUN's `&&` chain that names a file the agent must make (`made`) goes, as the image must not hold
    the answer (in run N the 1.5B wrote `/app/sum.txt` with `python3 -c`, and checked it, in four
    builds, none of which ran); a planned file that no
    COPY brings in is copied, right after FROM, to /app/<path> or to the place in the image the File
    Planner named. An ENTRYPOINT goes too: Harbor keeps the container up with its own command, which an entrypoint would wrap (the
    container then exits, and the build output that goes back says only "exited (1)"). So does a CMD, which Harbor's command
    replaces: all it can do is mislead the writers (run O: `CMD python3 -m termigen.check.sum_numbers_in_file`, a module nothing
    provides, which three reference solutions tried to run and then to `pip install`). A RUN that repeats an earlier one
    word for word goes (run O: one apt-get line nine times, a model's generation loop). A COPY from its own stage becomes
    a `RUN cp` (own_stage_copy). An `rm` of one of the task's `inputs` goes (without_removals). A
    COPY of a planned file whose place the File Planner named goes to that place (placed_copy). A
    WORKDIR at an output the agent makes becomes its folder: Docker would make the output a folder."""
    context = [f.path for f in blueprint]
    places = {f.path: place["place"] for f in blueprint if (place := IMAGE_PLACE_RE.search(f.purpose))}
    names = {PurePosixPath(f).name for f in context} | {f"{PurePosixPath(f).parts[0]}.py" for f in context if "/" in f}  # a folder is a package `python3 -m` runs
    lines = dockerfile.splitlines()
    replaced: dict[int, tuple[int, str]] = {}  # first line of an instruction -> its last line, what it becomes ("" drops it)
    covered: set[str] = set()
    first_from = None
    everything = instructions(dockerfile)
    for found, stages in with_stages(everything):
        keyword = found.text.split()[0].upper()
        first_from = found.end if first_from is None and keyword == "FROM" else first_from
        written = lines[found.line - 1 : found.end]  # a heredoc's body too
        repeated = keyword == "RUN" and any(lines[e.line - 1 : e.end] == written for e in everything if e.line < found.line)
        if keyword in ("ENTRYPOINT", "CMD") or repeated or (keyword == "RUN" and missing_scripts(found, everything, names)):
            becomes = ""  # Harbor's compose runs `sh -c "sleep infinity"` as the command: an entrypoint wraps it and the container exits
        elif keyword == "RUN":
            removed = without_removals(found.text, inputs)
            run = found.text if removed is None else removed
            unmade = without_outputs(run, made, "\n".join(lines[found.line : found.end])) if run else ""
            becomes = "" if unmade == "" else without_needless(unmade or run, names)
            becomes = (removed if unmade is None else unmade) if becomes is None else becomes
        elif keyword == "WORKDIR" and (workdir := found.text.split(maxsplit=1)[-1].strip().rstrip("/")) in {m.rstrip("/") for m in made}:
            becomes = f"WORKDIR {PurePosixPath(workdir).parent}"  # run T: `WORKDIR /app/output.txt` made the output file a folder
        elif own := own_stage_copy(found, stages):
            becomes = own
        else:
            mended = json_form_mended(found)
            becomes = fitted_copy(mended or found, context)
            becomes = mended.text if becomes is None and mended else becomes
            if becomes != "" and (placed := placed_copy(found.text if becomes is None else becomes, places)):
                becomes = placed
        if becomes is not None:
            replaced[found.line] = (found.end, becomes)
        if becomes != "" and keyword in ("COPY", "ADD"):
            fitted = Instruction(found.line, found.end, becomes) if becomes else found
            covered.update(f for f in context if any(holds([f], source) for source in copied_sources(fitted) or []))
    copies = []
    for planned in blueprint:
        if planned.path not in covered:
            copies.append("COPY " + json.dumps([planned.path, image_place(planned)]))
    kept: list[str] = []
    skip_to = 0
    for number, line in enumerate(lines, 1):
        if number <= skip_to:
            continue
        if number in replaced:
            skip_to, becomes = replaced[number]
            kept += [becomes] if becomes else []
        else:
            kept.append(line)
        if number == first_from:
            kept += copies
    if first_from is None:
        kept = copies + kept
    return "\n".join(kept) + ("\n" if dockerfile.endswith("\n") else "")


SHELL_WORD_RE = re.compile(r"^[a-z][\w.+-]*(\s|$)")
MISSPELT_RUN_RE = re.compile(r"^[A-Z]{2,8}$")  # a word in an instruction's capitals, before a shell command


HEREDOC_SCRIPT_RE = re.compile(r"\b(?:python3?|bash|sh)(?:\s+-)?\s+<<")  # a heredoc run as a script
INLINE_SCRIPT_RE = re.compile(r"^(?P<lead>\s*RUN\s+(?:.*&&\s*)?)(?P<interpreter>python3?|bash|sh)\s+-c\s+(?P<quote>['\"])(?P<first>[^'\"]*)$")


def inline_scripts_as_heredocs(dockerfile: str) -> str:
    """A `RUN python3 -c '...` (or `bash -c`) whose quoted script runs on over the next lines, which
    Docker reads as one RUN and then unknown instructions, becomes a heredoc run by the same
    interpreter: the script runs to the last line holding the quote before the next instruction (a
    quote inside it, `open(f, 'r')`, does not end it). Run O: the 1.5B wrote a multi-line
    `python3 -c` three times, each sent back for lines that are no Dockerfile instruction."""
    lines = dockerfile.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        opened = INLINE_SCRIPT_RE.match(lines[i])
        following = range(i + 1, next((j for j in range(i + 1, len(lines)) if lines[j].split()[:1] and lines[j].split()[0] in INSTRUCTIONS), len(lines)))
        close = next((j for j in reversed(following) if opened["quote"] in lines[j]), None) if opened else None
        if close is None:
            out.append(lines[i])
            i += 1
            continue
        at = lines[close].rindex(opened["quote"])
        body = [opened["first"], *lines[i + 1 : close], lines[close][:at]]
        end = "SCRIPT"
        while end in body:
            end += "_END"
        interpreter = "python3 -" if opened["interpreter"].startswith("python") else opened["interpreter"]
        rest = lines[close][at + 1 :].strip()
        out += [f"{opened['lead']}{interpreter} <<'{end}'" + (f" {rest}" if rest else ""), *(line for line in body if line.strip()), end]
        i = close + 1
    return "\n".join(out) + ("\n" if dockerfile.endswith("\n") else "")


def as_instructions(dockerfile: str) -> str:
    """A shell command written where an instruction belongs (`apt-get update && ...` with no RUN,
    which Docker refuses as an unknown instruction) becomes the RUN it was meant to be: the
    intent is unambiguous, and a small model repeats the line after the build's error. So does a
    shell command after a capitalised word that is no instruction (run T: `RMINV rm -rf
    /var/lib/apt/lists/*`, three replies), and a quoted script run on over several lines
    (inline_scripts_as_heredocs)."""
    dockerfile = inline_scripts_as_heredocs(dockerfile)
    lines = dockerfile.splitlines()
    for number, _, text in instructions(dockerfile):
        keyword, rest = (text.split(maxsplit=1) + [""])[:2]
        if keyword.upper() not in INSTRUCTIONS and SHELL_WORD_RE.match(text):
            lines[number - 1] = "RUN " + lines[number - 1].strip()
        elif keyword.upper() not in INSTRUCTIONS and MISSPELT_RUN_RE.match(keyword) and SHELL_WORD_RE.match(rest):
            lines[number - 1] = "RUN " + lines[number - 1].strip()[len(keyword) :].lstrip()  # `RMINV rm -rf ...`
        if lines[number - 1].split()[0].upper() in ("RUN", "COPY", "ADD"):  # `cat << EOF`: Docker reads a heredoc only as `<<EOF`
            lines[number - 1] = HEREDOC_SPACE_RE.sub(r"<<\1", lines[number - 1])
    return "\n".join(lines) + ("\n" if dockerfile.endswith("\n") else "")


# `<< EOF` (a real run's Dockerfile): the shell's heredoc, which Docker reads as the two words `<<` and `EOF`, so the
# heredoc's lines became instructions (`unknown instruction: set`), and the model sent it back unchanged three times
HEREDOC_SPACE_RE = re.compile(r"(?<!<)<<(-?)[ \t]+(?=[\"']?[A-Za-z_])")


FROM_RE = re.compile(r"^\s*FROM\s+(?P<image>\S+)(?P<rest>.*)$", re.I)
COMMENTED_FROM_RE = re.compile(r"^\s*#\s*FROM\s", re.I)


def on_base(dockerfile: str, base_image: str) -> str:
    """The first stage is built FROM the configured base, whatever image the model named there
    (`python:3.10-slim`, which no registry here serves): the base is ours to choose, not the
    model's. A commented-out FROM goes; a missing FROM is added; later stages are left as written."""
    lines = [line for line in dockerfile.splitlines() if not COMMENTED_FROM_RE.match(line)]
    first = next((i for i, line in enumerate(lines) if FROM_RE.match(line)), None)
    if first is None:
        lines.insert(0, f"FROM {base_image}")
    else:
        lines[first] = f"FROM {base_image}{FROM_RE.match(lines[first])['rest']}"
    return "\n".join(lines).strip("\n") + "\n"
