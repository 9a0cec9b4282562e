"""Loopback HTTP servers that speak real provider wire formats, for testing our real client code.

Each server replays a queue of scripted answers and records every request it received."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable

from loopback import LoopbackServer, respond


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class FakeProvider(LoopbackServer):
    def __init__(self, answers: list[Answer]):
        self.answers = list(answers)
        self.received: list[Received] = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                provider.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                answer = provider.answers.pop(0) if provider.answers else Answer(500, {"error": {"message": "no scripted answer left"}})
                respond(self, answer.status, json.dumps(answer.body).encode(), headers=answer.headers)

            def log_message(self, *args):
                pass

        super().__init__(Handler)


class ServedModel(LoopbackServer):
    """An OpenAI-compatible model server whose replies come from `reply(ChatRequest)` (the scripted
    synthesis roles, say). When `reply` raises, the server is dying: the request gets no answer and
    `died` is set; the test then stops the server, and every later request is refused."""

    def __init__(self, reply: Callable):
        from termigen_harbor.llm.types import ChatRequest

        self.died = threading.Event()
        model = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
                try:
                    text = reply(ChatRequest(messages=body["messages"]))
                except Exception:
                    model.died.set()
                    self.close_connection = True  # the connection drops with no response
                    return
                answer = openai_completion(text)
                respond(self, answer.status, json.dumps(answer.body).encode())

            def log_message(self, *args):
                pass

        super().__init__(Handler)


# ---------------------------------------------------------------- Anthropic Messages API
def anthropic_message(text: str, input_tokens: int = 10, output_tokens: int = 5, cache_read: int = 0, cache_write: int = 0, model: str = "claude-sonnet-4-6") -> Answer:
    return Answer(200, {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant", "model": model,
        "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens,
                  "cache_creation_input_tokens": cache_write, "cache_read_input_tokens": cache_read},
    })  # fmt: skip


def anthropic_error(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> Answer:
    return Answer(status, {"type": "error", "error": {"type": kind, "message": message}}, headers or {})


# ---------------------------------------------------------------- OpenAI chat completions
def openai_completion(text: str, prompt_tokens: int = 12, completion_tokens: int = 4, cached: int = 0, model: str = "test-model") -> Answer:
    return Answer(200, {
        "id": "chatcmpl-abc123", "object": "chat.completion", "created": 1763700000, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop", "logprobs": None}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens,
                  "prompt_tokens_details": {"cached_tokens": cached}},
    })  # fmt: skip


def openai_error(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> Answer:
    return Answer(status, {"error": {"message": message, "type": kind, "param": None, "code": kind}}, headers or {})
