"""Two runs writing to the same place refuse instead of corrupting each other: a lock held by a live
process stops the second run with a clear message; a lock left by a killed process is not stale."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from termigen_harbor.files import FolderBusy, exclusive
from termigen_harbor.runner import RunnerError, RunSpec, run_job

HOLD = "import sys, time; from termigen_harbor.files import exclusive\nwith exclusive(sys.argv[1]):\n    print('held', flush=True); time.sleep(60)\n"


@contextmanager
def holding(path: Path, script: str = HOLD) -> Iterator[subprocess.Popen]:
    """A process that holds the lock `path` (it has said so), killed when the block ends."""
    proc = subprocess.Popen([sys.executable, "-c", script, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_a_second_writer_is_refused_with_who_holds_the_folder_and_a_killed_holder_leaves_no_stale_lock(tmp_path):
    lock = tmp_path / "out" / ".termigen.lock"
    with holding(lock) as holder:
        with pytest.raises(FolderBusy, match=rf"in use by pid {holder.pid} .*wait for it to finish or stop it"):
            with exclusive(lock):
                pass
    with exclusive(lock):  # the kernel dropped the dead process's lock: nothing to clean up
        assert lock.read_text().startswith(f"pid {os.getpid()} ")


INTERRUPTED = (  # a run stopped with Ctrl-C whose worker thread (a Harbor trial) is still going
    "import signal, sys, threading, time; from termigen_harbor.files import exclusive\n"
    "signal.signal(signal.SIGINT, signal.default_int_handler)\n"  # as in a terminal: CI's processes inherit SIGINT ignored
    "threading.Thread(target=time.sleep, args=(60,)).start()\n"
    "with exclusive(sys.argv[1]):\n    print('held', flush=True); time.sleep(60)\n"
)


def test_an_interrupted_run_keeps_its_lock_until_its_process_ends(tmp_path):
    lock = tmp_path / "out" / ".termigen.lock"
    with holding(lock, INTERRUPTED) as holder:
        holder.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 30
        while "KeyboardInterrupt" not in holder.stderr.readline() and time.monotonic() < deadline:
            pass  # the block has been left; the thread keeps the process alive
        assert holder.poll() is None
        with pytest.raises(FolderBusy, match=rf"in use by pid {holder.pid} "):
            with exclusive(lock):
                pass
    with exclusive(lock):
        pass


def test_a_harbor_job_in_use_is_refused_before_harbor_touches_it(tmp_path):
    with holding(tmp_path / "jobs" / ".busy-job.lock"):
        started = time.monotonic()
        with pytest.raises(RunnerError, match="the job .*busy-job is in use by pid"):
            run_job(RunSpec(tasks=[tmp_path], agent="nop", jobs_dir=tmp_path / "jobs", job_name="busy-job"))
        assert time.monotonic() - started < 10 and not (tmp_path / "jobs" / "busy-job").exists()


async def test_two_syntheses_into_one_folder_are_refused(tmp_path):
    from termigen_harbor.llm import LLM, ScriptedBackend
    from termigen_harbor.synthesis.pipeline import Pipeline, SynthesisConfig
    from termigen_harbor.taxonomy import load_taxonomy

    with holding(tmp_path / "out" / ".termigen.lock"):
        pipeline = Pipeline(LLM(ScriptedBackend([])), load_taxonomy("termigen"), SynthesisConfig(out=tmp_path / "out", categories=["data_etl"]))
        with pytest.raises(FolderBusy, match="the synthesis output .*out is in use by pid"):
            await pipeline.run()
        assert not (tmp_path / "out" / ".work").exists()
