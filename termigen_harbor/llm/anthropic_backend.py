"""Claude through the official `anthropic` SDK, with prompt caching of long prefixes."""

from __future__ import annotations

import os
from typing import Any

import anthropic

from termigen_harbor.llm.types import ChatRequest, Completion, FatalError, Message, ModelGone, RetryableError, Usage, retry_after

# USD per million tokens: input, output, cache write (5 min), cache read. Matched by prefix.
PRICES: dict[str, tuple[float, float, float, float]] = {
    "claude-opus-4-1": (15.0, 75.0, 18.75, 1.50),
    "claude-opus-4": (15.0, 75.0, 18.75, 1.50),
    "claude-sonnet-4-6": (3.0, 15.0, 3.75, 0.30),
    "claude-sonnet-4-5": (3.0, 15.0, 3.75, 0.30),
    "claude-sonnet-4": (3.0, 15.0, 3.75, 0.30),
    "claude-3-7-sonnet": (3.0, 15.0, 3.75, 0.30),
    "claude-haiku-4-5": (1.0, 5.0, 1.25, 0.10),
    "claude-3-5-haiku": (0.80, 4.0, 1.0, 0.08),
}
CACHE_MIN_CHARS = 4096  # about 1024 tokens, the smallest prefix Anthropic will cache


def price(model: str, fresh_in: int, out: int, cache_write: int, cache_read: int) -> float | None:
    for prefix in sorted(PRICES, key=len, reverse=True):
        if model.startswith(prefix):
            p_in, p_out, p_write, p_read = PRICES[prefix]
            return (fresh_in * p_in + out * p_out + cache_write * p_write + cache_read * p_read) / 1e6
    return None


def payload(messages: list[Message], cache: bool = True) -> tuple[list[dict[str, Any]] | None, list[dict[str, Any]]]:
    """Anthropic's (system, messages). With `cache`, the system prompt and the conversation so far
    are marked as cache breakpoints once they are long enough to be cached."""
    system_text = "\n\n".join(m.content for m in messages if m.role == "system")
    turns = [{"role": m.role, "content": [{"type": "text", "text": m.content}]} for m in messages if m.role != "system"]
    system = [{"type": "text", "text": system_text}] if system_text else None
    if cache:
        if system and len(system_text) >= CACHE_MIN_CHARS:
            system[0]["cache_control"] = {"type": "ephemeral"}
        if turns and len(system_text) + sum(len(m.content) for m in messages) >= CACHE_MIN_CHARS and len(turns) > 1:
            turns[-1]["content"][-1]["cache_control"] = {"type": "ephemeral"}
    return system, turns


class AnthropicBackend:
    def __init__(self, model: str = "claude-sonnet-4-6", api_key: str | None = None, base_url: str | None = None, timeout_s: float = 600, cache: bool = True):
        key = api_key or os.environ.get("ANTHROPIC_API_KEY")
        if not key:
            raise FatalError(f"{model} needs an Anthropic API key: set ANTHROPIC_API_KEY, or use --model local for the embedded model")
        self.model = model
        self.cache = cache
        self.client = anthropic.AsyncAnthropic(api_key=key, base_url=base_url, max_retries=0, timeout=timeout_s)

    async def complete(self, request: ChatRequest) -> Completion:
        system, turns = payload(request.messages, self.cache)
        kwargs: dict[str, Any] = {"model": self.model, "max_tokens": request.max_tokens, "messages": turns}
        if system:
            kwargs["system"] = system
        if request.temperature is not None:
            kwargs["temperature"] = request.temperature
        if request.stop:
            kwargs["stop_sequences"] = request.stop
        try:
            response = await self.client.messages.create(**kwargs)
        except anthropic.APIStatusError as exc:
            message = f"Anthropic {exc.status_code}: {exc.message}"
            if exc.status_code in (408, 409, 429) or exc.status_code >= 500:
                raise RetryableError(message, retry_after=retry_after(exc.response.headers)) from exc
            raise (ModelGone if exc.status_code in (401, 403, 404) else FatalError)(message) from exc
        except (anthropic.APITimeoutError, anthropic.APIConnectionError) as exc:
            raise RetryableError(f"Anthropic: {exc}") from exc
        u = response.usage
        read, write = u.cache_read_input_tokens or 0, u.cache_creation_input_tokens or 0
        usage = Usage(
            input_tokens=u.input_tokens + read + write,
            output_tokens=u.output_tokens,
            cache_read_tokens=read,
            cache_write_tokens=write,
            cost_usd=price(response.model, u.input_tokens, u.output_tokens, write, read),
        )
        text = "".join(block.text for block in response.content if block.type == "text")
        return Completion(text=text, model=response.model, usage=usage, finish_reason=response.stop_reason)

    async def aclose(self) -> None:
        await self.client.close()
