"""What the local server's prompt cache saves when requests of several tasks interleave.

    .venv/bin/python benchmarks/prompt_cache.py [--model qwen2.5-coder-0.5b]

Starts the real llama-cpp-python server (as the package does) twice, without and with its RAM
prompt cache (PROMPT_CACHE_BYTES), and times the same four chat requests through its
OpenAI-compatible endpoint: a 2,000-token prompt (A), another task's prompt (B), A again (a new
round whose prompt starts as A did), and A continued (a repair: A, the reply, and a new message).
Without the cache, llama.cpp keeps only the last prompt's state, so A read again after B is read
in full.
"""

from __future__ import annotations

import argparse
import json
import time
import urllib.request

from termigen_harbor.llm.local_server import LocalModelServer

DOCUMENT = "Here is a long document.\n" + "\n".join(f"Line {i}: the value of item {i} is {i * 7 % 13}." for i in range(120))
A = [{"role": "user", "content": DOCUMENT + "\nWhat is item 5?"}]
B = [{"role": "user", "content": "Something else entirely. " * 100 + "Say hi."}]
REQUESTS = [("A", A), ("B, another task", B), ("A again", A), ("A continued", A + [{"role": "assistant", "content": "It is 9."}, {"role": "user", "content": "And item 6?"}])]


def ask(base_url: str, model: str, messages: list[dict[str, str]]) -> tuple[float, int]:
    body = json.dumps({"model": model, "messages": messages, "max_tokens": 20, "temperature": 0}).encode()
    request = urllib.request.Request(f"{base_url}/chat/completions", data=body, headers={"content-type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=900) as response:
        usage = json.load(response)["usage"]
    return time.perf_counter() - started, usage["prompt_tokens"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    args = parser.parse_args()
    print(f"{'request':18} {'prompt tokens':>13} {'no cache (s)':>13} {'cache (s)':>10}")
    times: dict[bool, list[tuple[float, int]]] = {}
    for cached in (False, True):
        server = LocalModelServer(args.model, instance="benchmark", prompt_cache=cached)
        base_url = server.start()
        try:
            times[cached] = [ask(base_url, args.model, messages) for _, messages in REQUESTS]
        finally:
            server.stop()
    for (name, _), (plain, tokens), (cached, _) in zip(REQUESTS, times[False], times[True]):
        print(f"{name:18} {tokens:13} {plain:13.1f} {cached:10.1f}")


if __name__ == "__main__":
    main()
