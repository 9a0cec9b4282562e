"""What a model-written Python file reads without binding it: the names it never imports or
defines, and the standard-library imports it plainly forgot, added."""

from __future__ import annotations

import ast
import builtins
import difflib
import importlib.util
import re
import symtable
import sys
from collections.abc import Callable


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


DOCSTRING_END_BEFORE_RE = re.compile(r"^(?:import |from |def |class |@)", re.M)


def with_docstring_closed(source: str) -> str:
    """The source with its module docstring closed, when the docstring was opened and never closed
    (the quotes go before the first import, def or class): a 1.5B model's tests began so, three
    replies running. Any other source unchanged."""
    stripped = source.lstrip()
    quotes = stripped[:3]
    if quotes not in ('"""', "'''") or compiles(source):
        return source
    offset = len(source) - len(stripped) + 3
    end = DOCSTRING_END_BEFORE_RE.search(source, offset)
    if end is None or quotes in source[offset : end.start()]:
        return source
    mended = source[: end.start()].rstrip() + f"\n{quotes}\n\n" + source[end.start() :]
    return mended if compiles(mended) else source


PATH_ONLY = frozenset({"exists", "is_file", "is_dir", "read_text", "read_bytes", "write_text", "write_bytes", "stat", "unlink", "iterdir", "glob",
                       "rglob", "mkdir", "touch", "resolve", "parent", "name", "suffix", "stem", "with_suffix", "joinpath", "open", "chmod",
                       "read", "readlines", "write"})  # fmt: skip  (the last three a file's, which no str has either: with_path_methods makes them the Path's)


def with_paths_as_paths(source: str) -> str:
    """Module-level path strings used only as paths (`OUT = "/app/out.json"`, then `OUT.exists()`
    or `OUT / "x"`) made `Path(...)`: a 1.5B model's tests failed every trial of a gate round on
    `'str' object has no attribute 'exists'`. A name also used as a string (`OUT + ".bak"`,
    `OUT.endswith(...)`) or bound twice is left alone. Any other source unchanged."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return source
    bound: dict[str, int] = {}
    for node in ast.walk(tree):
        for target in node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.For)) else []:
            for name in ast.walk(target):
                if isinstance(name, ast.Name):
                    bound[name.id] = bound.get(name.id, 0) + 1
    constants = {statement.targets[0].id: statement.value for statement in tree.body
                 if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name)
                 and isinstance(statement.value, ast.Constant) and isinstance(statement.value.value, str) and statement.value.value.startswith("/")}  # fmt: skip
    as_path: set[str] = set()
    as_string: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in constants:
            (as_path if node.attr in PATH_ONLY else as_string).add(node.value.id)
        elif isinstance(node, ast.BinOp) and isinstance(node.left, ast.Name) and node.left.id in constants:
            (as_path if isinstance(node.op, ast.Div) else as_string).add(node.left.id)
        elif isinstance(node, ast.BinOp) and isinstance(node.right, ast.Name) and node.right.id in constants:
            as_string.add(node.right.id)
    mend = sorted((constants[name] for name in as_path - as_string if bound.get(name) == 1), key=lambda v: (v.lineno, v.col_offset), reverse=True)
    if not mend:
        return source
    lines = source.splitlines(keepends=True)
    for value in mend:  # from the end, so the offsets before each stay right
        if value.lineno != value.end_lineno:
            continue
        line = lines[value.lineno - 1].encode()
        lines[value.lineno - 1] = (line[: value.col_offset] + b"Path(" + line[value.col_offset : value.end_col_offset] + b")" + line[value.end_col_offset :]).decode()
    mended = "".join(lines)
    return mended if compiles(mended) else source


FILE_METHODS = {"read": "read_text", "write": "write_text", "readlines": "read_text().splitlines"}  # a file's method -> the Path's


def with_path_methods(source: str) -> str:
    """A file's methods called on a module-level Path (`SUM_TXT.read()`, after `SUM_TXT =
    Path("/app/sum.txt")`) as the Path's own (`SUM_TXT.read_text()`): run R's tests crashed on
    `'PosixPath' object has no attribute 'read'` after the reference had run cleanly. A name bound
    more than once is left alone."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return source
    bound = [t.id for node in ast.walk(tree) for t in (node.targets if isinstance(node, ast.Assign) else []) if isinstance(t, ast.Name)]
    paths = {s.targets[0].id for s in tree.body if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)
             and isinstance(s.value, ast.Call) and isinstance(s.value.func, ast.Name) and s.value.func.id in ("Path", "PurePosixPath")}  # fmt: skip
    calls = [node.func for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in FILE_METHODS
             and isinstance(node.func.value, ast.Name) and node.func.value.id in paths and bound.count(node.func.value.id) == 1]  # fmt: skip
    if not calls:
        return source
    lines = source.splitlines(keepends=True)
    for attribute in sorted(calls, key=lambda a: (a.end_lineno, a.end_col_offset), reverse=True):
        line = lines[attribute.end_lineno - 1].encode()
        start = attribute.end_col_offset - len(attribute.attr)
        lines[attribute.end_lineno - 1] = (line[:start] + FILE_METHODS[attribute.attr].encode() + line[attribute.end_col_offset :]).decode()
    mended = "".join(lines)
    return mended if compiles(mended) else source


def python_fixed(source: str) -> str:
    """What a Python file's text lets us set right without asking again: an unclosed module
    docstring, path strings used as paths, a file's methods called on a Path, then forgotten
    imports (`Path` among them), then a misspelt name of the same scope."""
    return with_typos_fixed(with_missing_imports(with_path_methods(with_paths_as_paths(with_docstring_closed(source)))))


def with_typos_fixed(source: str) -> str:
    """Each read of a name nothing binds, where the function that reads it (or the module) binds
    exactly one name close to it, reads that name (run O: `tmp_dir` for the test's own `temp_dir`,
    three replies after being told). Names of four characters or fewer are left alone."""
    try:
        tree, top = ast.parse(source), symtable.symtable(source, "file.py", "exec")
        missing = set(undefined_names(source))
    except (SyntaxError, ValueError):
        return source
    if not missing:
        return source
    module = {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported() or s.is_namespace()}
    scopes = {(t.get_name(), t.get_lineno()): {s.get_name() for s in t.get_symbols() if s.is_assigned() or s.is_parameter() or s.is_imported()}
              for t in _tables(top) if t.get_type() == "function"}  # fmt: skip
    edits: dict[tuple[int, int, int], str] = {}  # the innermost scope's reading wins: functions come after the module, inner after outer
    for scope in [tree, *(n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))]:
        own = set() if isinstance(scope, ast.Module) else scopes.get((scope.name, scope.lineno), set())
        for node in ast.walk(scope):
            if isinstance(node, ast.Name) and node.id in missing and len(node.id) > 4:
                close = difflib.get_close_matches(node.id, sorted(own | module), n=2, cutoff=0.8)
                if len(close) == 1:
                    edits[(node.lineno, node.col_offset, node.end_col_offset)] = close[0]
    lines = source.splitlines(keepends=True)
    for (lineno, start, end), name in sorted(edits.items(), reverse=True):
        line = lines[lineno - 1].encode()
        lines[lineno - 1] = (line[:start] + name.encode() + line[end:]).decode()
    mended = "".join(lines)
    return mended if compiles(mended) else source


def _tables(table: symtable.SymbolTable) -> list[symtable.SymbolTable]:
    return [table] + [t for child in table.get_children() for t in _tables(child)]


def compiles(source: str, name: str = "file.py") -> bool:
    """Whether the source compiles (what `python -m py_compile` checks)."""
    try:
        compile(source, name, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


def undefined_names(source: str, name: str = "file.py") -> list[str]:
    """Global names the code reads but neither the module binds (assignment, import, def, class)
    nor Python builtins hold; [] for a module with a star import, which could bind anything."""
    if "import *" in source:
        return []
    top = symtable.symtable(source, name, "exec")
    return sorted(_unbound_reads(top, _bound(top)))


def without_broken_tests(source: str, also: Callable[[str], bool] | None = None) -> str:
    """The source without the top-level functions that read a name nothing binds (or whose text
    `also` finds at fault, as it does module-level values), and without those that then call one
    of them or take it as a pytest fixture, so long as a `test_` function is left; else the source
    unchanged. The last resort for tests a model kept reading an undefined value in after being
    shown the line three times (`corrupted_input`): the checks that are left go on to the Judge,
    which sends back tests that no longer cover the task."""
    current, dropped, changed = without_main_block(source), set(), False
    while True:
        try:
            tree = ast.parse(current)
            top = symtable.symtable(current, "tests.py", "exec")
        except (SyntaxError, ValueError):
            return source
        if "import *" in current:
            return source
        bound = _bound(top)
        functions = {table.get_name(): table for table in top.get_children() if table.get_type() == "function"}
        at_fault = lambda node: also is not None and also(ast.get_source_segment(current, node) or "")  # noqa: E731
        broken = [node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in functions
                  and (_unbound_reads(functions[node.name], bound) or {a.arg for a in node.args.args} & dropped or at_fault(node))]  # fmt: skip
        # a module-level value `also` finds at fault (`SOLVER = Path("/app/x.py")`) goes too: what reads it is then broken
        broken += [node for node in tree.body if isinstance(node, (ast.Assign, ast.AnnAssign)) and at_fault(node)]
        # and a test method `also` finds at fault, inside its class (the whole class when no other method is left)
        for cls in (node for node in tree.body if isinstance(node, ast.ClassDef)):
            methods = [node for node in cls.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
            faulty = [node for node in methods if node.name.startswith("test") and at_fault(node)]
            broken += [cls] if faulty and len(faulty) == len([m for m in methods if m.name.startswith("test")]) else faulty
        if not broken:
            break
        changed = True
        dropped |= {node.name for node in broken if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
        lines = current.splitlines(keepends=True)
        for node in sorted(broken, key=lambda n: n.lineno, reverse=True):
            first, end = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]), node.end_lineno
            while end < len(lines) and not lines[end].strip():  # and the blank lines after it
                end += 1
            del lines[first - 1 : end]
        current = "".join(lines)
    tests_left = any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name.startswith("test") for n in ast.walk(ast.parse(current)))
    return current if changed and tests_left and not undefined_names(current) else source


def without_main_block(source: str) -> str:
    """The source without its `if __name__ == "__main__":` blocks, which pytest never runs (run O:
    one called every test by name, so a crashing test could not be dropped without it)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return source
    lines = source.splitlines(keepends=True)
    for node in reversed(tree.body):
        if isinstance(node, ast.If) and "__name__" in ast.unparse(node.test) and "__main__" in ast.unparse(node.test):
            del lines[node.lineno - 1 : node.end_lineno]
    return "".join(lines)


STRAY = (ast.Assert, ast.Expr, ast.If, ast.For, ast.While, ast.With, ast.Raise)


def stray_statements(source: str) -> list[ast.stmt]:
    """The module-level statements of a test file that check or act when pytest imports it, outside
    every test function (an `assert`, a call, an `if`, a loop; not the docstring, an import, an
    assignment, a def or `if __name__ == "__main__":`). The 1.5B model dedented a test's last
    checks out of it, three times after pytest's collection error named the line. [] when the
    source does not parse."""
    try:
        body = ast.parse(source).body
    except (SyntaxError, ValueError):
        return []
    return [node for i, node in enumerate(body) if isinstance(node, STRAY) and not (i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
            and not (isinstance(node, ast.If) and "__name__" in ast.unparse(node.test))]  # fmt: skip


def without_stray_statements(source: str) -> str:
    """The source without its stray module-level statements (see stray_statements)."""
    lines = source.splitlines(keepends=True)
    for node in reversed(stray_statements(source)):
        del lines[node.lineno - 1 : node.end_lineno]
    return "".join(lines)


def _bound(top: symtable.SymbolTable) -> set[str]:
    return {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported() or s.is_namespace()} | set(dir(builtins)) | {"__file__"}


def _unbound_reads(table: symtable.SymbolTable, bound: set[str]) -> set[str]:
    """The global names read in a table and the tables nested in it that `bound` does not hold."""
    found: set[str] = set()
    for symbol in table.get_symbols():
        top = table.get_type() == "module"
        reads_global = symbol.is_referenced() and (symbol.is_global() if not top else not (symbol.is_assigned() or symbol.is_imported()))
        if reads_global and not symbol.is_parameter() and symbol.get_name() not in bound:
            found.add(symbol.get_name())
    for child in table.get_children():
        found |= _unbound_reads(child, bound)
    return found


def first_uses(source: str, names: list[str]) -> dict[str, str]:
    """The line where each name is first read."""
    lines = source.splitlines()
    found: dict[str, str] = {}
    for node in sorted((n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name) and n.id in names), key=lambda n: (n.lineno, n.col_offset)):
        found.setdefault(node.id, lines[node.lineno - 1].strip()[:120])
    return found


PYTEST_FIXTURES = frozenset({
    "request", "tmp_path", "tmp_path_factory", "tmpdir", "tmpdir_factory", "capsys", "capsysbinary", "capfd", "capfdbinary", "caplog",
    "monkeypatch", "pytestconfig", "recwarn", "record_property", "record_testsuite_property", "record_xml_attribute", "doctest_namespace", "cache",
})  # fmt: skip


def _names_in(node: ast.AST) -> set[str]:
    """The argument names a `parametrize` decorator gives: `"a, b"`, `("a", "b")` or `["a", "b"]`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {name.strip() for name in node.value.split(",") if name.strip()}
    if isinstance(node, (ast.Tuple, ast.List)):
        return {e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
    return set()


def unknown_fixtures(source: str) -> dict[str, list[str]]:
    """Test functions (top level, or in a `Test...` class) that take an argument no fixture of the
    file, of pytest, or `parametrize` provides: {test: [arguments]}. pytest collects such a test
    and then errors on its setup, in every trial (`fixture 'output_path' not found` failed a real
    run's reference in all three gate rounds, after the Judge had approved the tests)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    fixtures = {n.name for n in functions if any("fixture" in ast.unparse(d) for d in n.decorator_list)}
    found = {}
    for function in _test_functions(tree):
        given = set().union(*(_names_in(d.args[0]) for d in function.decorator_list
                              if isinstance(d, ast.Call) and "parametrize" in ast.unparse(d.func) and d.args))  # fmt: skip
        unknown = [a.arg for a in function.args.args if a.arg not in fixtures | given | PYTEST_FIXTURES | {"self"}]
        if unknown:
            found[function.name] = unknown
    return found


def _test_functions(tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    """The functions pytest collects as tests: `test...` at the top level or in a class."""
    candidates = [*tree.body, *(m for c in tree.body if isinstance(c, ast.ClassDef) for m in c.body)]
    return [f for f in candidates if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) and f.name.startswith("test")]


def _checks_nothing(statement: ast.stmt) -> bool:
    """`pass`, `...`, a docstring or `assert True`."""
    if isinstance(statement, ast.Assert):
        return isinstance(statement.test, ast.Constant) and bool(statement.test.value)
    return isinstance(statement, ast.Pass) or (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant))


def _empty_tests(tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [f for f in _test_functions(tree) if all(_checks_nothing(s) for s in f.body)]


def empty_tests(source: str) -> list[str]:
    """The tests whose body checks nothing (`pass`, a docstring, `assert True`)."""
    try:
        return [f.name for f in _empty_tests(ast.parse(source))]
    except SyntaxError:
        return []


def without_empty_tests(source: str) -> str:
    """The source without its tests that check nothing (a class, when they are all it holds), while
    a test that checks something is left (and it compiles); else unchanged. Run R: the 1.5B Judge
    approved two `pass` tests of the first task a local run accepted (`test_no_additional_files_or_services`)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    empty = _empty_tests(tree)
    if not empty or len(empty) == len(_test_functions(tree)):
        return source
    gone: list[ast.stmt] = [f for f in empty if f in tree.body]
    for cls in (node for node in tree.body if isinstance(node, ast.ClassDef)):
        members = [m for m in cls.body if m in empty]
        rest = [m for m in cls.body if m not in empty and not _checks_nothing(m)]
        gone += members if rest else [cls] if members else []
    lines = source.splitlines(keepends=True)
    for node in sorted(gone, key=lambda n: n.lineno, reverse=True):
        first, end = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]), node.end_lineno or node.lineno
        while end < len(lines) and not lines[end].strip():  # and the blank lines after it
            end += 1
        del lines[first - 1 : end]
    kept = "".join(lines)
    return kept if compiles(kept) else source


def output_writers(source: str, outputs: list[str]) -> dict[str, list[str]]:
    """Test functions (top level, or in a `Test...` class) that write one of `outputs`, the files
    the agent's solution must make: `open('/app/sum.txt', 'w')` or `Path('/app/sum.txt').write_text(...)`,
    or a call of a helper of the file that writes the path it is given (`save(result, '/app/sccs.txt')`);
    {test: [paths]}. Such a test checks its own writing, not the agent's (run N: the 1.5B's tests
    computed the sum, wrote it to the output and compared it with itself, and the Judge approved them;
    run O: the same through a helper, three replies)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    wanted = set(outputs)
    helpers = {f.name: f for f in tree.body if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) and not f.name.startswith("test")}
    writes = {name: _written_parameters(f) for name, f in helpers.items()}
    found: dict[str, list[str]] = {}
    for function in _test_functions(tree):
        written = []
        for call in (c for c in ast.walk(function) if isinstance(c, ast.Call)):
            written.append(_literal(_written_target(call)))
            if isinstance(call.func, ast.Name) and writes.get(call.func.id):
                parameters = [a.arg for a in helpers[call.func.id].args.args]
                given = {**dict(zip(parameters, call.args)), **{k.arg: k.value for k in call.keywords if k.arg}}
                written += [_literal(given.get(p)) for p in writes[call.func.id]]
        written = [path for path in written if path in wanted]
        if written:
            found[function.name] = list(dict.fromkeys(written))
    return found


def _literal(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _written_parameters(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    """The parameters of a function that it opens for writing (`open(path, 'w')`, `Path(path).write_text`)."""
    parameters = {a.arg for a in function.args.args}
    targets = (_written_target(c) for c in ast.walk(function) if isinstance(c, ast.Call))
    return list(dict.fromkeys(t.id for t in targets if isinstance(t, ast.Name) and t.id in parameters))


def _written_target(call: ast.Call) -> ast.expr | None:
    """The path a call writes, as written: `open(PATH, 'w'|'a'|'x'|...+)` or `Path(PATH).write_text/write_bytes(...)`."""
    name = call.func.id if isinstance(call.func, ast.Name) else call.func.attr if isinstance(call.func, ast.Attribute) else ""
    if name == "open" and call.args:
        mode = call.args[1] if len(call.args) > 1 else next((k.value for k in call.keywords if k.arg == "mode"), None)
        mode = _literal(mode) if mode is not None else "r"
        return call.args[0] if mode and re.search(r"[wax+]", mode) else None
    if name in ("write_text", "write_bytes") and isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Call) and call.func.value.args:
        return call.func.value.args[0]
    return None


def outputless_tests(source: str, outputs: list[str]) -> list[str]:
    """Test functions that read none of `outputs` (the paths the solution makes or changes): no
    string of theirs names one (its path, a path in an output folder, or its file name), nor does
    a module-level value, helper or fixture of the file that they use. Such a test judges no
    solution: run Q's sum tests held `assert total == 55` on the input's own first column, which
    read no output and failed every solution, until the task was rejected."""
    if not outputs:
        return []
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []

    def names_output(node: ast.AST) -> bool:
        return any(isinstance(n, ast.Constant) and isinstance(n.value, str) and _names_path(n.value, outputs) for n in ast.walk(node))

    def used(node: ast.AST) -> set[str]:
        arguments = {a.arg for a in node.args.args} if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else set()
        return arguments | {n.id if isinstance(n, ast.Name) else n.attr for n in ast.walk(node) if isinstance(n, (ast.Name, ast.Attribute))}

    tests = _test_functions(tree)
    others = [n for n in [*tree.body, *(m for c in tree.body if isinstance(c, ast.ClassDef) for m in c.body)] if n not in tests]
    defined: dict[str, list[ast.AST]] = {}
    for node in others:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.setdefault(node.name, []).append(node)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                for name in (n.id for n in ast.walk(target) if isinstance(n, ast.Name)):
                    defined.setdefault(name, []).append(node)
    reaching: set[str] = set()
    while grown := {name for name, nodes in defined.items() if name not in reaching and any(names_output(n) or used(n) & reaching for n in nodes)}:
        reaching |= grown
    return [test.name for test in tests if not (names_output(test) or used(test) & reaching)]


def _names_path(text: str, outputs: list[str]) -> bool:
    """Whether `text` names one of `outputs`: its path, a path in an output folder, or its file name."""
    for output in outputs:
        path = output.rstrip("/")
        name = path.rsplit("/", 1)[-1]
        if path in text or (name and (text == name or text.endswith(f"/{name}"))):
            return True
    return False


NUMBER_RE = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.]\d)")


def copied_values(source: str, shown: str, known: str) -> dict[str, list[str]]:
    """Test functions that compare with (or assign) a number that the reference's run showed
    (`shown`: what it printed and left) and that neither the task nor its files hold (`known`):
    {test: [numbers]}. A number from 10 up, or with a fraction: a small count is as likely the
    task's own. Such a test is passed by a script that writes the number without reading any
    input, as the adversary does from the tests (run R: the sum tests held `expected_value = 550`,
    the reference's output, beside a test that computed it from the input)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    shown_numbers, known_numbers = _numbers(shown), _numbers(known)
    found: dict[str, list[str]] = {}
    for function in _test_functions(tree):
        holders = [n for n in ast.walk(function) if isinstance(n, ast.Compare)] + [n.value for n in ast.walk(function) if isinstance(n, (ast.Assign, ast.AnnAssign)) and n.value]
        values = [c.value for holder in holders for c in ast.walk(holder) if isinstance(c, ast.Constant) and type(c.value) in (int, float)]
        copied = [v for v in values if (abs(v) >= 10 or v != int(v)) and float(v) in shown_numbers and float(v) not in known_numbers]
        if copied:
            found[function.name] = [str(v) for v in dict.fromkeys(copied)]
    return found


def _numbers(text: str) -> set[float]:
    return {float(n) for n in NUMBER_RE.findall(text)}
