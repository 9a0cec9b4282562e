"""What every command shares: the error exit, --ak parsing, the console and the model help."""

from __future__ import annotations

import contextlib
import signal
import sys

import typer
from rich.console import Console

console = Console(stderr=True)
# `termigen rollout` collects training data, so it injects mistakes by default (the paper's p);
# the BashAgent's own default (RolloutOptions.injection_rate) is 0: the plain agent evaluation uses.
ROLLOUT_INJECTION_RATE = 0.2
# A rollout step with error injection on the 2-core local model takes about 200 s (a mistake can cost three
# generations and three verdicts): a template's 900 s agent timeout held about 4 steps (run L, benchmarks/README.md).
LOCAL_AGENT_TIMEOUT_MULTIPLIER = 8.0
MODEL_HELP = "local (embedded Qwen2.5-Coder-1.5B), local/qwen2.5-coder-0.5b, claude-sonnet-4-6, or any litellm model string (openai/..., hosted_vllm/...). Default: $TERMIGEN_MODEL, else Claude when ANTHROPIC_API_KEY is set, else local."


def fail(message: str, code: int = 2) -> None:
    from rich.markup import escape

    console.print(f"[bold red]error:[/] {escape(message)}")  # messages quote paths, extras and errors: [x] is text
    raise typer.Exit(code)


def parse_agent_kwargs(items: list[str]) -> dict:
    """--ak key=value, values read as JSON when they parse (as Harbor does), else as strings."""
    import json

    kwargs: dict = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            fail(f"--ak takes key=value, got {item!r}")
        try:
            kwargs[key] = json.loads(value)
        except ValueError:
            kwargs[key] = value
    return kwargs


def harbor_output_to_stderr() -> contextlib.AbstractContextManager:
    """Harbor's progress display goes to stderr, so that what a command prints on stdout stays clean."""
    return contextlib.redirect_stdout(sys.stderr)


def _interrupt(_signum: int, _frame: object) -> None:
    signal.raise_signal(signal.SIGINT)  # asyncio.run turns it into a cancellation that lets every trial clean up


def sigterm_as_ctrl_c() -> None:
    """SIGTERM (a scheduler, `timeout`, `kill`) stops a command the way Ctrl-C does: Harbor tears
    the trials' containers down, the local model server is stopped and state files stay whole.
    Python's default for SIGTERM is to die on the spot, leaving all of that behind.
    A shell without job control starts background commands (`cmd &`, nohup) with SIGINT ignored,
    and then neither Ctrl-C's signal nor this one would stop anything: Python's own SIGINT
    handler is put back, before asyncio looks for it."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)

