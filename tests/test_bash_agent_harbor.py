"""The BashAgent loaded by Harbor itself: the `harbor run --agent ...` CLI path and our runner."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from harbor.models.trajectories import Trajectory

from termigen_harbor.agents.injection import trial_seed
from termigen_harbor.runner import RunnerError, RunSpec, read_job, run_job

from termigen_harbor.testing import make_bundle

pytestmark = pytest.mark.docker
AGENT = "termigen_harbor.agents:BashAgent"
SOLVE = [
    "Count the words into the file.\n```bash\nwc -w < /app/input.txt > /app/count.txt\n```",
    "Check it.\n```bash\ncat /app/count.txt\n```",
    "It says 5.\n```bash\necho TASK_COMPLETE\n```",
]


def test_harbor_run_cli_loads_the_agent_and_verifies(docker_engine, tmp_path):
    task = make_bundle("count-words").write(tmp_path / "tasks")
    replies = tmp_path / "replies.json"
    replies.write_text(json.dumps(SOLVE))
    harbor = Path(sys.executable).with_name("harbor")
    proc = subprocess.run(
        [str(harbor), "run", "-p", str(task), "--agent", AGENT, "-m", f"scripted:{replies}", "--ak", "max_steps=5",
         "--ak", "command_timeout_sec=30", "--ak", "seed=7", "-o", str(tmp_path / "jobs"), "-q", "-y"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    [job_dir] = (tmp_path / "jobs").iterdir()
    [trial] = read_job(job_dir).trials
    assert trial.agent == "termigen-bash-agent" and trial.reward == 1.0, trial
    trajectory = Trajectory.model_validate_json(trial.trajectory_path.read_text())
    agent_steps = [s for s in trajectory.steps if s.source == "agent"]
    assert [s.tool_calls[0].arguments["command"] for s in agent_steps[:2]] == ["wc -w < /app/input.txt > /app/count.txt", "cat /app/count.txt"]
    assert agent_steps[-1].extra["complete"] is True
    assert trajectory.final_metrics.extra["stop_reason"] == "complete"
    assert trial.agent_metadata["seed"] == trial_seed(7, trial.trial)  # the trial's own seed, from --seed and its name

    # Harbor's viewer (`harbor view`) serves the job: its API, on its own models, reads our files
    from fastapi.testclient import TestClient
    from harbor.models.trial.result import TrialResult
    from harbor.viewer.server import create_app

    viewer = TestClient(create_app(tmp_path / "jobs"))
    jobs = viewer.get("/api/jobs")
    assert jobs.status_code == 200 and [j["name"] for j in jobs.json()["items"]] == [job_dir.name]
    shown = viewer.get(f"/api/jobs/{job_dir.name}/trials/{trial.trial}")
    assert shown.status_code == 200 and TrialResult.model_validate(shown.json()).verifier_result.rewards["reward"] == 1.0
    served = viewer.get(f"/api/jobs/{job_dir.name}/trials/{trial.trial}/trajectory")
    assert served.status_code == 200 and Trajectory.model_validate(served.json()) == trajectory


def test_the_runner_rejects_a_misspelt_agent_option_before_running(docker_engine, tmp_path):
    task = make_bundle("count-words").write(tmp_path / "tasks")
    with pytest.raises(RunnerError, match="injection_rat"):
        run_job(RunSpec(tasks=[task], agent=AGENT, model="local", agent_kwargs={"injection_rat": 0.2}, jobs_dir=tmp_path / "jobs"))
