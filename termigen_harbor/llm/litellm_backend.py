"""Any model litellm can reach: `openai/...`, `hosted_vllm/...` with an API base, and so on."""

from __future__ import annotations

import os
from typing import Any

from termigen_harbor.llm.types import ChatRequest, Completion, FatalError, ModelGone, RetryableError, Usage, retry_after


class LiteLLMBackend:
    def __init__(self, model: str, api_base: str | None = None, api_key: str | None = None, timeout_s: float = 600, free: bool = False, constrain_json: bool = False):
        self.model = model
        self.api_base = api_base
        self.api_key = api_key
        self.timeout_s = timeout_s
        self.free = free  # a local model: cost is known to be 0
        self.constrain_json = constrain_json  # the server accepts response_format json_object + schema (llama.cpp)

    async def complete(self, request: ChatRequest) -> Completion:
        import litellm  # slow to import (about 7 s): only when this backend is used

        litellm.suppress_debug_info = True  # no "Give Feedback / Get Help" banners on errors
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": [m.model_dump() for m in request.messages],
            "max_tokens": request.max_tokens,
            "timeout": self.timeout_s,
            "num_retries": 0,
        }
        # A self-hosted OpenAI-compatible server (vLLM, llama.cpp) often needs no key, but litellm
        # insists on one: send a placeholder; a server that does check answers 401.
        api_key = self.api_key or (_PLACEHOLDER_KEY if self.api_base and not _provider_key_set(self.model) else None)
        for key, value in (("api_base", self.api_base), ("api_key", api_key), ("temperature", request.temperature), ("stop", request.stop)):
            if value is not None:
                kwargs[key] = value
        if self.constrain_json and request.json_schema is not None:
            kwargs["response_format"] = {"type": "json_object", "schema": request.json_schema}
        try:
            response = await litellm.acompletion(**kwargs)
        except (litellm.AuthenticationError, litellm.PermissionDeniedError, litellm.NotFoundError) as exc:
            raise ModelGone(f"{self.model}: {exc}") from exc
        except (litellm.BadRequestError, litellm.UnprocessableEntityError) as exc:
            raise FatalError(f"{self.model}: {exc}") from exc
        except litellm.InternalServerError as exc:
            if "credentials" in str(exc).lower():  # raised locally, before any request: no key configured
                raise ModelGone(f"{self.model}: no API key: set the provider's key variable (e.g. OPENAI_API_KEY)") from exc
            raise RetryableError(f"{self.model}: {exc}", retry_after=retry_after(getattr(getattr(exc, "response", None), "headers", None))) from exc
        except (litellm.RateLimitError, litellm.Timeout, litellm.APIConnectionError, litellm.InternalServerError, litellm.ServiceUnavailableError, litellm.BadGatewayError) as exc:
            raise RetryableError(f"{self.model}: {exc}", retry_after=retry_after(getattr(getattr(exc, "response", None), "headers", None))) from exc
        except litellm.APIError as exc:
            if getattr(exc, "status_code", 500) >= 500:
                raise RetryableError(f"{self.model}: {exc}") from exc
            raise FatalError(f"{self.model}: {exc}") from exc
        u = response.usage
        details = getattr(u, "prompt_tokens_details", None)
        usage = Usage(
            input_tokens=u.prompt_tokens or 0,
            output_tokens=u.completion_tokens or 0,
            cache_read_tokens=(getattr(details, "cached_tokens", None) or 0) if details else 0,
            cost_usd=0.0 if self.free else _cost(litellm, response),
        )
        choice = response.choices[0]
        return Completion(text=choice.message.content or "", model=response.model or self.model, usage=usage, finish_reason=choice.finish_reason)

    async def aclose(self) -> None:
        pass


_PLACEHOLDER_KEY = "no-key-needed"


def _provider_key_set(model: str) -> bool:
    provider = model.split("/", 1)[0].upper()
    return bool(os.environ.get(f"{provider}_API_KEY"))


def _cost(litellm: Any, response: Any) -> float | None:
    try:
        return float(litellm.completion_cost(completion_response=response))
    except Exception:  # litellm raises several types for a model it has no price for
        return None
