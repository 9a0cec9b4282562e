"""One Harbor task as a pydantic model that writes and reads Harbor's directory layout.

    <name>/instruction.md  task.toml  environment/...  solution/solve.sh  tests/test.sh ...
    <name>/provenance.json   (ours: where the task came from; Harbor ignores it)

Taxonomy metadata lives in task.toml's [metadata] table (category, tier, difficulty, tags), so
Harbor and its viewers show it too. Paths inside a bundle are untrusted input when a model wrote
them: writing refuses absolute paths, `..`, and any path that would leave the bundle or pass
through a symlink. Reading refuses symlinks and reports a broken file with its name and field.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from harbor.models.task.config import TaskConfig
from harbor.models.task.task import Task
from pydantic import BaseModel, ConfigDict, Field, ValidationError

INSTRUCTION = "instruction.md"
CONFIG = "task.toml"
PROVENANCE = "provenance.json"
SECTIONS = ("environment", "solution", "tests")
TAXONOMY_KEYS = ("category", "tier", "difficulty", "tags")


class BundleError(ValueError):
    """A bundle cannot be written or read. `file` and `field` say where."""

    def __init__(self, file: str, message: str, field: str | None = None):
        self.file, self.field, self.reason = file, field, message
        where = f"{file}: {field}" if field else file
        super().__init__(f"{where}: {message}")


class BundleFile(BaseModel):
    content: bytes
    executable: bool = False

    @classmethod
    def text(cls, content: str, executable: bool = False) -> BundleFile:
        return cls(content=content.encode(), executable=executable)


class TaskLabels(BaseModel):
    """Where a task sits in a taxonomy: task.toml's [metadata] category, tier, difficulty, tags."""

    category: str
    tier: int | None = None
    difficulty: str | None = None
    tags: list[str] = Field(default_factory=list)


class Provenance(BaseModel):
    """Where a task came from. A generator records more in a subclass of its own (synthesis:
    `SynthesisProvenance`, every prompt, reply and verdict); those fields survive reading and
    writing the bundle here, and the subclass reads them back typed."""

    model_config = ConfigDict(extra="allow")

    source: str = "hand-written"
    created_at: str | None = None
    generator: str | None = None
    model: str | None = None
    seed: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)


def task_folders(path: Path, is_task: Callable[[Path], bool], keep_others: bool = False) -> list[Path]:
    """`path` itself when it is a task, else its visible subfolders that are (all of them with
    `keep_others`, so that a caller can report the ones that are not), sorted."""
    path = Path(path)
    if is_task(path):
        return [path]
    children = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith((".", "__")))
    return children if keep_others else [p for p in children if is_task(p)]


MAX_NAME_BYTES, MAX_PATH_BYTES = 255, 1024  # what every filesystem we write to accepts


def safe_relpath(path: str, where: str) -> PurePosixPath:
    """A relative path that stays inside its directory, or BundleError."""
    if not path or "\\" in path or "\0" in path:
        raise BundleError(where, f"invalid path {path!r}")
    pure = PurePosixPath(path)
    if pure.is_absolute():
        raise BundleError(where, f"absolute path {path!r} is not allowed")
    if any(part in ("..", "") for part in pure.parts) or pure == PurePosixPath("."):
        raise BundleError(where, f"path {path!r} leaves the bundle")
    if any(len(part.encode()) > MAX_NAME_BYTES for part in pure.parts) or len(path.encode()) > MAX_PATH_BYTES:
        raise BundleError(where, f"path {path[:80]!r}... is too long (a name may have {MAX_NAME_BYTES} bytes, a path {MAX_PATH_BYTES})")
    return pure


class TaskBundle(BaseModel):
    name: str
    instruction: str
    config: TaskConfig
    environment: dict[str, BundleFile] = Field(default_factory=dict)
    solution: dict[str, BundleFile] = Field(default_factory=dict)
    tests: dict[str, BundleFile] = Field(default_factory=dict)
    provenance: Provenance | None = None

    @property
    def taxonomy(self) -> TaskLabels | None:
        meta = {k: self.config.metadata[k] for k in TAXONOMY_KEYS if k in self.config.metadata}
        return TaskLabels.model_validate(meta) if "category" in meta else None

    def with_taxonomy(self, taxonomy: TaskLabels) -> TaskBundle:
        config = self.config.model_copy(deep=True)
        config.metadata.update(taxonomy.model_dump(exclude_none=True))
        return self.model_copy(update={"config": config})

    # ------------------------------------------------------------------ writing
    def write(self, parent: Path, overwrite: bool = False) -> Path:
        """Writes the bundle as `parent/<name>/` and returns that directory."""
        name = safe_relpath(self.name, "name")
        if len(name.parts) != 1:
            raise BundleError("name", f"task name {self.name!r} must be a single path component")
        parent = Path(parent)
        root = parent / self.name
        if root.is_symlink():
            raise BundleError(self.name, "the bundle directory is a symlink")
        if root.exists() and any(root.iterdir()) and not overwrite:
            raise BundleError(self.name, f"{root} already exists and is not empty")
        planned: dict[PurePosixPath, BundleFile] = {
            PurePosixPath(INSTRUCTION): BundleFile.text(self.instruction),
            PurePosixPath(CONFIG): BundleFile.text(self.config.model_dump_toml()),
        }
        if self.provenance is not None:
            planned[PurePosixPath(PROVENANCE)] = BundleFile.text(self.provenance.model_dump_json(indent=2) + "\n")
        for section in SECTIONS:
            for rel, file in getattr(self, section).items():
                planned[PurePosixPath(section) / safe_relpath(rel, section)] = file
        root.mkdir(parents=True, exist_ok=True)
        resolved_root = root.resolve()
        for rel in planned:  # every path is checked before anything is written
            _refuse_symlinked_parents(root, rel)
            if not (root / rel).resolve().is_relative_to(resolved_root):
                raise BundleError(str(rel), "path resolves outside the bundle")
        for rel, file in planned.items():
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(file.content)
            target.chmod(0o755 if file.executable else 0o644)
        return root

    # ------------------------------------------------------------------ reading
    @classmethod
    def read(cls, path: Path) -> TaskBundle:
        """Reads a bundle directory; a broken one raises BundleError naming the file and field."""
        root = Path(path)
        if not root.is_dir():
            raise BundleError(str(root), "not a directory")
        instruction_path = root / INSTRUCTION
        if not instruction_path.is_file():
            raise BundleError(INSTRUCTION, "missing (every task needs its instruction)")
        config = read_config(root / CONFIG)
        sections = {section: _read_tree(root, section) for section in SECTIONS}
        provenance = None
        if (root / PROVENANCE).is_file():
            try:
                provenance = Provenance.model_validate_json((root / PROVENANCE).read_text())
            except ValidationError as exc:
                raise _from_validation(PROVENANCE, exc) from None
        bundle = cls(
            name=root.resolve().name,
            instruction=_read_text(instruction_path, INSTRUCTION),
            config=config,
            provenance=provenance,
            **sections,
        )
        try:
            _ = bundle.taxonomy
        except ValidationError as exc:
            raise _from_validation(CONFIG, exc, table="metadata") from None
        return bundle


def read_config(path: Path) -> TaskConfig:
    """Parses task.toml with Harbor's TaskConfig; errors name the line or the field."""
    if not path.is_file():
        raise BundleError(CONFIG, "missing")
    text = _read_text(path, CONFIG)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BundleError(CONFIG, f"not valid TOML: {exc}") from None
    try:
        return TaskConfig.model_validate(data)
    except ValidationError as exc:
        raise _from_validation(CONFIG, exc) from None


def harbor_accepts(path: Path) -> bool:
    """Whether Harbor would run this directory as a task (it silently skips those it would not)."""
    return Task.is_valid_dir(path)


def _from_validation(file: str, exc: ValidationError, table: str | None = None) -> BundleError:
    """The first error, with its location written the way task.toml spells it: [agent].timeout_sec."""
    first = exc.errors()[0]
    parts = ([table] if table else []) + [str(part) for part in first["loc"]]
    field = "[" + ".".join(parts[:-1]) + "]." + parts[-1] if len(parts) > 1 else (parts[0] if parts else "(root)")
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return BundleError(file, f"{first['msg']}{more}", field=field)


def _read_text(path: Path, name: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise BundleError(name, "not UTF-8 text") from None


def _refuse_symlinked_parents(root: Path, rel: PurePosixPath) -> None:
    current = root
    for part in rel.parts:
        current = current / part
        if current.is_symlink():
            raise BundleError(str(rel), f"{current.relative_to(root)} is a symlink; refusing to write through it")


def _read_tree(root: Path, section: str) -> dict[str, BundleFile]:
    base = root / section
    if base.is_symlink():
        raise BundleError(section, "is a symlink; bundles must not contain links")
    files: dict[str, BundleFile] = {}
    if not base.exists():
        return files
    for dirpath, dirnames, filenames in os.walk(base, followlinks=False):
        for entry in sorted(dirnames + filenames):
            full = Path(dirpath) / entry
            rel = full.relative_to(root).as_posix()
            if full.is_symlink():
                raise BundleError(rel, "is a symlink; bundles must not contain links")
            if entry in filenames:
                mode = full.stat().st_mode
                if not stat.S_ISREG(mode):
                    raise BundleError(rel, "is not a regular file")
                files[full.relative_to(base).as_posix()] = BundleFile(
                    content=full.read_bytes(), executable=bool(mode & stat.S_IXUSR)
                )
    return dict(sorted(files.items()))
