"""What error injection actually did in a rollout (or a sum of rollouts): the realized rate, overall
and per category, the Critic's acceptance rate, silent, abandoned and retried mistakes, repairs."""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel, Field, computed_field


def _add(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    return dict(sorted((Counter(a) + Counter(b)).items()))


class InjectionStats(BaseModel):
    p: float | None = None  # the configured injection rate (None when sums mix rates)
    steps: int = 0  # agent turns
    sampled: dict[str, int] = Field(default_factory=dict)  # mistakes the sampler asked for, by category
    injected: dict[str, int] = Field(default_factory=dict)  # mistakes that ran, by category
    silent: dict[str, int] = Field(default_factory=dict)  # of those, the ones whose output showed nothing: no recovery asked
    retried: dict[str, int] = Field(default_factory=dict)  # owed mistakes tried again at a later step (IntentSampler.owe)
    abandoned: dict[str, int] = Field(default_factory=dict)  # mistakes (sampled or retried) the Critic accepted no attempt of
    critic_accepted: int = 0
    critic_rejected: int = 0
    critic_unparsable: int = 0  # verdicts that could not be read: the step was regenerated
    checks_only: int = 0  # mistakes and repairs that ran on the deterministic checks alone (mistake_review = checks), no Critic asked
    recovery_steps: int = 0  # correct steps asked to diagnose and repair a visible mistake
    repairs_abandoned: int = 0  # visible mistakes left unrepaired because no repair attempt passed the checks (and the Critic)
    recoveries: int = 0  # of those, the ones that repaired it (see Rollout._repaired)

    @computed_field
    @property
    def n_injected(self) -> int:
        return sum(self.injected.values())

    @computed_field
    @property
    def realized_rate(self) -> float | None:
        return round(self.n_injected / self.steps, 4) if self.steps else None

    @computed_field
    @property
    def realized_by_category(self) -> dict[str, float]:
        return {k: round(v / self.steps, 4) for k, v in self.injected.items()} if self.steps else {}

    @computed_field
    @property
    def critic_acceptance_rate(self) -> float | None:
        asked = self.critic_accepted + self.critic_rejected + self.critic_unparsable
        return round(self.critic_accepted / asked, 4) if asked else None

    def __add__(self, other: InjectionStats) -> InjectionStats:
        return InjectionStats(
            p=self.p if self.p == other.p else None, steps=self.steps + other.steps,
            sampled=_add(self.sampled, other.sampled), injected=_add(self.injected, other.injected),
            silent=_add(self.silent, other.silent), retried=_add(self.retried, other.retried), abandoned=_add(self.abandoned, other.abandoned),
            critic_accepted=self.critic_accepted + other.critic_accepted, critic_rejected=self.critic_rejected + other.critic_rejected,
            critic_unparsable=self.critic_unparsable + other.critic_unparsable, checks_only=self.checks_only + other.checks_only,
            recovery_steps=self.recovery_steps + other.recovery_steps, recoveries=self.recoveries + other.recoveries,
            repairs_abandoned=self.repairs_abandoned + other.repairs_abandoned,
        )  # fmt: skip

    @classmethod
    def total(cls, stats: list[InjectionStats]) -> InjectionStats:
        """The sum of several rollouts' statistics (p kept when they share it)."""
        if not stats:
            return cls()
        result = stats[0]
        for more in stats[1:]:
            result = result + more
        return result

    def line(self) -> str:
        """One line for a console or a card."""
        rate = "-" if self.realized_rate is None else f"{self.realized_rate:.1%}"
        critic = "-" if self.critic_acceptance_rate is None else f"{self.critic_acceptance_rate:.0%}"
        return (f"realized injection rate {rate} ({self.n_injected} of {self.steps} steps; p = {self.p if self.p is not None else 'mixed'}), "
                f"{sum(self.silent.values())} silent, {sum(self.abandoned.values())} abandoned of {sum(self.sampled.values()) + sum(self.retried.values())} tried "
                f"({sum(self.retried.values())} of them owed retries); "
                f"Critic acceptance {critic}{f' ({self.checks_only} mistakes and repairs passed by the checks alone)' if self.checks_only else ''}; recoveries {self.recoveries} of {self.recovery_steps} recovery steps"
                f"{f', {self.repairs_abandoned} repairs given up' if self.repairs_abandoned else ''}")  # fmt: skip
