"""`harbor run --plugin termigen` writes our report (and the export when asked) at job end."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from termigen_harbor.testing import make_bundle

pytestmark = pytest.mark.docker


def test_harbor_finds_the_plugin_by_name():
    harbor = str(Path(sys.executable).with_name("harbor"))
    proc = subprocess.run([harbor, "plugins", "list"], capture_output=True, text=True)
    assert "termigen" in proc.stdout and "termigen_harbor.plugin:TermigenPlugin" in proc.stdout


def test_the_plugin_writes_pass_at_1_and_the_export_at_job_end(docker_engine, tmp_path):
    task = make_bundle("count-words").write(tmp_path / "tasks")
    replies = tmp_path / "replies.json"
    replies.write_text(json.dumps(["Count.\n```bash\nwc -w < /app/input.txt > /app/count.txt\n```", "Done.\n```bash\necho TASK_COMPLETE\n```"] * 2))
    harbor = str(Path(sys.executable).with_name("harbor"))
    proc = subprocess.run(
        [harbor, "run", "-p", str(task), "--agent", "termigen_harbor.agents:BashAgent", "-m", f"scripted:{replies}", "-k", "2", "-n", "1",
         "--plugin", "termigen", "--pk", f"export_dir={tmp_path / 'dataset'}", "-o", str(tmp_path / "jobs"), "-q", "-y"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    [job] = (tmp_path / "jobs").iterdir()
    report = json.loads((job / "termigen" / "report.json").read_text())
    assert report["runs"] == 2 and report["pass_at_1_by_run"] == [1.0, 1.0] and report["n_errors"] == 0
    assert (job / "termigen" / "pass_at_1.png").exists()
    rows = (tmp_path / "dataset" / "sft.jsonl").read_text().splitlines()
    assert len(rows) == 2 and json.loads(rows[0])["messages"][2]["content"].endswith("```bash\nwc -w < /app/input.txt > /app/count.txt\n```")
