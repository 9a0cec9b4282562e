"""From a model string (as Harbor's -m takes it) to a backend and an LLM."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from termigen_harbor.llm.budget import Budget
from termigen_harbor.llm.client import LLM, Backend
from termigen_harbor.llm.local_model import DEFAULT_MODEL
from termigen_harbor.llm.scripted import ScriptedBackend

DEFAULT_SYNTHESIS_MODEL = "claude-sonnet-4-6"


def default_model() -> str:
    """TERMIGEN_MODEL when set; else Claude when an Anthropic key is configured; else the
    embedded local model."""
    if os.environ.get("TERMIGEN_MODEL"):
        return os.environ["TERMIGEN_MODEL"]
    return DEFAULT_SYNTHESIS_MODEL if os.environ.get("ANTHROPIC_API_KEY") else "local"


class ModelRef(BaseModel):
    """A model string, parsed once: which backend serves it and under what name."""

    provider: Literal["local", "anthropic", "scripted", "litellm"]
    name: str  # the local model's key, Claude's model id, the replies file, or litellm's model string

    @property
    def is_local(self) -> bool:
        return self.provider == "local"


def parse_model(model: str) -> ModelRef:
    """`local` or `local/<key>`: the embedded model; `claude-*` or `anthropic/<model>`: Claude;
    `scripted:FILE`: replies from a JSON list (dry runs); anything else: a litellm model string."""
    if model == "local" or model.startswith("local/"):
        return ModelRef(provider="local", name=model.partition("/")[2] or DEFAULT_MODEL)
    if model.startswith(("claude-", "anthropic/")):
        return ModelRef(provider="anthropic", name=model.removeprefix("anthropic/"))
    if model.startswith("scripted:"):
        return ModelRef(provider="scripted", name=model.removeprefix("scripted:"))
    return ModelRef(provider="litellm", name=model)


def make_backend(model: str | None = None, api_base: str | None = None, api_key: str | None = None, timeout_s: float = 600, role: str = "") -> Backend:
    """The backend for a model string (see parse_model; default: default_model()). `role` names
    the LLM role (e.g. "critic"): the embedded model then gets that role's own server, since
    llama.cpp keeps one prompt cache per server and two roles would evict each other's."""
    ref = parse_model(model or default_model())
    if ref.provider == "local":
        from termigen_harbor.llm.local_backend import LocalBackend

        return LocalBackend(ref.name, timeout_s=timeout_s, instance=role)
    if ref.provider == "anthropic":
        from termigen_harbor.llm.anthropic_backend import AnthropicBackend

        return AnthropicBackend(ref.name, api_key=api_key, base_url=api_base, timeout_s=timeout_s)
    if ref.provider == "scripted":
        return ScriptedBackend.from_file(Path(ref.name))
    from termigen_harbor.llm.litellm_backend import LiteLLMBackend

    return LiteLLMBackend(ref.name, api_base=api_base, api_key=api_key, timeout_s=timeout_s)


def make_llm(model: str | None = None, *, api_base: str | None = None, api_key: str | None = None, timeout_s: float = 600, budget: Budget | None = None,
             role: str = "", **options: Any) -> LLM:  # fmt: skip
    return LLM(make_backend(model, api_base, api_key, timeout_s, role), budget=budget, **options)
