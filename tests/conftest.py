from __future__ import annotations

import os

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


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
