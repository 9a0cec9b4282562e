"""The one interface every LLM role uses: `LLM.chat` for text, `LLM.structured` for objects."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from termigen_harbor.llm.budget import Budget
from termigen_harbor.llm.fenced import file_text
from termigen_harbor.llm.structured import file_repair_message, parse_reply, repair_message, schema_instruction
from termigen_harbor.llm.types import (
    CallRecord,
    ChatRequest,
    Completion,
    FatalError,
    Message,
    RetryableError,
    StructuredOutputError,
    TranscriptCall,
    Usage,
)

T = TypeVar("T", bound=BaseModel)
R = TypeVar("R")
CUT_OFF = ("length", "max_tokens")  # the finish reasons of a reply the token limit ended (OpenAI, Anthropic)
ENDED = ("stop", "end_turn")  # the finish reasons of a reply the model ended itself (OpenAI, Anthropic)


class Backend(Protocol):
    model: str

    async def complete(self, request: ChatRequest) -> Completion: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 4
    base_delay_s: float = 1.0
    max_delay_s: float = 30.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Exponential backoff with jitter; a server's retry-after wins when it asks for longer."""
        backoff = min(self.max_delay_s, self.base_delay_s * 2**attempt) * (0.5 + random.random() / 2)
        return max(backoff, min(retry_after or 0.0, self.max_delay_s))


def as_messages(messages: Sequence[Message | dict[str, str]] | str) -> list[Message]:
    if isinstance(messages, str):
        return [Message(role="user", content=messages)]
    return [m if isinstance(m, Message) else Message.model_validate(m) for m in messages]


class LLM:
    def __init__(
        self,
        backend: Backend,
        budget: Budget | None = None,
        retry: RetryPolicy = RetryPolicy(),
        structured_attempts: int = 3,
        max_tokens: int = 2048,
        temperature: float | None = None,
    ):
        self.backend = backend
        self.budget = budget or Budget()
        self.retry = retry
        self.structured_attempts = structured_attempts
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.records: list[CallRecord] = []
        self.transcript: list[TranscriptCall] | None = None  # set to a list to keep every prompt and reply

    def fork(self) -> LLM:
        """A client on the same backend and budget with its own records (per task accounting)."""
        return LLM(self.backend, budget=self.budget, retry=self.retry, structured_attempts=self.structured_attempts, max_tokens=self.max_tokens, temperature=self.temperature)

    @property
    def model(self) -> str:
        return self.backend.model

    @property
    def usage(self) -> Usage:
        return self.usage_since(0)

    def usage_since(self, mark: int) -> Usage:
        """Usage of the calls made after the first `mark` (a `len(llm.records)` taken earlier)."""
        total = Usage()
        for record in self.records[mark:]:
            total = total + record.usage
        return total

    async def chat(self, messages: Sequence[Message | dict[str, str]] | str, *, purpose: str | None = None, **options: Any) -> Completion:
        request = ChatRequest(
            messages=as_messages(messages),
            max_tokens=options.pop("max_tokens", self.max_tokens),
            temperature=options.pop("temperature", self.temperature),
            **options,
        )
        return await self._complete(request, purpose)

    async def structured(self, messages: Sequence[Message | dict[str, str]] | str, schema: type[T], *, purpose: str | None = None, **options: Any) -> T:
        """Asks for an object of `schema`; a reply that does not parse is re-asked with the error."""
        history = as_messages(messages)
        history[-1] = Message(role=history[-1].role, content=history[-1].content + "\n\n" + schema_instruction(schema))
        json_schema = schema.model_json_schema()
        text = ""
        for _ in range(self.structured_attempts):
            completion = await self.chat(history, purpose=purpose, json_schema=json_schema, **options)
            text = completion.text
            try:
                return parse_reply(text, schema, cut_off=completion.finish_reason in CUT_OFF)
            except ValueError as exc:
                history += [Message(role="assistant", content=text), Message(role="user", content=repair_message(str(exc)))]
                error = str(exc)
        raise StructuredOutputError(
            f"{self.model} gave no valid {schema.__name__} in {self.structured_attempts} attempts: {error}", raw_text=text
        )

    async def parsed(self, messages: Sequence[Message | dict[str, str]] | str, parse: Callable[[str], R], *, purpose: str | None = None, **options: Any) -> R:
        """Asks until `parse` accepts the reply text. `parse` raises ValueError saying what is wrong;
        that goes back to the model, up to `structured_attempts` times."""
        return await self._parsed(messages, lambda completion: parse(completion.text), purpose=purpose, **options)

    async def _parsed(self, messages: Sequence[Message | dict[str, str]] | str, parse: Callable[[Completion], R], *, purpose: str | None = None, **options: Any) -> R:
        """`parsed`, for a `parse` that also reads how the reply ended."""
        history = as_messages(messages)
        text = error = ""
        for _ in range(self.structured_attempts):
            completion = await self.chat(history, purpose=purpose, **options)
            text = completion.text
            try:
                return parse(completion)
            except ValueError as exc:
                error = str(exc)
            history += [Message(role="assistant", content=text), Message(role="user", content=file_repair_message(error))]
        raise StructuredOutputError(f"{self.model} gave no usable reply in {self.structured_attempts} attempts: {error}", raw_text=text)

    async def file(self, messages: Sequence[Message | dict[str, str]] | str, *, purpose: str | None = None,
                   check: Callable[[str], str | None] | None = None, fix: Callable[[str], str] | None = None,
                   last_resort: Callable[[str], str] | None = None, **options: Any) -> str:  # fmt: skip
        """Asks for a file as the raw text of a fenced block (the prompt says so). A reply without a
        usable block, or whose file `check` finds a problem in (it returns the problem, or None),
        goes back to the model with the problem. `fix` first sets right what needs no asking;
        `last_resort` is applied to the last reply when the check still fails it."""
        replies = 0

        def parse(completion: Completion) -> str:
            nonlocal replies
            replies += 1
            content = file_text(completion.text, ended=completion.finish_reason in ENDED)
            content = fix(content) if fix else content
            problem = check(content) if check else None
            if problem and last_resort and replies == self.structured_attempts:
                content = last_resort(content)
                problem = check(content) if check else None
            if problem:
                raise ValueError(problem)
            return content

        return await self._parsed(messages, parse, purpose=purpose, **options)

    async def _complete(self, request: ChatRequest, purpose: str | None) -> Completion:
        attempt = 0
        while True:
            self.budget.check()
            started = time.perf_counter()
            try:
                completion = await self.backend.complete(request)
            except RetryableError as exc:
                self.records.append(CallRecord(model=self.model, ok=False, attempt=attempt, latency_s=time.perf_counter() - started, error=str(exc), purpose=purpose))
                if attempt >= self.retry.max_retries:
                    raise RetryableError(f"{self.model}: gave up after {attempt + 1} attempts: {exc}") from exc
                await asyncio.sleep(self.retry.delay(attempt, exc.retry_after))
                attempt += 1
                continue
            except FatalError as exc:
                self.records.append(CallRecord(model=self.model, ok=False, attempt=attempt, latency_s=time.perf_counter() - started, error=str(exc), purpose=purpose))
                raise
            completion.latency_s = completion.latency_s or time.perf_counter() - started
            self.budget.charge(completion.usage, completion.model)
            self.records.append(
                CallRecord(model=completion.model, ok=True, attempt=attempt, usage=completion.usage, latency_s=completion.latency_s, purpose=purpose)
            )
            if self.transcript is not None:
                self.transcript.append(TranscriptCall(purpose=purpose, model=completion.model, messages=request.messages, reply=completion.text))
            return completion

    async def aclose(self) -> None:
        await self.backend.aclose()
