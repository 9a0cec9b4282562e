"""The embedded default model, through litellm, against a server started on first use."""

from __future__ import annotations

import asyncio
import time

from termigen_harbor.llm.litellm_backend import LiteLLMBackend
from termigen_harbor.llm.local_model import DEFAULT_MODEL, model_spec
from termigen_harbor.llm.local_server import shared_server, shared_server_death
from termigen_harbor.llm.types import ChatRequest, Completion, ModelGone, RetryableError


class LocalBackend:
    """`instance` names a separate server of the same model: llama.cpp keeps one prompt cache per
    server, so two roles with different prompts (agent and critic) each keep theirs warm."""

    def __init__(self, key: str = DEFAULT_MODEL, timeout_s: float = 900, instance: str = ""):
        self.key = model_spec(key).key
        self.instance = instance
        self.model = f"local/{self.key}"
        self.timeout_s = timeout_s
        self._inner: LiteLLMBackend | None = None

    async def complete(self, request: ChatRequest) -> Completion:
        if self._inner is None:
            base_url = await asyncio.to_thread(shared_server, self.key, self.instance)
            # llama.cpp constrains decoding to the JSON schema of structured calls.
            self._inner = LiteLLMBackend(f"openai/{self.key}", api_base=base_url, api_key="local", timeout_s=self.timeout_s, free=True, constrain_json=True)
        started = time.perf_counter()  # the request only: starting the server is a one-time cost
        try:
            completion = await self._inner.complete(request)
        except RetryableError as exc:  # a dead server does not come back: say why it died, once
            if death := shared_server_death(self.key, self.instance):
                raise ModelGone(death) from exc
            raise
        completion.latency_s = time.perf_counter() - started
        completion.model = self.model
        return completion

    async def aclose(self) -> None:
        pass
