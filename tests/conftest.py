from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from harbor.models.task.config import TaskConfig  # noqa: E402

from termigen_harbor.bundle import BundleFile, TaskBundle  # noqa: E402
from termigen_harbor.synthesis.verify import STANDARD_TEST_SH  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
TEMPLATES = REPO / "task_templates"


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


def docker_available() -> bool:
    import docker

    try:
        docker.from_env(timeout=10).ping()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def docker_engine():
    """Docker tests need the real engine; its absence is a failure, not a skip (provision first)."""
    if not docker_available():
        pytest.fail("no Docker engine answers: run scripts/provision.sh (the README's test command does)")
    from termigen_harbor.images import ensure_images

    ensure_images(say=lambda _m: None)
