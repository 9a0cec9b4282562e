"""What the tests import that the task's image lacks, and the PyPI release that provides it.

Tests for a CSV-to-Parquet task imported pandas, which the image lacked; sent back three times, the
1.5B model kept importing it, and the task died with approved-looking tests. When the module is a
well-known PyPI package, the image gets it instead (a `RUN pip install` line in the Dockerfile):
the task then needs it anyway, for its solution as much as for its tests. Each release is pinned,
so that a bundle builds the same later; the base image trusts the extra CA certificates, so pip
works in the build."""

from __future__ import annotations

import ast
import re

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
)


def missing_modules(output: str) -> list[str]:
    """The top-level modules an import error in `output` names, in order, once each."""
    names = ("".join(groups) for groups in MISSING_MODULE_RE.findall(output))
    return list(dict.fromkeys(name.split(".")[0] for name in names))


def pypi_releases(output: str) -> list[str]:
    """The pinned releases that provide the missing modules `output` names; empty when any of them
    is not a known PyPI package (a module of the task's own, a typo): then the tests must change."""
    modules = missing_modules(output)
    if not modules or any(m not in PYPI_RELEASES for m in modules):
        return []
    return [PYPI_RELEASES[m] for m in modules]


def with_pip_install(dockerfile: str, releases: list[str]) -> str:
    """The Dockerfile with one more line that installs `releases` (system-wide: the base sets
    PIP_BREAK_SYSTEM_PACKAGES, and the verifier's venv sees the system's packages)."""
    return dockerfile.rstrip("\n") + f"\nRUN pip install --no-cache-dir {' '.join(releases)}\n"


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
