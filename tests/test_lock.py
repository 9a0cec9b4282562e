"""The environment holds exactly what uv.lock pins, so a fresh machine runs what CI tested."""

import importlib.metadata
import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent  # the source checkout


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_installed_distribution_is_the_locked_version():
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    locked = {canonical(p["name"]): p["version"] for p in lock["package"] if "version" in p}
    installed = {canonical(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()}
    assert sorted(installed.keys() - locked.keys()) == [], "installed but not in uv.lock"
    assert {name: (version, locked[name]) for name, version in installed.items() if version != locked[name]} == {}
    assert installed["harbor"].startswith("0.25.")

