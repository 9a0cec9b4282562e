"""BashAgent: TermiGen's ReAct terminal agent as a Harbor agent.

    harbor run -p TASKS --agent termigen_harbor.agents:BashAgent -m local \
        --ak injection_rate=0.2 --ak seed=7

With injection_rate = 0 (the default) it is the plain agent used for evaluation.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from harbor.agents.base import BaseAgent
from harbor.agents.options import AgentOptions
from harbor.environments.base import BaseEnvironment
from harbor.models.agent.context import AgentContext
from harbor.models.trajectories import Agent
from pydantic import Field

from termigen_harbor import __version__
from termigen_harbor.agents.injection import trial_seed
from termigen_harbor.agents.rollout import Rollout, RolloutOptions
from termigen_harbor.agents.shell import PersistentShell
from termigen_harbor.agents.trajectory import TrajectoryRecorder
from termigen_harbor.llm import LLM, ModelGone, RetryableError, make_llm
from termigen_harbor.llm.local_server import ServerError
from termigen_harbor.llm.registry import parse_model

LOCAL_HISTORY_CHARS = 16_000  # the local model's 8K-token window


class BashAgentOptions(AgentOptions, RolloutOptions):
    """The agent's --ak options. An unknown name is an error, not silently ignored."""

    temperature: float | None = Field(default=None, ge=0.0, le=2.0, description="Sampling temperature (provider default when unset).")
    max_tokens: int = Field(default=2048, ge=16, description="Most tokens per reply.")
    llm_timeout_sec: float = Field(default=600, gt=0, description="Timeout of one model request.")
    output_limit: int = Field(default=8000, ge=200, description="Characters of stdout and of stderr shown per step (head and tail kept).")
    critic_model: str | None = Field(default=None, description="Model for the Critic (default: the agent's model).")


class BashAgent(BaseAgent):
    options_model = BashAgentOptions

    def __init__(self, logs_dir, model_name: str | None = None, *args: Any, llm: LLM | None = None, critic_llm: LLM | None = None, **kwargs: Any):
        super().__init__(logs_dir, model_name, *args, **kwargs)
        self.opts: BashAgentOptions = self.options or BashAgentOptions()  # type: ignore[assignment]
        self._llm = llm
        self._critic_llm = critic_llm
        self.shell: PersistentShell | None = None
        self.rollout: Rollout | None = None

    @staticmethod
    def name() -> str:
        return "termigen-bash-agent"

    def version(self) -> str:
        return __version__

    def _make_llm(self, model: str | None, role: str = "") -> LLM:
        return make_llm(model, api_base=self.opts.base_url, timeout_s=self.opts.llm_timeout_sec, max_tokens=self.opts.max_tokens,
                        temperature=self.opts.temperature, role=role)  # fmt: skip

    def _critic(self, llm: LLM) -> LLM | None:
        """The Critic's model: --ak critic_model, else the agent's. A local model serves the Critic
        from a second server (role "critic"), so neither role evicts the other's prompt cache."""
        if self.opts.critic_model:
            return self._make_llm(self.opts.critic_model, role="critic")
        if self.opts.injection_rate > 0 and parse_model(llm.model).is_local:
            return self._make_llm(llm.model, role="critic")
        return None

    def rollout_options(self, llm: LLM, critic: LLM | None = None) -> RolloutOptions:
        """The loop's options: the seed becomes this trial's own (from the seed and the trial's
        folder name); mistakes and repairs are passed by the checks alone when the Critic is a local model
        (mistake_review auto); the local model's 8K-token window gets a 16,000-character history unless
        max_history_chars was given."""
        options = RolloutOptions.model_validate(self.opts.model_dump(include=set(RolloutOptions.model_fields)))
        if options.seed is not None:
            options.seed = trial_seed(options.seed, Path(self.logs_dir).resolve().parent.name)
        if options.mistake_review == "auto":
            options.mistake_review = "checks" if parse_model((critic or llm).model).is_local else "llm"
        if "max_history_chars" not in self.opts.model_fields_set and parse_model(llm.model).is_local:
            options.max_history_chars = LOCAL_HISTORY_CHARS
        return options

    async def setup(self, environment: BaseEnvironment) -> None:
        self.shell = PersistentShell(environment, output_limit=self.opts.output_limit)
        await self.shell.start()

    async def run(self, instruction: str, environment: BaseEnvironment, context: AgentContext) -> None:
        llm = self._llm or self._make_llm(self.model_name)
        critic = self._critic_llm or self._critic(llm)
        recorder = TrajectoryRecorder(
            self.logs_dir / "trajectory.json",
            session_id=self.session_id,
            agent=Agent(name=self.name(), version=self.version(), model_name=llm.model, extra={"options": self.opts.model_dump()}),
        )
        if self.shell is None:
            await self.setup(environment)
        rollout = self.rollout = Rollout(llm, self.shell, self.rollout_options(llm, critic), recorder, critic)

        def checkpoint() -> None:
            self._report(rollout, recorder, context)

        rollout.on_step = checkpoint
        try:
            await rollout.run(instruction)
        except asyncio.CancelledError:
            rollout.stop_reason = "agent_timeout"
            raise
        except Exception as exc:  # never let an agent-side failure skip the verifier
            rollout.stop_reason = "agent_error"
            unreachable = isinstance(exc, (RetryableError, ModelGone, ServerError))  # not the model's doing: the next run tries again
            context.metadata = {**(context.metadata or {}), "agent_error": f"{type(exc).__name__}: {exc}", "model_unreachable": unreachable}
            self.logger.error("BashAgent stopped on an error: %s", exc, exc_info=True)  # the console shows one line, job.log the traceback
        finally:
            self._report(rollout, recorder, context)

    def _report(self, rollout: Rollout, recorder: TrajectoryRecorder, context: AgentContext) -> None:
        usage = rollout.usage
        context.n_input_tokens = usage.input_tokens
        context.n_output_tokens = usage.output_tokens
        context.n_cache_tokens = usage.cache_read_tokens
        context.cost_usd = usage.cost_usd
        summary = rollout.summary().model_dump(exclude_none=True)
        context.metadata = {**(context.metadata or {}), **summary}  # Harbor's metadata is a plain dict
        recorder.write(usage, summary)
