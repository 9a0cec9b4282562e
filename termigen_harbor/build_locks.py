"""Harbor's image-build locks, kept per event loop.

Harbor's Docker environment serializes builds of one task's image with an `asyncio.Lock` per
environment name, in a dict on the class: one lock for the whole process. An asyncio lock belongs
to the event loop that first waits on it, and we run Harbor jobs on many loops: one `asyncio.run`
per job, and synthesis runs several jobs at once, each in a worker thread with its own loop. A lock
shared that way either raises ("bound to a different event loop") in a later job, or, released from
another thread, never wakes the loop whose trial waits on it: that trial hangs until Harbor's
environment-start timeout (600 s) and errors. Found by two syntheses of a task of one name run at
once in one process.

Here each event loop gets its own locks. Builds in one loop are serialized as Harbor intends; two
loops may build the same image at once, which the engine handles (Harbor tags images by the
content hash of their environment, so two different environments never share a tag).
"""

from __future__ import annotations

import asyncio
import weakref


class PerLoopLocks(dict):
    """Stands in for Harbor's `_image_build_locks` dict, which Harbor only calls `setdefault` on."""

    def __init__(self) -> None:
        super().__init__()
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = weakref.WeakKeyDictionary()

    def setdefault(self, name: str, default: asyncio.Lock | None = None) -> asyncio.Lock:
        locks = self._by_loop.setdefault(asyncio.get_running_loop(), {})
        return locks.setdefault(name, default if default is not None else asyncio.Lock())


def use_per_loop_build_locks() -> None:
    """Idempotent; called before any Harbor job runs."""
    from harbor.environments.docker.docker import DockerEnvironment

    if not isinstance(DockerEnvironment.__dict__.get("_image_build_locks"), PerLoopLocks):
        DockerEnvironment._image_build_locks = PerLoopLocks()
