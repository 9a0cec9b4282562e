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


def main() -> None:
    parent = int(sys.argv[1])
    threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True).start()
    sys.argv = ["llama_cpp.server", *sys.argv[2:]]
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
