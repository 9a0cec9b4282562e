"""Our real client code (the anthropic SDK, litellm) against loopback servers speaking each
provider's wire format: success, usage, structured repair, 429 retry, 401, budget."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pytest
from pydantic import BaseModel

from termigen_harbor.llm import LLM, Budget, BudgetExceeded, FatalError, RetryPolicy, make_backend

from fake_providers import Answer, FakeProvider, Received, anthropic_error, anthropic_message, openai_completion, openai_error

FAST = RetryPolicy(max_retries=3, base_delay_s=0.01, max_delay_s=0.05)


@dataclass
class Provider:
    name: str
    model: str
    api_base: Callable[[str], str]
    ok: Callable[..., Answer]
    rate_limited: Answer
    unauthorized: Answer
    endpoint: str

    def llm(self, server: FakeProvider, budget: Budget | None = None) -> LLM:
        backend = make_backend(self.model, api_base=self.api_base(server.url), api_key="sk-test-key")
        return LLM(backend, budget=budget, retry=FAST)

    @staticmethod
    def prompt_text(received: Received) -> str:
        """Every text the request carried, system prompt included."""
        body = received.body
        parts = [body.get("system")] if isinstance(body.get("system"), str) else [b["text"] for b in body.get("system") or []]
        for message in body["messages"]:
            content = message["content"]
            parts += [content] if isinstance(content, str) else [b["text"] for b in content]
        return "\n".join(parts)


PROVIDERS = [
    Provider("anthropic", "claude-sonnet-4-6", lambda url: url,
             lambda text, n_in=10, n_out=5: anthropic_message(text, n_in, n_out),
             anthropic_error(429, "rate_limit_error", "Number of requests has exceeded your rate limit", {"retry-after": "0"}),
             anthropic_error(401, "authentication_error", "invalid x-api-key"), "/v1/messages"),
    Provider("litellm-openai", "openai/test-model", lambda url: url + "/v1",
             lambda text, n_in=10, n_out=5: openai_completion(text, n_in, n_out),
             openai_error(429, "rate_limit_exceeded", "Rate limit reached for requests", {"retry-after": "0"}),
             openai_error(401, "invalid_api_key", "Incorrect API key provided"), "/v1/chat/completions"),
]  # fmt: skip


@pytest.fixture(params=PROVIDERS, ids=lambda p: p.name)
def provider(request) -> Provider:
    return request.param


class Command(BaseModel):
    reasoning: str
    command: str


async def test_a_chat_returns_text_and_accounts_for_usage(provider):
    with FakeProvider([provider.ok("wc -l /etc/passwd", 21, 7)]) as server:
        llm = provider.llm(server)
        completion = await llm.chat([{"role": "system", "content": "You write bash."}, {"role": "user", "content": "count lines"}])
    assert completion.text == "wc -l /etc/passwd"
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (21, 7)
    assert completion.latency_s > 0
    [received] = server.received
    assert received.path == provider.endpoint
    assert "You write bash." in provider.prompt_text(received) and "count lines" in provider.prompt_text(received)
    assert "sk-test-key" in (received.headers.get("x-api-key", "") + received.headers.get("authorization", ""))
    [record] = llm.records
    assert record.ok and record.usage.total_tokens == 28 and llm.usage.total_tokens == 28


async def test_a_malformed_structured_reply_is_re_asked_with_the_error(provider):
    with FakeProvider([provider.ok("Sure! The command is wc -l."), provider.ok('```json\n{"reasoning": "count", "command": "wc -l /etc/passwd"}\n```')]) as server:
        result = await provider.llm(server).structured("count lines of /etc/passwd", Command)
    assert result == Command(reasoning="count", command="wc -l /etc/passwd")
    first, second = server.received
    assert '"command"' in provider.prompt_text(first)  # the schema was shown
    assert "could not be used" in provider.prompt_text(second) and "Sure! The command is wc -l." in provider.prompt_text(second)


async def test_a_rate_limit_is_retried_then_succeeds(provider):
    with FakeProvider([provider.rate_limited, provider.ok("ok")]) as server:
        llm = provider.llm(server)
        completion = await llm.chat("hi")
    assert completion.text == "ok" and len(server.received) == 2
    assert [(r.ok, r.attempt) for r in llm.records] == [(False, 0), (True, 1)]
    assert "429" in llm.records[0].error or "rate" in llm.records[0].error.lower()


async def test_an_authentication_error_is_not_retried(provider):
    with FakeProvider([provider.unauthorized, provider.ok("never sent")]) as server:
        llm = provider.llm(server)
        with pytest.raises(FatalError):
            await llm.chat("hi")
    assert len(server.received) == 1 and not llm.records[0].ok


async def test_the_budget_stops_the_run_before_the_next_request(provider):
    with FakeProvider([provider.ok("a", 15, 5), provider.ok("b", 15, 5), provider.ok("c", 15, 5)]) as server:
        llm = provider.llm(server, budget=Budget(max_tokens=30))
        await llm.chat("one")
        await llm.chat("two")  # 20 of 30 spent before it: allowed
        with pytest.raises(BudgetExceeded, match="40 of 30"):
            await llm.chat("three")
    assert len(server.received) == 2


async def test_anthropic_usage_counts_cache_and_prices_it():
    long_system = "You are a careful terminal expert. " * 200
    with FakeProvider([anthropic_message("ok", input_tokens=100, output_tokens=50, cache_read=2000, cache_write=0)]) as server:
        llm = LLM(make_backend("claude-sonnet-4-6", api_base=server.url, api_key="k"), retry=FAST)
        completion = await llm.chat([{"role": "system", "content": long_system}, {"role": "user", "content": "hi"}])
    usage = completion.usage
    assert (usage.input_tokens, usage.cache_read_tokens, usage.output_tokens) == (2100, 2000, 50)
    assert usage.cost_usd == pytest.approx((100 * 3 + 50 * 15 + 2000 * 0.30) / 1e6)
    assert server.received[0].body["system"][0]["cache_control"] == {"type": "ephemeral"}


def test_anthropic_without_a_key_says_how_to_fix_it(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(FatalError, match="ANTHROPIC_API_KEY"):
        make_backend("claude-sonnet-4-6")
