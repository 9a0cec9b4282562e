"""What a model-written Python file reads without binding it: the names it never imports or
defines, and the standard-library imports it plainly forgot, added."""

from __future__ import annotations

import ast
import builtins
import importlib.util
import symtable
import sys


IMPORTABLE_UNSAID = frozenset(sys.stdlib_module_names) | {"pytest"}  # a name that can only mean this module
FROM_IMPORTS = {  # a name that, unbound, can only mean this one standard-library name (a real test file used `Path` unimported)
    "Path": "pathlib", "PurePosixPath": "pathlib", "defaultdict": "collections", "Counter": "collections", "OrderedDict": "collections",
    "deque": "collections", "namedtuple": "collections", "dataclass": "dataclasses", "Decimal": "decimal", "Fraction": "fractions",
    "reduce": "functools", "partial": "functools", "StringIO": "io", "BytesIO": "io",
}  # fmt: skip


def with_missing_imports(source: str) -> str:
    """The source with the imports it plainly forgot: each global name it uses unimported that can
    only be a standard-library module (or pytest) is imported, with the submodules it reaches
    through it (`http.client.HTTPConnection` -> `import http.client`), and a few unmistakable
    names from their module (`Path` from pathlib), after the docstring and
    `__future__` imports. A 1.5B model dropped `import pytest` from its tests three times after
    being told; anything else unimported is left for the check to send back."""
    try:
        tree = ast.parse(source)
        unbound = undefined_names(source)
    except (SyntaxError, ValueError):
        return source
    missing = [n for n in unbound if n in IMPORTABLE_UNSAID]
    named = [f"from {FROM_IMPORTS[n]} import {n}\n" for n in unbound if n in FROM_IMPORTS]
    if not missing and not named:
        return source
    modules: set[str] = set()
    for node in ast.walk(tree):
        chain = []
        while isinstance(node, ast.Attribute):
            chain.insert(0, node.attr)
            node = node.value
        if isinstance(node, ast.Name) and node.id in missing:
            modules.add(node.id)
            for depth in range(1, len(chain)):
                dotted = ".".join([node.id, *chain[:depth]])
                try:
                    if importlib.util.find_spec(dotted) is None:
                        break
                except (ImportError, ValueError, AttributeError):
                    break
                modules.add(dotted)
    after = tree.body[0].end_lineno if ast.get_docstring(tree, clean=False) is not None else 0
    for statement in tree.body:
        if isinstance(statement, ast.ImportFrom) and statement.module == "__future__":
            after = statement.end_lineno
    lines = source.splitlines(keepends=True)
    added = "".join(f"import {m}\n" for m in sorted(modules) if not any(other.startswith(m + ".") for other in modules)) + "".join(named)
    return "".join(lines[:after]) + added + "".join(lines[after:])


def undefined_names(source: str, name: str = "file.py") -> list[str]:
    """Global names the code reads but neither the module binds (assignment, import, def, class)
    nor Python builtins hold; [] for a module with a star import, which could bind anything."""
    if "import *" in source:
        return []
    top = symtable.symtable(source, name, "exec")
    bound = {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported() or s.is_namespace()} | set(dir(builtins)) | {"__file__"}
    missing: set[str] = set()

    def visit(table: symtable.SymbolTable) -> None:
        for symbol in table.get_symbols():
            reads_global = symbol.is_referenced() and (symbol.is_global() if table is not top else not (symbol.is_assigned() or symbol.is_imported()))
            if reads_global and not symbol.is_parameter() and symbol.get_name() not in bound:
                missing.add(symbol.get_name())
        for child in table.get_children():
            visit(child)

    visit(top)
    return sorted(missing)


def first_uses(source: str, names: list[str]) -> dict[str, str]:
    """The line where each name is first read."""
    lines = source.splitlines()
    found: dict[str, str] = {}
    for node in sorted((n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name) and n.id in names), key=lambda n: (n.lineno, n.col_offset)):
        found.setdefault(node.id, lines[node.lineno - 1].strip()[:120])
    return found
