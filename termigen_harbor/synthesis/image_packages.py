"""What the tests import or the solution runs that the task's image lacks, and the PyPI release or
Debian package that provides it.

Tests for a CSV-to-Parquet task imported pandas, which the image lacked; sent back three times, the
1.5B model kept importing it, and the task died with approved-looking tests. When the module is a
well-known PyPI package, the image gets it instead (a `RUN pip install` line in the Dockerfile):
the task then needs it anyway, for its solution as much as for its tests. Each release is pinned,
so that a bundle builds the same later; the base image trusts the extra CA certificates, so pip
works in the build. A well-known command-line tool a solution runs (`jq: command not found`, in a
real run of a jq task whose environment writer had pip-installed it) gets its Debian package the
same way, from the suite of the base image."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

# import name -> PyPI release (each with a CPython 3.11 manylinux wheel or pure Python, as Debian
# bookworm's python3 in our base image needs)
PYPI_RELEASES = {
    "pandas": "pandas==2.2.3",
    "numpy": "numpy==1.26.4",
    "pyarrow": "pyarrow==18.1.0",
    "fastparquet": "fastparquet==2024.11.0",
    "yaml": "PyYAML==6.0.2",
    "requests": "requests==2.32.3",
    "bs4": "beautifulsoup4==4.12.3",
    "lxml": "lxml==5.3.0",
    "scipy": "scipy==1.14.1",
    "sklearn": "scikit-learn==1.5.2",
    "jsonschema": "jsonschema==4.23.0",
    "toml": "toml==0.10.2",
    "PIL": "Pillow==11.0.0",
    "dateutil": "python-dateutil==2.9.0.post0",
    "psutil": "psutil==6.1.0",
    "flask": "Flask==3.1.0",
    "openpyxl": "openpyxl==3.1.5",
    "tabulate": "tabulate==0.9.0",
    "networkx": "networkx==3.4.2",
    "redis": "redis==5.2.1",
    "sqlalchemy": "SQLAlchemy==2.0.36",
    "xmltodict": "xmltodict==0.14.2",
    "jinja2": "Jinja2==3.1.4",
    "click": "click==8.1.7",
    "httpx": "httpx==0.28.1",
    "duckdb": "duckdb==1.1.3",
}

MISSING_MODULE_RE = re.compile(
    r"ModuleNotFoundError: No module named '([\w.]+)'"
    r"|Missing optional dependency '([\w.]+)'"  # pandas, for a reader or writer it needs a package for
    r"|Unable to find a usable engine; tried using: '(pyarrow)'"  # pandas' Parquet, with neither engine installed
    r"|`Import (\w+)` failed"  # pandas' Parquet, with the engine named
    r"|No matching distribution found for ([A-Za-z][\w.-]*)"  # pip, offline (run O: a reference's `pip install pandas`, for a module the image lacked)
)


# command -> the Debian bookworm package that provides it (the base image is a minimal bookworm)
DEBIAN_PACKAGES = {
    "jq": "jq",
    "sqlite3": "sqlite3",
    "bc": "bc",
    "xmllint": "libxml2-utils",
    "xsltproc": "xsltproc",
    "zip": "zip",
    "unzip": "unzip",
    "curl": "curl",
    "wget": "wget",
    "git": "git",
    "make": "make",
    "gcc": "gcc",
    "g++": "g++",
    "tree": "tree",
    "file": "file",
    "xxd": "xxd",
    "rsync": "rsync",
    "nc": "netcat-openbsd",
    "ps": "procps",
    "pgrep": "procps",
    "pkill": "procps",
    "lsof": "lsof",
    "gawk": "gawk",
    "dos2unix": "dos2unix",
    "csvtool": "csvtool",
    "gnuplot": "gnuplot-nox",
    "cron": "cron",
    "crontab": "cron",
    "nginx": "nginx",
    "redis-server": "redis-server",
    "redis-cli": "redis-tools",
}

MISSING_COMMAND_RE = re.compile(
    r"(?:^|: )([\w.+-]+): command not found"  # bash: `solve.sh: line 13: jq: command not found`
    r"|: \d+: ([\w.+-]+): not found",  # dash: `sh: 1: jq: not found`
    re.MULTILINE,
)


@dataclass(frozen=True)
class Installs:
    """What the image gets: pinned PyPI releases and Debian packages."""

    pypi: tuple[str, ...] = ()
    debian: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.pypi or self.debian)

    def __str__(self) -> str:
        return " ".join(self.debian + self.pypi)


def _named(pattern: re.Pattern[str], output: str) -> list[str]:
    """What the alternatives of `pattern` capture in `output`, in order, once each."""
    return list(dict.fromkeys("".join(groups) for groups in pattern.findall(output)))


def _all_known(names: list[str], table: dict[str, str]) -> list[str]:
    """What `table` gives for every name, once each; empty when there is no name or any is unknown."""
    if not names or any(name not in table for name in names):
        return []
    return list(dict.fromkeys(table[name] for name in names))


def missing_modules(output: str) -> list[str]:
    """The top-level modules an import error in `output` names, in order, once each."""
    return list(dict.fromkeys(name.split(".")[0] for name in _named(MISSING_MODULE_RE, output)))


def pypi_releases(output: str) -> list[str]:
    """The pinned releases that provide the missing modules `output` names; empty when any of them
    is not a known PyPI package (a module of the task's own, a typo): then the tests must change."""
    return _all_known(missing_modules(output), PYPI_RELEASES)


def missing_commands(output: str) -> list[str]:
    """The commands `output` says the shell did not find, in order, once each."""
    return _named(MISSING_COMMAND_RE, output)


def debian_packages(output: str) -> list[str]:
    """The Debian packages that provide the missing commands `output` names; empty when any of them
    is not a well-known tool (the task's own program, `sudo` in an image where the solution is
    root): then the solution must change."""
    return _all_known(missing_commands(output), DEBIAN_PACKAGES)


def image_installs(output: str) -> Installs:
    """What the failure in `output` shows the image lacks and a well-known package provides."""
    return Installs(tuple(pypi_releases(output)), tuple(debian_packages(output)))


def with_installs(dockerfile: str, installs: Installs) -> str:
    """The Dockerfile with a line more for each kind of package: Debian's with apt, PyPI's with pip
    (system-wide: the base sets PIP_BREAK_SYSTEM_PACKAGES, and the verifier's venv sees the system's
    packages)."""
    lines = []
    if installs.debian:
        lines.append(f"RUN apt-get update && apt-get install -y --no-install-recommends {' '.join(installs.debian)} && rm -rf /var/lib/apt/lists/*")
    if installs.pypi:
        lines.append(f"RUN pip install --no-cache-dir {' '.join(installs.pypi)}")
    return dockerfile.rstrip("\n") + "".join(f"\n{line}" for line in lines) + "\n"


def third_party_imports(source: str) -> list[str]:
    """The well-known PyPI modules `source` imports anywhere, inside functions too: a test that
    imports yaml in its body passes pytest's collection and fails at run time in every trial (a
    real run: the reference, the lazy and the independent solution all failed on it)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    imports = sorted((node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))), key=lambda node: (node.lineno, node.col_offset))
    names = [name for node in imports for name in ([a.name for a in node.names] if isinstance(node, ast.Import) else [node.module] if node.level == 0 and node.module else [])]
    return [m for m in dict.fromkeys(name.split(".")[0] for name in names) if m in PYPI_RELEASES]


# ---------------------------------------------------------------------- exact pins
# `pip install pandas` in a Dockerfile builds today and something else next year, and Harbor's lint
# (which `termigen validate` runs) refuses it: run Q's first task past the gate failed validation on
# `RUN pip install pandas && pip install pyarrow`. Each release the image installs is pinned instead.
KNOWN_VERSIONS = {canonicalize_name(name): version for name, _, version in (release.partition("==") for release in PYPI_RELEASES.values())}
PIP_INSTALL_RE = re.compile(r"\b(?:python3?(?:\.\d+)?\s+-m\s+)?pip3?\s+install\b(?P<args>(?:\\\n|[^&|;\n])*)")
PIP_VALUE_FLAGS = {"-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-i", "--index-url", "--extra-index-url", "-t", "--target",
                   "--prefix", "--root", "-f", "--find-links", "--trusted-host", "--platform", "--python-version", "--implementation", "--abi",
                   "--src", "--upgrade-strategy", "--progress-bar", "--cache-dir", "--log", "--timeout", "--retries", "--proxy", "--cert",
                   "--client-cert", "--no-binary", "--only-binary", "-C", "--config-settings", "--global-option"}  # fmt: skip


def _pip_requirements(text: str) -> Iterator[tuple[int, int, Requirement]]:
    """Each requirement a `pip install` in `text` names without an exact pin: its span and parse."""
    for match in PIP_INSTALL_RE.finditer(text):
        skip = False
        for word in re.finditer(r"\S+", match["args"]):
            token = word[0]
            if skip or token == "\\":
                skip = False
                continue
            if token.startswith("-"):
                skip = token in PIP_VALUE_FLAGS
                continue
            try:
                requirement = Requirement(token.strip("'\""))
            except InvalidRequirement:
                continue
            if not requirement.url and not requirement.marker and not any(spec.operator in ("==", "===") for spec in requirement.specifier):
                yield match.start("args") + word.start(), match.start("args") + word.end(), requirement


def unpinned_pip(text: str) -> list[str]:
    """The packages a `pip install` in `text` installs without an exact version, once each."""
    return list(dict.fromkeys(requirement.name for _, _, requirement in _pip_requirements(text)))


def pip_pinned(text: str, versions: dict[str, str]) -> str:
    """`text` with each unpinned `pip install` requirement pinned to its version in `versions`
    (keyed by canonical name), when that version meets what the requirement asks (`pandas>=2`)."""
    out, at = [], 0
    for start, end, requirement in _pip_requirements(text):
        version = versions.get(canonicalize_name(requirement.name))
        if version is None or not requirement.specifier.contains(version, prereleases=True):
            continue
        extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
        pinned = f"{requirement.name}{extras}=={version}"
        out += [text[at:start], f"'{pinned}'" if extras or text[start] in "'\"" else pinned]
        at = end
    return "".join(out) + text[at:]


def frozen_versions(freeze: str) -> dict[str, str]:
    """`pip freeze`'s output as canonical name -> version."""
    found = (re.fullmatch(r"([A-Za-z0-9][\w.-]*)==(\S+)", line.strip()) for line in freeze.splitlines())
    return {canonicalize_name(m[1]): m[2] for m in found if m}
