"""From a model string (as Harbor's -m takes it) to a backend and an LLM."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

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


def local_model_key(model: str) -> tuple[str, str] | None:
    """(key, server instance) of `local`, `local/<key>` or `local/<key>#<instance>`; None for any other model."""
    if model != "local" and not model.startswith(("local/", "local#")):
        return None
    name, _, instance = model.partition("#")
    return name.partition("/")[2] or DEFAULT_MODEL, instance


def make_backend(model: str | None = None, api_base: str | None = None, api_key: str | None = None, timeout_s: float = 600) -> Backend:
    """`local` or `local/<key>` (`#name` for a separate server instance): the embedded model; `claude-*` or `anthropic/<model>`: the
    Anthropic SDK; `scripted:FILE`: replies from a JSON list of strings (dry runs); anything
    else goes to litellm (`openai/...`, `hosted_vllm/...`, ...)."""
    model = model or default_model()
    local = local_model_key(model)
    if local:
        from termigen_harbor.llm.local_backend import LocalBackend

        return LocalBackend(local[0], timeout_s=timeout_s, instance=local[1])
    if model.startswith(("claude-", "anthropic/")):
        from termigen_harbor.llm.anthropic_backend import AnthropicBackend

        return AnthropicBackend(model.removeprefix("anthropic/"), api_key=api_key, base_url=api_base, timeout_s=timeout_s)
    if model.startswith("scripted:"):
        return ScriptedBackend.from_file(Path(model.removeprefix("scripted:")))
    from termigen_harbor.llm.litellm_backend import LiteLLMBackend

    return LiteLLMBackend(model, api_base=api_base, api_key=api_key, timeout_s=timeout_s)


def make_llm(model: str | None = None, *, api_base: str | None = None, api_key: str | None = None, timeout_s: float = 600, budget: Budget | None = None, **options: Any) -> LLM:
    return LLM(make_backend(model, api_base, api_key, timeout_s), budget=budget, **options)
