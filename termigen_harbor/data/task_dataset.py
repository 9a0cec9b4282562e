"""Synthesized tasks as a Harbor dataset, and its index.

`synthesize`'s output folder carries Harbor's own dataset manifest (`dataset.toml`, made with
Harbor's `DatasetManifest` and its packager's content digests), so that `harbor run -p OUT`,
`harbor sync` and Harbor's publish flow take it as it is. Each accepted task's `task.toml` names it
`<org>/<task>` in a `[task]` section, as Harbor's registry requires.

The index is one row per task (id, category, tier, difficulty, instruction, spec scores, gate
results), read from the bundles and their provenance: it is what `termigen push --tasks` uploads
as the Hub dataset's table, beside the task tree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harbor.models.dataset.manifest import DatasetInfo, DatasetManifest, DatasetTaskRef
from harbor.models.dataset.paths import DatasetPaths
from harbor.publisher.packager import Packager

from termigen_harbor.bundle import BundleError, TaskBundle, task_folders
from termigen_harbor.files import write_atomic

DEFAULT_ORG = "termigen"


def named_tasks(out: Path) -> dict[str, tuple[Path, TaskBundle]]:
    """The task folders under `out` that carry a registry name (`[task] name`), by that name."""
    named = {}
    for folder in task_folders(out, lambda p: (p / "task.toml").is_file() and (p / "instruction.md").is_file()):
        try:
            bundle = TaskBundle.read(folder)
        except BundleError:
            continue
        if bundle.config.task is not None:  # a task without a package name cannot be listed; synthesize names every task it accepts
            named[bundle.config.task.name] = (folder, bundle)
    return named


class TaskDatasetError(RuntimeError):
    """The folder is not a dataset of tasks; the message says why."""


def package_name(org: str, task: str) -> str:
    return f"{org}/{task}"


def digest(task_dir: Path) -> str:
    """Harbor's content digest of a task folder (what its registry pins and `harbor sync` checks)."""
    return "sha256:" + Packager.compute_content_hash(task_dir)[0]


def write_dataset_manifest(out: Path, org: str = DEFAULT_ORG, description: str = "") -> DatasetManifest:
    """Writes `out/dataset.toml` listing every named task folder directly under `out`, with digests."""
    refs = [DatasetTaskRef(name=name, digest=digest(folder)) for name, (folder, _) in named_tasks(out).items()]
    manifest = DatasetManifest(
        dataset=DatasetInfo(name=package_name(org, _slug(out.resolve().name)), description=description, keywords=["terminal", "termigen"]),
        tasks=sorted(refs, key=lambda r: r.name),
    )
    write_atomic(out / DatasetPaths.MANIFEST_FILENAME, manifest.to_toml())
    return manifest


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in name).strip("-.") or "tasks"


def read_dataset(out: Path) -> DatasetManifest:
    path = Path(out) / DatasetPaths.MANIFEST_FILENAME
    if not path.is_file():
        raise TaskDatasetError(f"{out} has no {DatasetPaths.MANIFEST_FILENAME}: it is not the output of `termigen synthesize` (which writes one)")
    try:
        return DatasetManifest.from_toml_file(path)
    except ValueError as exc:
        raise TaskDatasetError(f"{path} is not a valid Harbor dataset manifest: {exc}") from exc


def index_rows(out: Path) -> list[dict[str, Any]]:
    """One row per task listed in the dataset manifest, from its bundle and provenance."""
    manifest = read_dataset(out)
    by_name = named_tasks(out)
    rows = []
    for ref in manifest.tasks:
        if ref.name not in by_name:
            raise TaskDatasetError(f"{ref.name} is listed in dataset.toml but no task folder under {out} has that name")
        folder, bundle = by_name[ref.name]
        provenance = bundle.provenance.model_dump() if bundle.provenance else {}
        metadata = bundle.config.metadata or {}
        rounds = provenance.get("spec_rounds") or []
        scores = {k: v for k, v in (rounds[-1]["evaluation"] if rounds else {}).items() if k != "feedback"}
        gate = (provenance.get("gate_rounds") or [{}])[-1]
        rows.append({
            "id": ref.name,
            "path": folder.relative_to(out).as_posix(),
            "digest": ref.digest,
            "category": metadata.get("category"),
            "tier": metadata.get("tier"),
            "difficulty": metadata.get("difficulty"),
            "instruction": bundle.instruction,
            "spec_scores": scores or None,
            "gate_oracle": gate.get("oracle"),
            "gate_nop": gate.get("nop"),
            "gate_lazy": [score for _, score in gate.get("lazy") or []],
            "gate_alternative": gate.get("alternative"),
            "gate_rounds": len(provenance.get("gate_rounds") or []),
            "model": provenance.get("model"),
        })  # fmt: skip
    return rows
