"""A wheel built from the repo works outside the checkout: code, templates, prompts, data."""

import subprocess
import sys
from pathlib import Path
import zipfile

REPO = Path(__file__).resolve().parent.parent  # the source checkout


def test_every_subpackage_is_listed_for_the_wheel():
    import tomllib

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "termigen_harbor").rglob("__init__.py")}
    assert on_disk <= listed, f"not in pyproject's packages: {on_disk - listed}"


def test_the_built_wheel_works_outside_the_checkout(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(REPO)], check=True, capture_output=True)
    [wheel] = tmp_path.glob("termigen_harbor-*.whl")
    unpacked = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(unpacked)
    probe = (
        "import termigen_harbor, pathlib\n"
        "from importlib import resources\n"
        "assert pathlib.Path(termigen_harbor.__file__).is_relative_to(pathlib.Path(SITE)), termigen_harbor.__file__\n"
        "from termigen_harbor.prompts import render\n"
        "assert 'TASK_COMPLETE' in render('bash_agent_system', command_timeout='60')\n"
        "from termigen_harbor.agents import BashAgent\n"
        "from termigen_harbor.llm.local_model import MODELS\n"
        "assert len(MODELS['qwen2.5-coder-1.5b'].part_packages) == 22\n"
        "from termigen_harbor.images import BASE_IMAGES\n"
        "assert 'python3' in BASE_IMAGES[0].render()\n"
        "templates = resources.files('termigen_harbor.task_templates')\n"
        "names = sorted(p.name for p in templates.iterdir() if p.is_dir() and not p.name.startswith('_'))\n"
        "assert len(names) >= 8, names\n"
        "assert (templates / 'csv-json-etl' / 'tests' / 'test.sh').is_file()\n"
        "from termigen_harbor.evaluation.tb1 import core_manifest\n"
        "assert len(core_manifest().task_ids) == 80\n"
        "print('ok', len(names))\n"
    ).replace("SITE", repr(str(unpacked)))
    proc = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env={"PYTHONPATH": str(unpacked), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("ok"), proc.stderr[-2000:]
