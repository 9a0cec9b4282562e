"""Secrets never land in outputs: with marker values in ANTHROPIC_API_KEY, OPENAI_API_KEY and
HF_TOKEN, every command runs (validate, rollout, export, evaluate, synthesize) and no file it
writes (jobs, reports, datasets, synthesis state and manifest) contains a marker. The pushed
dataset is checked the same way in test_push.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from termigen_harbor.testing import make_bundle

pytestmark = pytest.mark.docker
MARKERS = {"ANTHROPIC_API_KEY": "sk-ant-MARKER-a1b2c3", "OPENAI_API_KEY": "sk-MARKER-d4e5f6", "HF_TOKEN": "hf_MARKER_g7h8i9"}
TERMIGEN = str(Path(sys.executable).with_name("termigen"))


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, **MARKERS, "HF_HUB_OFFLINE": "1"}
    return subprocess.run([TERMIGEN, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


def test_no_command_writes_a_secret(docker_engine, tmp_path):
    tasks = tmp_path / "tasks"
    make_bundle("count-words").write(tasks)
    replies = tmp_path / "replies.json"
    replies.write_text(json.dumps(["Count.\n```bash\nwc -w < /app/input.txt > /app/count.txt\n```", "Done.\n```bash\necho TASK_COMPLETE\n```"]))
    seeds = tmp_path / "seeds.json"
    seeds.write_text(json.dumps([json.dumps({"seeds": ["Count the words of a file"]})]))
    steps = [
        ("validate", str(tasks), "--jobs-dir", "jobs/validate"),
        ("rollout", str(tasks), "-m", f"scripted:{replies}", "-p", "0", "--jobs-dir", "jobs/rollouts", "--job-name", "r"),
        ("export", "jobs/rollouts/r", "-o", "dataset", "--min-pass-ratio", "0", "--benchmark", "none"),
        ("evaluate", "--dataset", str(tasks), "-a", "oracle", "--runs", "1", "--jobs-dir", "jobs/eval", "-o", "report"),
        ("synthesize", "-o", "synth", "--categories", "data_etl", "-m", f"scripted:{seeds}", "--budget-tokens", "5"),
    ]
    for step in steps:
        proc = run(*step, cwd=tmp_path)
        assert proc.returncode == 0, f"{step[0]}: {proc.stdout[-1500:]}{proc.stderr[-1500:]}"
        for marker in MARKERS.values():
            assert marker not in proc.stdout + proc.stderr, f"{step[0]} printed a secret"
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.name not in ("replies.json", "seeds.json")]
    assert {"jobs", "dataset", "report", "synth"} <= {p.relative_to(tmp_path).parts[0] for p in written}
    leaks = [str(p) for p in written for marker in MARKERS.values() if marker.encode() in p.read_bytes()]
    assert leaks == []
