"""Synthesized tasks and evaluations on the Hub (the loopback Hub of fake_hub.py): the task tree is a
Harbor dataset whose digests Harbor's own `sync` agrees with, a push round-trips through
`snapshot_download` into tasks that `termigen validate` passes, and an evaluation's trials load back
with `load_dataset`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from harbor.cli.sync import sync_dataset
from harbor.models.task.config import PackageInfo

from fake_hub import FakeHub
from termigen_harbor.bundle import Provenance
from termigen_harbor.data.task_dataset import index_rows, write_dataset_manifest
from termigen_harbor.testing import make_bundle

TOKEN = "hf_tasks_and_evals_token"
TERMIGEN = str(Path(sys.executable).with_name("termigen"))


def changed(dataset: Path) -> list[str]:
    """The tasks whose digest Harbor's own `sync` corrects in dataset.toml."""
    return [c.name for c in sync_dataset(dataset) if c.old != c.new]


def hub_env(hub: FakeHub, home: Path) -> dict[str, str]:
    return {**os.environ, "HF_ENDPOINT": hub.url, "HF_TOKEN": TOKEN, "HF_HUB_DISABLE_XET": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HOME": str(home)}


def synthesis_output(root: Path) -> Path:
    """What `synthesize` leaves: named task folders with provenance, its work state, manifest.json
    and dataset.toml (written by the same function the pipeline calls)."""
    out = root / "out"
    gate = [{"oracle": 1.0, "nop": 0.0, "lazy": [["echo 0", 0.0]], "alternative": 1.0}]
    scores = {"environment_complexity": 4, "data_generatability": 5, "verification_determinism": 5, "feedback": "fine"}
    for name, category in (("count-words", "data_etl"), ("count-lines", "software_dev")):
        bundle = make_bundle(name)
        bundle.config.task = PackageInfo(name=f"alice/{name}")
        bundle.config.metadata["category"] = category
        bundle.provenance = Provenance(source="synthesized", model="local/qwen2.5-coder-1.5b", gate_rounds=gate,
                                       spec_rounds=[{"spec": {}, "evaluation": scores}])  # fmt: skip
        bundle.write(out)
    (out / ".work" / "data_etl-001").mkdir(parents=True)
    (out / ".work" / "data_etl-001" / "state.json").write_text("{}")
    (out / "manifest.json").write_text("{}")
    write_dataset_manifest(out, "alice", "two tasks")
    return out


def test_the_output_is_a_harbor_dataset_whose_digests_harbor_agrees_with(tmp_path):
    out = synthesis_output(tmp_path)
    assert changed(out) == []  # Harbor recomputes every digest: none changes
    text = (out / "dataset.toml").read_text()
    assert 'name = "alice/out"' in text and 'name = "alice/count-lines"' in text and "sha256:" in text
    rows = index_rows(out)
    assert [r["id"] for r in rows] == ["alice/count-lines", "alice/count-words"]
    assert rows[1]["category"] == "data_etl" and rows[1]["gate_oracle"] == 1.0 and rows[1]["gate_lazy"] == [0.0]
    assert rows[1]["spec_scores"]["environment_complexity"] == 4 and rows[1]["instruction"].startswith("Write the number of words")
    (out / "count-words" / "instruction.md").write_text("changed\n")
    assert changed(out) == ["alice/count-words"]  # a stale digest is what Harbor would catch


@pytest.mark.docker
def test_pushed_tasks_download_and_pass_validation(docker_engine, tmp_path):
    out = synthesis_output(tmp_path)
    with FakeHub(token=TOKEN) as hub:
        env = hub_env(hub, tmp_path / "hf-home")
        proc = subprocess.run([TERMIGEN, "push", "--tasks", str(out), "--repo", "alice/terminal-tasks"], capture_output=True, text=True, env=env, timeout=300)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        assert "2 tasks" in proc.stdout + proc.stderr
        files = hub.repos["alice/terminal-tasks"]["files"]
        assert not any(f.startswith(".work") for f in files) and {"tasks.parquet", "dataset.toml", "README.md", "count-words/task.toml"} <= set(files)
        assert not any(TOKEN.encode() in content for content in files.values())
        download = tmp_path / "download"
        script = f"from huggingface_hub import snapshot_download; snapshot_download('alice/terminal-tasks', repo_type='dataset', local_dir={str(download)!r})"
        got = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
        assert got.returncode == 0, got.stderr[-2000:]
    assert changed(download) == []  # the same digests after the round trip
    check = subprocess.run([TERMIGEN, "validate", str(download), "--json", "--jobs-dir", str(tmp_path / "jobs")], capture_output=True, text=True, timeout=900)
    reports = json.loads(check.stdout)
    assert check.returncode == 0 and [r["ok"] for r in reports] == [True, True], check.stdout[-3000:] + check.stderr[-2000:]


@pytest.mark.docker
def test_an_evaluation_is_pushed_one_row_per_trial_and_loads_back(docker_engine, tmp_path):
    from termigen_harbor.evaluation.evaluate import EvalSpec, evaluate, write_report

    tasks = tmp_path / "tasks"
    make_bundle("solvable").write(tasks)
    make_bundle("unsolvable", solve="#!/bin/bash\necho 4 > /app/count.txt\n").write(tasks)
    report = evaluate(EvalSpec(tasks=sorted(tasks.iterdir()), dataset="tiny", agent="oracle", runs=2, jobs_dir=tmp_path / "jobs"))
    write_report(report, tmp_path / "report")
    with FakeHub(token=TOKEN) as hub:
        env = hub_env(hub, tmp_path / "hf-home")
        proc = subprocess.run([TERMIGEN, "push", "--eval", str(tmp_path / "report"), "--repo", "alice/evals"], capture_output=True, text=True, env=env, timeout=300)
        assert proc.returncode == 0 and "4 trials" in proc.stdout + proc.stderr, proc.stdout[-2000:] + proc.stderr[-2000:]
        script = ("import json, datasets; d = datasets.load_dataset('alice/evals', split='train'); "
                  "print(json.dumps([{k: r[k] for k in ('task', 'run', 'reward', 'agent', 'error', 'tests')} for r in d]))")  # fmt: skip
        got = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
        assert got.returncode == 0, got.stderr[-3000:]
        card = hub.repos["alice/evals"]["files"]["README.md"].decode()
        assert not any(TOKEN.encode() in content for content in hub.repos["alice/evals"]["files"].values())
    rows = json.loads(got.stdout.strip().splitlines()[-1])
    assert sorted((r["task"], r["run"], r["reward"]) for r in rows) == [("solvable", 0, 1.0), ("solvable", 1, 1.0), ("unsolvable", 0, 0.0), ("unsolvable", 1, 0.0)]
    failed = next(r for r in rows if r["task"] == "unsolvable")
    assert {t["name"].rsplit("::", 1)[-1]: t["outcome"] for t in failed["tests"]} == {"test_count": "failed", "test_input_untouched": "passed"}
    assert all(r["agent"] == "oracle" and r["error"] is None for r in rows)
    assert "Average Pass@1 over 2 runs: 50.0%" in card and "configs:" in card


def test_push_says_what_is_wrong_with_its_input(tmp_path):
    with FakeHub(token=TOKEN) as hub:
        env = hub_env(hub, tmp_path / "hf-home")
        (tmp_path / "plain").mkdir()
        for args, message in (
            (["--tasks", str(tmp_path / "plain")], "has no dataset.toml"),
            (["--eval", str(tmp_path / "plain")], "is not an evaluation report"),
            ([str(tmp_path / "plain"), "--tasks", str(tmp_path / "plain")], "give one of"),
            (["--tasks", str(tmp_path / "missing")], "no such folder"),
        ):
            proc = subprocess.run([TERMIGEN, "push", *args, "--repo", "alice/x"], capture_output=True, text=True, env=env, timeout=120)
            said = " ".join(proc.stderr.split())  # the console wraps long lines
            assert proc.returncode == 2 and message in said and "Traceback" not in said, (args, said)
