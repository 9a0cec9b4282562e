"""`termigen push` against a loopback server implementing the Hub's dataset upload endpoints.

huggingface_hub uploads through Xet when hf_xet is installed; the fake Hub implements the
classic LFS path instead (which the real Hub also accepts), selected with HF_HUB_DISABLE_XET=1."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq

from termigen_harbor.data.export import dataset_card, preference_pairs, row_from_trial, write_dataset

from fake_hub import FakeHub
from termigen_harbor.testing import planted_trial

TOKEN = "hf_sEcReT_t0ken_for_tests"


def exported(tmp_path: Path) -> Path:
    rows = [row_from_trial(planted_trial(tmp_path, n, "count", p, 4)) for n, p in (("a", 4), ("b", 2))]
    pairs = preference_pairs(rows)
    out = tmp_path / "dataset"
    write_dataset(out, rows, pairs, dataset_card(rows, pairs, [], "termigen export jobs/x -o dataset", 0.5, None))
    return out


def run_push(folder: Path, hub: FakeHub, token: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_TOKEN": token, "HF_HUB_DISABLE_XET": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HOME": str(folder.parent / "hf-home")}
    termigen = str(Path(sys.executable).with_name("termigen"))
    return subprocess.run([termigen, "push", str(folder), "--repo", "alice/terminal-trajectories", *args], capture_output=True, text=True, env=env, timeout=300)


def parquet_rows(content: bytes) -> list[dict]:
    return pq.read_table(io.BytesIO(content)).to_pylist()


def test_push_arrives_intact_private_and_without_the_token(tmp_path):
    folder = exported(tmp_path)
    with FakeHub(token=TOKEN) as hub:
        proc = run_push(folder, hub, TOKEN)
        assert proc.returncode == 0, proc.stderr[-3000:]
        repo = hub.repos["alice/terminal-trajectories"]
    assert repo["private"] is True
    files = repo["files"]
    sft = [f for f in files if f.startswith("sft/") and f.endswith(".parquet")]
    pref = [f for f in files if f.startswith("preference/") and f.endswith(".parquet")]
    assert sft and pref and any(f.startswith("sft_sharegpt/") for f in files)
    rows = parquet_rows(files[sft[0]])
    local = [json.loads(line) for line in (folder / "sft.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [r["id"] for r in local]
    assert rows[0]["messages"] == local[0]["messages"] and rows[1]["test_pass_ratio"] == 0.5
    assert parquet_rows(files[pref[0]])[0]["chosen_id"].endswith("/a")
    card = files["README.md"].decode()
    assert card.startswith("---\nlicense: apache-2.0") and "configs:" in card and "config_name: preference" in card
    assert "termigen export jobs/x -o dataset" in card
    for content in files.values():
        assert TOKEN.encode() not in content
    for path in folder.rglob("*"):
        assert path.is_dir() or TOKEN.encode() not in path.read_bytes()


def test_a_bad_token_or_no_token_is_a_clear_error(tmp_path):
    folder = exported(tmp_path)
    with FakeHub(token=TOKEN) as hub:
        proc = run_push(folder, hub, "hf_wrong")
        assert proc.returncode == 2 and "Hub refused" in proc.stderr and "Traceback" not in proc.stderr
        assert not hub.repos
        no_token = run_push(folder, hub, "")
        assert no_token.returncode == 2 and "set HF_TOKEN" in no_token.stderr
