"""One async interface to every model: Claude, any litellm model, the embedded local model, scripts.

    llm = make_llm("local")                      # or "claude-sonnet-4-6", "openai/gpt-4o", ...
    completion = await llm.chat("Count the lines of /etc/passwd")
    spec = await llm.structured(messages, TaskSpec)  # validated pydantic object
"""

from termigen_harbor.llm.budget import Budget
from termigen_harbor.llm.client import LLM, Backend, RetryPolicy
from termigen_harbor.llm.registry import DEFAULT_SYNTHESIS_MODEL, default_model, make_backend, make_llm
from termigen_harbor.llm.scripted import ScriptedBackend
from termigen_harbor.llm.types import (
    BudgetExceeded,
    CallRecord,
    ChatRequest,
    Completion,
    FatalError,
    LLMError,
    Message,
    ModelGone,
    RetryableError,
    StructuredOutputError,
    TranscriptCall,
    Usage,
)

__all__ = [
    "LLM", "Backend", "Budget", "BudgetExceeded", "CallRecord", "ChatRequest", "Completion", "DEFAULT_SYNTHESIS_MODEL",
    "FatalError", "LLMError", "Message", "ModelGone", "RetryPolicy", "RetryableError", "ScriptedBackend", "StructuredOutputError",
    "TranscriptCall", "Usage", "default_model", "make_backend", "make_llm",
]  # fmt: skip
