"""`bash -n`: whether a script parses, and bash's complaint when it does not."""

from __future__ import annotations

import functools
import subprocess


@functools.lru_cache(maxsize=64)  # a writer's reply is checked by the fix, then by the check: one `bash -n` each
def bash_complaint(script: str) -> str | None:
    """bash's own message (without its `bash: ` prefix) when the script does not parse, else None."""
    result = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True, timeout=30)
    if result.returncode:
        return result.stderr.replace("bash: ", "", 1).strip()
    return None
