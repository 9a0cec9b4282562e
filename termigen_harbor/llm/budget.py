"""A run-level budget in tokens, USD and wall time, shared by every call of a run.

A token budget works for every backend. A USD budget needs prices: a call whose price is unknown
(a self-hosted fine-tune, a model litellm has no price for) stops the run at the next request with
that said, rather than letting an unpriced model spend without limit. The time budget is checked
before each request too: work under way between requests (a build, a gate round) ends first."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from termigen_harbor.llm.types import BudgetExceeded, Usage


@dataclass
class Budget:
    max_tokens: int | None = None
    max_usd: float | None = None
    spent: Usage = field(default_factory=Usage)
    unpriced_model: str | None = None  # a model that answered without a known price
    max_seconds: float | None = None  # of wall time, counted from the budget's creation
    started: float = field(default_factory=time.monotonic)

    def check(self) -> None:
        """Raises BudgetExceeded when the budget is spent; called before every request."""
        if self.max_tokens is not None and self.spent.total_tokens >= self.max_tokens:
            raise BudgetExceeded(f"token budget spent: {self.spent.total_tokens} of {self.max_tokens} tokens used")
        elapsed = time.monotonic() - self.started
        if self.max_seconds is not None and elapsed >= self.max_seconds:
            raise BudgetExceeded(f"time budget spent: {elapsed / 60:.1f} of {self.max_seconds / 60:g} minutes")
        if self.max_usd is not None and self.unpriced_model:
            raise BudgetExceeded(
                f"a USD budget cannot be kept: the price of {self.unpriced_model} is unknown; "
                "use a token budget (--budget-tokens) for this model"
            )
        if self.max_usd is not None and (self.spent.cost_usd or 0.0) >= self.max_usd:
            raise BudgetExceeded(f"USD budget spent: ${self.spent.cost_usd:.4f} of ${self.max_usd:.4f} used")

    def charge(self, usage: Usage, model: str = "the model") -> None:
        self.spent = self.spent + usage
        if usage.cost_usd is None:
            self.unpriced_model = model
