"""What goes into and comes out of a model call, and the errors a caller can tell apart."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class Message(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str


class ChatRequest(BaseModel):
    messages: list[Message]
    max_tokens: int = 2048
    temperature: float | None = None
    stop: list[str] | None = None
    json_schema: dict[str, Any] | None = None  # set for structured calls; backends may constrain decoding


class Usage(BaseModel):
    input_tokens: int = 0  # all prompt tokens, cached ones included
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float | None = None  # None when the price is unknown

    def __add__(self, other: Usage) -> Usage:
        cost = None if self.cost_usd is None and other.cost_usd is None else (self.cost_usd or 0.0) + (other.cost_usd or 0.0)
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
            cost_usd=cost,
        )

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class Completion(BaseModel):
    text: str
    model: str  # the model that answered, as the provider named it
    usage: Usage = Field(default_factory=Usage)
    latency_s: float = 0.0
    finish_reason: str | None = None


class TranscriptCall(BaseModel):
    """One call as a transcript keeps it: what was asked and what came back."""

    purpose: str | None = None
    model: str
    messages: list[Message]
    reply: str


class CallRecord(BaseModel):
    """One request to a provider, successful or not: the accounting trail of a run."""

    model: str
    ok: bool
    attempt: int
    usage: Usage = Field(default_factory=Usage)
    latency_s: float = 0.0
    error: str | None = None
    purpose: str | None = None


class LLMError(RuntimeError):
    """A model call failed."""


def retry_after(headers: Any) -> float | None:
    """Seconds a provider asked us to wait (its `retry-after` header), or None."""
    try:
        return float(headers.get("retry-after"))
    except (AttributeError, TypeError, ValueError):
        return None


class RetryableError(LLMError):
    """Rate limit, timeout, connection failure or 5xx: worth trying again after a pause."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class FatalError(LLMError):
    """Authentication, permission or a bad request: trying again cannot help."""


class ModelGone(FatalError):
    """No request can be answered any more, whatever it asks: the key is refused, the model does not
    exist, its local server died. Not the fault of the work that asked: a run stops with no verdict
    on it (run R: the local server was killed, and the synthesis run rejected the nine tasks left)."""


class BudgetExceeded(LLMError):
    """The run's token or USD budget is spent; no further call is made."""


class StructuredOutputError(LLMError):
    """The model's reply never parsed into the requested schema. `raw_text` is its last reply."""

    def __init__(self, message: str, raw_text: str):
        super().__init__(f"{message}\n--- last reply ---\n{raw_text[:2000]}")
        self.raw_text = raw_text
