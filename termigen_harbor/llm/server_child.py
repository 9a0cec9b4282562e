"""`python -m termigen_harbor.llm.server_child PARENT_PID ARGS...`: llama-cpp-python's server, which
exits when the process that started it is gone, even when that process was killed with SIGKILL and
could not stop it (an orphaned server would hold the model's memory and a core until reboot)."""

from __future__ import annotations

import os
import runpy
import sys
import threading
import time


def _exit_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


def state_bytes(state) -> int:  # a llama_cpp.llama.LlamaState
    """What a saved model state holds in RAM: the llama.cpp state, and the logits and token ids
    kept beside it (for the 1.5B, 512 x 151,936 float32 logits: 311 MB)."""
    return state.llama_state_size + state.scores.nbytes + state.input_ids.nbytes


def count_whole_states() -> None:
    """llama-cpp-python's RAM prompt cache counts only the llama.cpp part of each state against its
    capacity, which is a tenth of it: in run R, a 4 GiB cache grew until the kernel killed the
    server. It counts whole states here."""
    from llama_cpp.llama_cache import LlamaRAMCache

    LlamaRAMCache.cache_size = property(lambda cache: sum(state_bytes(state) for state in cache.cache_state.values()))


def main() -> None:
    parent = int(sys.argv[1])
    threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True).start()
    count_whole_states()
    sys.argv = ["llama_cpp.server", *sys.argv[2:]]
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
