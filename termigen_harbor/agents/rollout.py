"""The ReAct loop with Generator-Critic error injection (TermiGen, Phase II).

Each step: sample an intent (a mistake with probability p, of one of five kinds); generate one
reasoning + command, told in a hidden instruction to make that mistake, or, after a mistake, to
diagnose and repair it; have a Critic check the step before it runs, regenerating with the
Critic's reasons a bounded number of times; run it in the persistent shell; record it.

The model-facing history keeps what a student should learn from (the mistake, its real output,
the diagnosis) and never the hidden instructions or the Critic's words: those go into the step's
labels. With p = 0 no hidden instruction and no Critic prompt is ever sent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from termigen_harbor.agents.injection import ErrorCategory, Intent, IntentSampler, leak_named, leaked_phrases, without_leaking_lines
from termigen_harbor.agents.injection_stats import InjectionStats
from termigen_harbor.agents.step_checks import bash_syntax_problem, copied_note, destructive, pasted_output, quoted_evidence, telling_line
from termigen_harbor.agents.parsing import Action, parse_action
from termigen_harbor.agents.shell import ShellResult
from termigen_harbor.agents.trajectory import TrajectoryRecorder
from termigen_harbor.llm import LLM, Message, StructuredOutputError, Usage
from termigen_harbor.prompts import render


class Shell(Protocol):
    async def run(self, command: str, timeout_s: float) -> ShellResult: ...


MAX_RECOVERY_STEPS = 3  # correct steps that may try to repair one visible mistake before it is left unrepaired


class RolloutOptions(BaseModel):
    max_steps: int = Field(default=50, ge=1)
    command_timeout_sec: float = Field(default=120, gt=0)
    injection_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    seed: int | None = None
    max_regenerations: int = Field(default=2, ge=0)
    max_format_errors: int = Field(default=3, ge=1)
    max_history_chars: int = Field(default=200_000, ge=2_000)
    # Who passes a mistake and its repair: the Critic ("llm"), or the deterministic checks alone
    # ("checks"), as for the embedded model, whose verdicts on mistakes are at chance and which passed
    # 2 of 13 repairs, both failing (benchmarks/README.md). Correct steps always go to the Critic.
    # "auto" is "checks" when the Critic is a local model, else "llm" (BashAgent decides).
    mistake_review: Literal["auto", "llm", "checks"] = "auto"


class RolloutReport(BaseModel):
    """What one rollout did, as the trial's agent metadata and the trajectory's final metrics carry
    it. Read back from a trial with `RolloutReport.of(trial.agent_metadata)`."""

    model_config = ConfigDict(extra="ignore")

    steps: int = 0
    injection_rate: float = 0.0
    seed: int | None = None  # this trial's own seed (BashAgent derives it from --seed and the trial's name)
    mistake_review: str | None = None  # who passed the mistakes and repairs: the Critic (llm) or the checks alone
    injected_errors: dict[str, int] = Field(default_factory=dict)
    n_injected_errors: int = 0
    injections_abandoned: dict[str, int] = Field(default_factory=dict)
    n_injections_abandoned: int = 0
    recoveries: int = 0
    injection: InjectionStats = Field(default_factory=InjectionStats)
    stop_reason: str | None = None
    rejected_step: dict[str, Any] | None = None
    agent_error: str | None = None  # set by the agent when the loop stopped on its own error

    @classmethod
    def of(cls, metadata: dict[str, Any] | None) -> RolloutReport:
        metadata = metadata or {}
        report = cls.model_validate(metadata)
        if "injection" not in metadata:  # a trial from before the statistics were kept
            report.injection = InjectionStats(steps=report.steps)
        return report


class CriticVerdict(BaseModel):
    """The Critic's verdict on a mistake."""

    accept: bool
    reasons: str = ""


class StepVerdict(BaseModel):
    """The Critic's verdict on a correct step, as a checklist: narrow questions that a small model
    answers far better than one overall accept (measured in benchmarks/critic_calibration.py).
    The step is accepted when no answer finds a fault."""

    command_does: str  # asked first, so the answers rest on a reading of the command
    unrelated: bool
    contradicts_reasoning: bool
    damages_task: bool
    reasons: str = ""

    FAULTS: ClassVar[dict[str, str]] = {
        "unrelated": "the command has nothing to do with this task",
        "contradicts_reasoning": "the command does something other than what the reasoning says",
        "damages_task": "the command deletes or breaks files or services the task needs",
        "ignores_failure": "the step does not diagnose the previous step's failure from its output, or does nothing about it",
    }

    @property
    def accept(self) -> bool:
        return not self.faults()

    def faults(self) -> list[str]:
        return [why for name, why in self.FAULTS.items() if getattr(self, name, False)]

    def why(self) -> str:
        """What to change: the faults found, then the Critic's own words on them."""
        found = "; ".join(self.faults())
        return f"{found}: {self.reasons.strip()}" if found and self.reasons.strip() else found or self.reasons.strip()


class RecoveryVerdict(StepVerdict):
    """The checklist for a step that must repair the previous mistake."""

    ignores_failure: bool


@dataclass
class Proposal:
    action: Action
    intent: Intent
    recovery: bool
    critic: str = "skipped"  # skipped (p = 0 or malformed), accept, reject, checks (a mistake or repair passed by the checks alone)
    critic_reasons: list[str] = field(default_factory=list)
    regenerations: int = 0
    injection_abandoned: bool = False
    abandoned_reasons: list[str] = field(default_factory=list)  # why the sampled mistake was given up
    rejected: bool = False  # a correct step the Critic accepted no attempt of: it is not run
    repair_abandoned: bool = False  # this ordinary step replaced a repair that no attempt of passed
    left_out: list[str] = field(default_factory=list)  # lines of the reply that gave the game away, left out of it

    def labels(self) -> dict[str, Any]:
        return {
            "intent": "error" if self.intent.error else "correct",
            "category": self.intent.category.value if self.intent.category else None,
            "recovery": self.recovery,
            "critic": self.critic,
            "critic_reasons": self.critic_reasons,
            "regenerations": self.regenerations,
            "owed": self.intent.owed,
            "injection_abandoned": self.injection_abandoned,
            **({"repair_abandoned": True} if self.repair_abandoned else {}),
            **({"left_out": self.left_out} if self.left_out else {}),
            **({"abandoned_reasons": self.abandoned_reasons} if self.injection_abandoned or self.repair_abandoned else {}),
        }


@dataclass
class Pending:
    """A mistake that left visible evidence, waiting for the step that repairs it."""

    category: str
    command: str
    observation: str
    attempts_left: int = MAX_RECOVERY_STEPS


class Rollout:
    _window_start = 0  # index (in the steps after the task) of the first step the prompt still shows
    _critic_start = 0  # the first step the Critic is shown

    def __init__(
        self,
        llm: LLM,
        shell: Shell,
        options: RolloutOptions,
        recorder: TrajectoryRecorder,
        critic_llm: LLM | None = None,
        on_step: Callable[[], Awaitable[None] | None] | None = None,
    ):
        self.llm = llm
        self.critic_llm = critic_llm or llm
        self.shell = shell
        self.options = options
        self.recorder = recorder
        self.sampler = IntentSampler(options.injection_rate, options.seed)
        self.on_step = on_step
        self.history: list[Message] = []
        self.instruction = ""
        self.stats = InjectionStats(p=options.injection_rate)
        self.pending: Pending | None = None
        self.rejected_step: dict[str, Any] | None = None  # the correct step that ended the rollout, with the Critic's reasons
        self.steps = 0
        self.stop_reason: str | None = None

    # ------------------------------------------------------------------ accounting
    @property
    def usage(self) -> Usage:
        total = self.llm.usage
        return total + self.critic_llm.usage if self.critic_llm is not self.llm else total

    def summary(self) -> RolloutReport:
        stats = self.stats.model_copy(update={"steps": self.steps})
        return RolloutReport(
            steps=self.steps, injection_rate=self.options.injection_rate, seed=self.options.seed,
            mistake_review=self.options.mistake_review if self.options.injection_rate else None, injected_errors=dict(stats.injected), n_injected_errors=stats.n_injected,
            injections_abandoned=dict(stats.abandoned), n_injections_abandoned=sum(stats.abandoned.values()), recoveries=stats.recoveries,
            injection=stats, stop_reason=self.stop_reason, rejected_step=self.rejected_step,
        )  # fmt: skip

    def _records_usage(self, marks: tuple[int, int]) -> Usage:
        usage = self.llm.usage_since(marks[0])
        return usage + self.critic_llm.usage_since(marks[1]) if self.critic_llm is not self.llm else usage

    # ------------------------------------------------------------------ the loop
    async def run(self, instruction: str) -> None:
        self.instruction = instruction
        system = render("bash_agent_system", command_timeout=f"{self.options.command_timeout_sec:g}")
        self.history = [Message(role="system", content=system), Message(role="user", content=instruction)]
        self.recorder.add_system(system)
        self.recorder.add_user(instruction)
        format_errors = 0
        while self.steps < self.options.max_steps:
            marks = (len(self.llm.records), len(self.critic_llm.records))
            intent = self.sampler.sample(may_owe=self.pending is None)  # a visible mistake is repaired first
            if intent.owed:
                self.stats.retried[intent.label] = self.stats.retried.get(intent.label, 0) + 1
            elif intent.error:
                self.stats.sampled[intent.label] = self.stats.sampled.get(intent.label, 0) + 1
            proposal = await self._propose(intent)
            if proposal.rejected:  # never validated, so never run: the rollout ends here, labelled
                self.rejected_step = {"message": proposal.action.message, "reasons": proposal.critic_reasons, "recovery": proposal.recovery}
                self.stop_reason = "critic_rejected"
                await self._checkpoint()
                return
            self.steps += 1
            step_usage = self._records_usage(marks)
            labels = proposal.labels() | {"llm_usage": step_usage.model_dump()}
            action = proposal.action
            if action.dropped_chars:
                labels["dropped_chars"] = action.dropped_chars  # text after the first command block
            if action.problem:
                feedback = render("bash_agent_format_error", problem=action.problem)
                self._remember(action.message, feedback)
                self.recorder.add_agent(action.message, action.reasoning, None, feedback, step_usage, self.llm.model, labels | {"format_error": True})
                format_errors += 1
                await self._checkpoint()
                if format_errors >= self.options.max_format_errors:
                    self.stop_reason = "format_errors"
                    return
                continue
            format_errors = 0
            if action.complete:
                self.recorder.add_agent(action.message, action.reasoning, None, None, step_usage, self.llm.model, labels | {"complete": True})
                self.stop_reason = "complete"
                await self._checkpoint()
                return
            result = await self.shell.run(action.command or "", self.options.command_timeout_sec)
            observation = result.observation()
            self._remember(action.message, observation)
            labels |= {"exit_code": result.exit_code, "timed_out": result.timed_out} | self._account(proposal, action, result, observation)
            self.recorder.add_agent(action.message, action.reasoning, action.command, observation, step_usage, self.llm.model, labels)
            await self._checkpoint()
        self.stop_reason = "max_steps"

    def _account(self, proposal: Proposal, action: Action, result: ShellResult, observation: str) -> dict[str, Any]:
        """Counts the step that ran and labels it: a mistake with visible evidence waits for its
        repair; one without is silent (no recovery is asked for); a recovery step counts as a
        recovery only when it repaired the mistake."""
        labels: dict[str, Any] = {}
        if proposal.intent.error:
            label = proposal.intent.label
            self.stats.injected[label] = self.stats.injected.get(label, 0) + 1
            # visible: a line of output the repair can quote (or the shell's own note on a timeout or
            # an exit); a bare non-zero exit code gives a diagnosis nothing to quote, so it is silent
            visible = result.state != "done" or telling_line(observation) is not None
            labels["feedback_observed"] = visible
            if visible:
                self.pending = Pending(category=label, command=action.command or "", observation=observation)
            else:
                self.stats.silent[label] = self.stats.silent.get(label, 0) + 1
                labels["silent"] = True
        elif proposal.recovery and self.pending:
            self.stats.recovery_steps += 1
            repaired = self._repaired(proposal, result)
            labels |= {"repaired": repaired, "repairs": self.pending.category, "evidence": quoted_evidence(action.reasoning, self.pending.observation)}
            self.pending.attempts_left -= 1
            if repaired:
                self.stats.recoveries += 1
            if repaired or not self.pending.attempts_left:
                labels["unrepaired"] = not repaired
                self.pending = None
        return labels

    @staticmethod
    def _repaired(proposal: Proposal, result: ShellResult) -> bool:
        """A recovery step repaired the mistake when it was passed as a diagnosis and repair of that
        mistake (it quoted the mistake's output and is not the mistake again, checked first; then
        the Critic accepted it, or with mistake_review = checks nothing more) and its own command
        then succeeded: finished in time with exit code 0."""
        return proposal.critic in ("accept", "checks") and result.state == "done" and result.exit_code == 0

    def _remember(self, reply: str, observation: str) -> None:
        self.history += [Message(role="assistant", content=reply), Message(role="user", content=observation)]

    async def _checkpoint(self) -> None:
        if self.on_step:
            maybe = self.on_step()
            if maybe is not None:
                await maybe

    KEEP_AFTER_TRIM = 0.6  # share of max_history_chars the history is cut down to when it overflows

    def prompt_history(self) -> list[Message]:
        """The history as sent to the model: the system prompt, the task, and the steps from the
        window's first one on. When they overflow max_history_chars, the oldest steps leave until
        what is kept fits in KEEP_AFTER_TRIM of it (the newest step always stays); the window then
        stays put until the next overflow. Moving it by one step at every step changed the prompt's
        beginning each time, so the server re-read the whole prompt (4,095 tokens in 74 s on the
        local 1.5B) instead of only the new step."""
        head, steps = self.history[:2], self.history[2:]
        budget = self.options.max_history_chars - sum(len(m.content) for m in head)
        start = min(self._window_start, max(len(steps) - 2, 0))

        def cost(first: int) -> int:
            return sum(len(m.content) for m in steps[first:])

        if cost(start) > budget:
            while start < len(steps) - 2 and cost(start) > budget * self.KEEP_AFTER_TRIM:
                start += 2
            self._window_start = start
        omitted = start // 2
        if omitted:
            note = f"\n\n[{omitted} earlier steps are omitted here to save space; their effects on the machine remain.]"
            head = [head[0], Message(role="user", content=head[1].content + note)]
        return head + steps[start:]

    # ------------------------------------------------------------------ one step
    async def _generate(self, intent: Intent, recovery: bool, feedback: str | None) -> Action:
        hidden = self._note(intent, recovery, feedback)
        messages = self.prompt_history() + ([Message(role="user", content=hidden)] if hidden else [])
        completion = await self.llm.chat(messages, purpose="error_step" if intent.error else "step")
        return parse_action(completion.text)

    def _note(self, intent: Intent, recovery: bool, feedback: str | None, telling: bool = True) -> str | None:
        """The hidden note for this step (None for an ordinary step with nothing to fix); without
        the feedback and the telling line, it is the note's own words, which no reply may repeat."""
        if intent.error:
            return render("step_error", category_name=intent.name, category_description=intent.description, critic_feedback=feedback)
        if recovery:
            line = telling_line(self.pending.observation) if self.pending and telling else None
            return render("step_recovery", critic_feedback=feedback, telling=line)
        return render("step_correct_feedback", critic_feedback=feedback) if feedback else None

    async def _propose(self, intent: Intent) -> Proposal:
        """One step that the Critic accepted (with p > 0), or a labelled outcome: a format slip (not
        run; the model sees the format error), an abandoned mistake replaced by a validated correct
        step, a repair never accepted replaced by a validated ordinary step (the mistake is left
        unrepaired), or a correct step rejected on every attempt (not run; the rollout ends)."""
        recovery = self.pending is not None and not intent.error
        if self.sampler.rate == 0:  # evaluation: the plain ReAct agent, no hidden prompt, no critic
            return Proposal(await self._generate(intent, False, None), intent, recovery=False)
        feedback: str | None = None
        reasons: list[str] = []
        for attempt in range(self.options.max_regenerations + 1):
            action, left_out = self._without_leaking_lines(await self._generate(intent, recovery, feedback), intent)
            proposal = Proposal(action, intent, recovery, critic_reasons=list(reasons), regenerations=attempt, left_out=left_out)
            leak = self._leak(intent, action, recovery)
            if action.problem and not intent.error and leak is None:
                return proposal  # the model's own format slip: recorded as such (the student sees it) and not run
            problem = leak or self._cheap_check(intent, action, recovery)
            feedback = problem
            if problem is None and (intent.error or recovery) and self.options.mistake_review == "checks":
                self.stats.checks_only += 1
                proposal.critic = "checks"
                return proposal
            if problem is None:
                verdict = await self._critique(intent, recovery, action)
                if verdict is None:
                    self.stats.critic_unparsable += 1
                    problem, feedback = "the Critic's verdict could not be read", None  # ask again; nothing to tell the model
                elif verdict.accept:
                    self.stats.critic_accepted += 1
                    proposal.critic = "accept"
                    return proposal
                else:
                    self.stats.critic_rejected += 1
                    problem = feedback = (verdict.why() if isinstance(verdict, StepVerdict) else verdict.reasons.strip()) or "rejected without reasons"
            reasons.append(problem)
        if intent.error:  # no acceptable mistake: a validated correct step instead, and say so
            self.stats.abandoned[intent.label] = self.stats.abandoned.get(intent.label, 0) + 1
            if intent.category and not intent.owed:
                self.sampler.owe(intent.category)  # tried once more at a later step; an owed one abandoned again is given up
            fallback = await self._propose(Intent(error=False))
            fallback.injection_abandoned, fallback.abandoned_reasons = True, reasons
            return fallback
        if recovery:  # no acceptable repair: the mistake is left unrepaired and an ordinary step goes on
            self.stats.repairs_abandoned += 1
            self.pending = None
            fallback = await self._propose(intent)
            fallback.repair_abandoned, fallback.abandoned_reasons = True, reasons
            return fallback
        proposal.critic, proposal.critic_reasons, proposal.rejected = "reject", reasons, True
        return proposal

    def _without_leaking_lines(self, action: Action, intent: Intent) -> tuple[Action, list[str]]:
        """The reply with the lines that give the game away left out, when that leaves it clean
        (see without_leaking_lines), and those lines; else the reply as it came, for _leak to send back."""
        if not leaked_phrases(action.message, self.instruction, intent.error):
            return action, []
        cleaned = without_leaking_lines(action.message, self.instruction, intent.error)
        if cleaned is None:
            return action, []
        return replace(parse_action(cleaned[0]), dropped_chars=action.dropped_chars), cleaned[1]

    def _leak(self, intent: Intent, action: Action, recovery: bool) -> str | None:
        """Why a reply gives away how it was produced, or None: a word the leak screen refuses, or
        the hidden note's own words repeated. Every reply the student will see is screened, a
        format slip too."""
        text = action.message
        leaked = leaked_phrases(text, self.instruction, mistake_step=intent.error)
        if leaked:
            return (f"the reasoning or command uses words that do not belong in it ({leak_named(leaked)}): write it as your own "
                    "honest attempt, about the task only, as someone who expects the command to work")  # fmt: skip
        note = self._note(intent, recovery, None, telling=False)  # an ordinary step has none: the history is not joined
        copied = copied_note(text, note, "\n".join(m.content for m in self.history)) if note else None
        if copied:
            return f'the reply repeats this note\'s words ("{copied[:80]}"): write your own reasoning about the task and its output'
        return None

    def _cheap_check(self, intent: Intent, action: Action, recovery: bool) -> str | None:
        """Problems that need no model to see: checked before the Critic is asked."""
        if intent.error:
            if action.problem:
                return f"the reply was malformed: {action.problem}"
            if action.complete:
                return "the step declared the task complete; the mistake must be a command whose output shows it"
        if action.complete or action.command is None:
            return None
        if all(not line.strip() or line.strip().startswith("#") for line in action.command.splitlines()):
            return "the command is only comments, so it does nothing: write the command itself"  # a 1.5B "mistake" that ran nothing
        # a command the agent has just seen the output of, unchanged: the failed one (a repair that
        # reruns the mistake), or the previous step's (the 1.5B ran one check ten steps running, its
        # output unchanged, and the Critic passed each)
        if recovery and self.pending and action.command.strip() == self.pending.command.strip():
            return "the command is the one that failed, unchanged: change what made it fail"
        previous = parse_action(self.history[-2].content).command if len(self.history) > 2 else None
        if previous is not None and action.command.strip() == previous.strip():
            return "the command is the previous step's, unchanged, and its output is shown above: take a step that acts on that output"
        danger = destructive(action.command)
        if danger:
            return f"the command is destructive outside the task ({danger}); no step may do that"
        if recovery and self.pending:
            pasted = pasted_output(action.command, self.pending.observation, self.pending.command)
            if pasted:  # the 1.5B put the error line it was told to quote into its bash block
                return (f"the command holds a line of the previous output, which is no command (`{pasted[:120]}`): quote output "
                        "in the reasoning; the bash block holds only the commands that repair the mistake")  # fmt: skip
        if intent.category != ErrorCategory.COMMAND:  # a command error may be a syntax error; nothing else may
            problem = bash_syntax_problem(action.command)
            if problem:
                return problem
        if recovery and self.pending and quoted_evidence(action.reasoning, self.pending.observation) is None:
            return ("the diagnosis quotes nothing from the previous step's output: quote the telling part of that output "
                    "verbatim, then explain its cause")  # fmt: skip
        return None

    CRITIC_STEPS = (2, 5)  # the Critic sees the newest steps: from 2 of them, growing to 5, then back to 2

    def critic_history(self) -> str:
        """The steps the Critic is shown (each cut to 1,500 characters of reply and of output). The
        window grows with each step and drops back in one move, so that from one verdict to the next
        the prompt's beginning stays the same and the server reuses its cached prefix (a window
        sliding by one step made it re-read about 1,400 tokens, some 20 s on the 1.5B, per verdict)."""
        steps = list(zip(self.history[2::2], self.history[3::2]))
        fewest, most = self.CRITIC_STEPS
        if len(steps) - self._critic_start > most:
            self._critic_start = len(steps) - fewest
        recent = [f"AGENT:\n{assistant.content[-1500:]}\nOUTPUT:\n{observation.content[:1500]}" for assistant, observation in steps[self._critic_start :]]
        return "\n\n".join(recent) or "(no steps yet)"

    async def _critique(self, intent: Intent, recovery: bool, action: Action) -> CriticVerdict | StepVerdict | None:
        prompt = render(
            "critic",
            instruction=self.instruction,
            history=self.critic_history(),
            reasoning=action.reasoning,
            command=action.command if action.command is not None else "(declares the task complete)",
            intent="error" if intent.error else "correct",
            recovery=recovery,
            category=intent.label,
            category_name=intent.name,
            category_description=intent.description,
        )
        try:  # on the local backend llama.cpp constrains the verdict to its schema
            schema = CriticVerdict if intent.error else RecoveryVerdict if recovery else StepVerdict
            return await self.critic_llm.structured(prompt, schema, purpose="critic")
        except StructuredOutputError:
            return None
