"""What tests and benchmarks share: a small real task (count the words of a file), the synthesis
roles scripted for it, and a rollout trial planted on disk as the runner reads one. Nothing here
reaches a model or the network."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

from harbor.models.task.config import TaskConfig
from harbor.models.trajectories import Agent

from termigen_harbor.agents.trajectory import TrajectoryRecorder
from termigen_harbor.bundle import BundleFile, TaskBundle
from termigen_harbor.llm import ChatRequest, ModelGone, RetryableError, Usage
from termigen_harbor.runner import TestOutcome, TrialOutcome
from termigen_harbor.synthesis.verify import STANDARD_TEST_SH

TEMPLATES = Path(str(resources.files("termigen_harbor.task_templates")))  # our hand-written tasks, as installed


def make_bundle(
    name: str = "count-words",
    *,
    tests_py: str | None = None,
    solve: str | None = "#!/bin/bash\nwc -w < /app/input.txt > /app/count.txt\n",
    config: dict | None = None,
    dockerfile: str = "FROM termigen/base:bookworm\nRUN printf 'a b c\\nd e\\n' > /app/input.txt\n",
) -> TaskBundle:
    """A small, real task: count the words of /app/input.txt into /app/count.txt."""
    tests_py = tests_py or (
        "from pathlib import Path\n\n"
        "def test_count():\n    assert Path('/app/count.txt').read_text().strip() == '5'\n\n"
        "def test_input_untouched():\n    assert Path('/app/input.txt').read_text() == 'a b c\\nd e\\n'\n"
    )
    cfg = config or {
        "artifacts": ["/app/count.txt"],
        "agent": {"timeout_sec": 120},
        "verifier": {"timeout_sec": 120, "environment_mode": "separate"},
        "environment": {"cpus": 1, "memory_mb": 1024},
        "metadata": {"category": "data_etl", "tier": 2, "difficulty": "easy", "tags": ["wc"]},
    }
    return TaskBundle(
        name=name,
        instruction="Write the number of words in /app/input.txt to /app/count.txt.\n",
        config=TaskConfig.model_validate(cfg),
        environment={"Dockerfile": BundleFile.text(dockerfile)},
        solution={"solve.sh": BundleFile.text(solve, executable=True)} if solve else {},
        tests={"test.sh": BundleFile.text(STANDARD_TEST_SH, executable=True), "test_outputs.py": BundleFile.text(tests_py)},
    )


# ---------------------------------------------------------------- the count-words task, synthesized
COUNT_WORDS_SPEC = {"title": "count-words", "objective": "Write the number of words in /app/input.txt to /app/count.txt.", "inputs": ["/app/input.txt: text"],
        "outputs": ["/app/count.txt: the word count"], "success_criteria": ["count.txt exists", "it holds the word count", "input.txt is unchanged"],
        "difficulty": "easy"}  # fmt: skip
WEAK = "from pathlib import Path\n\ndef test_input_present():\n    assert Path('/app/input.txt').exists()\n"
STRONG = (
    "from pathlib import Path\n\n"
    "def test_count():\n    assert Path('/app/count.txt').read_text().strip() == str(len(Path('/app/input.txt').read_text().split()))\n\n"
    "def test_input_unchanged():\n    assert Path('/app/input.txt').read_text() == 'a b c\\nd e\\n'\n"
)
REFERENCE = "#!/bin/bash\nwc -w < /app/input.txt > /app/count.txt\n"
ALTERNATIVE = "#!/bin/bash\npython3 -c \"print(len(open('/app/input.txt').read().split()))\" > /app/count.txt\n"
LINES_NOT_WORDS = "#!/bin/bash\nwc -l < /app/input.txt > /app/count.txt\n"


def fenced(text: str, lang: str = "") -> str:
    return f"Here you are.\n```{lang}\n{text}```\n"


class Crash(Exception):
    """Stands for the process being killed mid-run."""


class SynthesisRoles:
    """Every synthesis role scripted for the count-words task, told apart by its prompt: a failing
    build then a good one, a low spec score then a passing one, weak tests then strong ones.
    Each category asked for seeds gets its own copy of the task (the first `count-words`, the next
    `count-words-2`, ...), with its own script, so tasks synthesized at once get the replies they
    would get one at a time. `crash_at` raises Crash at that role (a process killed mid-run);
    `down_at` makes the model unreachable from that role on (the error the clients raise when a
    server is gone)."""

    def __init__(self, crash_at: str | None = None, down_at: str | None = None, gone_at: str | None = None):
        self.crash_at = crash_at
        self.down_at = down_at
        self.gone_at = gone_at
        self.calls: list[str] = []
        self.scripts: dict[int, _TaskScript] = {}  # copy n of the task, in the order the seeds were asked for

    def _task(self, prompt: str, role: str) -> _TaskScript:
        if role == "seeds":  # one call per category: the next copy of the task
            n = len(self.scripts) + 1
        else:  # the proposer sees the seed, later roles the spec's title (also after a resume)
            found = (SEED_RE if role == "proposer" else TITLE_RE).search(prompt)
            n = int(found[1] or 1) if found else 1
        return self.scripts.setdefault(n, _TaskScript(n))

    def __call__(self, request: ChatRequest) -> str:
        prompt = request.messages[0].content  # a repair request follows the role's own prompt
        role = next(r for key, r in [
            ("distinct task seeds", "seeds"), ("review a proposed terminal task", "evaluator"), ("turn a task seed into", "proposer"),
            ("plan the files", "planner"), ("write one file", "constructor"), ("write the Dockerfile", "environment"),
            ("You write the verifier", "tests"), ("You review the tests", "judge"), ("reference solution", "solution"),
            ("You attack a terminal task's verifier", "lazy"), ("solve a terminal task independently", "alternative")] if key in prompt)  # fmt: skip
        self.calls.append(role)
        if role == self.crash_at:
            raise Crash(role)
        if role == self.down_at:
            raise RetryableError(f"scripted: connection refused at the {role}")
        if role == self.gone_at:
            raise ModelGone(f"scripted: the local model server died while answering the {role} (signal SIGKILL)")
        task = self._task(prompt, role)
        env, data, verify, feedback = task.evaluations[0] if role == "evaluator" else (0, 0, 0, "")
        replies = {
            "seeds": lambda: {"seeds": [task.seed]},
            "proposer": lambda: {**COUNT_WORDS_SPEC, "title": task.title},
            "evaluator": lambda: {"environment_complexity": (task.evaluations.pop(0) if len(task.evaluations) > 1 else task.evaluations[0])[0],
                                  "data_generatability": data, "verification_determinism": verify, "feedback": feedback},  # the last review repeats
            "planner": lambda: {"files": [{"path": "input.txt", "purpose": "the text to count"}]},
            "constructor": lambda: fenced("a b c\nd e\n"),
            "environment": lambda: fenced(task.dockerfiles.pop(0), "dockerfile"),
            "tests": lambda: fenced(task.tests.pop(0), "python"),
            "judge": lambda: {"approve": True, "problems": []},
            "solution": lambda: fenced(REFERENCE, "bash"),
            "lazy": lambda: "Idea: hard-code\n" + fenced("#!/bin/bash\necho 3 > /app/count.txt\n", "bash"),
            "alternative": lambda: fenced(ALTERNATIVE, "bash"),
        }
        reply = replies[role]()
        return reply if isinstance(reply, str) else json.dumps(reply)


SEED_RE, TITLE_RE = re.compile(r"Count words in a text file(?: number (\d+))?"), re.compile(r"count-words(?:-(\d+))?")


class _TaskScript:
    """Copy n of the task: its seed and title, and its replies that change from one call to the next."""

    def __init__(self, n: int):
        self.seed = "Count words in a text file" + ("" if n == 1 else f" number {n}")
        self.title = "count-words" if n == 1 else f"count-words-{n}"
        self.dockerfiles = ["FROM termigen/base:bookworm\nRUN apt-get install -y -qq no-such-package-xyz\nCOPY input.txt /app/input.txt\n",
                            "FROM termigen/base:bookworm\nCOPY input.txt /app/input.txt\n"]  # fmt: skip
        # borderline reviews, each the median of three: 3 3 4 rejects the first spec, 4 4 4 accepts the revised one
        self.evaluations = [(3, 5, 5, "too simple an environment: add a realistic input")] * 2 + [(4, 5, 5, "the environment could hold more than one file")]
        self.tests = [WEAK, STRONG]


# ---------------------------------------------------------------- a rollout trial on disk
INSTRUCTION = "Write the number of words in /app/input.txt to /app/count.txt and make sure the file ends with a newline character."


def planted_trial(tmp_path: Path, name: str, task: str, passed: int, total: int, instruction: str = INSTRUCTION, task_path: Path | None = None) -> TrialOutcome:
    """A trial as the runner reads it, with a real ATIF trajectory written by our recorder."""
    trial_dir = tmp_path / "job" / name
    recorder = TrajectoryRecorder(trial_dir / "agent" / "trajectory.json", "s", Agent(name="termigen-bash-agent", version="0", model_name="m"))
    recorder.add_system("SYSTEM PROMPT")
    recorder.add_user(instruction)
    recorder.add_agent("Count.\n```bash\nwc -w < /app/input.txt > /app/count.txt\n```", "Count.", "wc -w < /app/input.txt > /app/count.txt", "exit code: 0\nstdout:\n(empty)\nstderr:\n(empty)", Usage(input_tokens=10, output_tokens=5), "m", {"intent": "correct"})
    recorder.add_agent("Done.\n```bash\necho TASK_COMPLETE\n```", "Done.", None, None, Usage(), "m", {"complete": True})
    recorder.write(Usage(input_tokens=10, output_tokens=5), {})
    tests = [TestOutcome(name=f"t{i}", outcome="passed" if i < passed else "failed") for i in range(total)]
    return TrialOutcome(task=task, trial=name, attempt=0, agent="termigen-bash-agent", model="local/qwen", reward=1.0 if passed == total else 0.0,
                        tests=tests, agent_metadata={"injected_errors": {"command_error": 1}, "n_injected_errors": 1, "recoveries": 1,
                                                     "injection": {"p": 0.2, "steps": 4, "sampled": {"command_error": 1}, "injected": {"command_error": 1},
                                                                   "critic_accepted": 4, "critic_rejected": 1, "recovery_steps": 1, "recoveries": 1}},
                        n_input_tokens=10, n_output_tokens=5, trajectory_path=trial_dir / "agent" / "trajectory.json",
                        trial_dir=trial_dir, task_path=task_path)  # fmt: skip
