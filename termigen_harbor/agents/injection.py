"""Which steps carry a deliberate mistake, and of which kind (TermiGen's five categories)."""

from __future__ import annotations

import hashlib
import random
import re
from collections import deque
from dataclasses import dataclass
from enum import StrEnum


class ErrorCategory(StrEnum):
    ANALYSIS = "analysis_error"
    COMMAND = "command_error"
    HALLUCINATION = "hallucination"
    REQUIREMENT = "requirement_violation"
    VERIFICATION = "verification_failure"


DESCRIPTIONS: dict[ErrorCategory, tuple[str, str]] = {
    ErrorCategory.ANALYSIS: ("analysis error", "misread the environment's state or the data's structure (a wrong column, field, path or format assumed from what was shown) and act on that misreading"),
    ErrorCategory.COMMAND: ("command error", "a syntax or formatting mistake in the command itself: a wrong flag or argument order, bad quoting, a malformed expression"),
    ErrorCategory.HALLUCINATION: ("hallucination", "assume a tool, file, package, service or option exists that does not exist here"),
    ErrorCategory.REQUIREMENT: ("requirement violation", "ignore one explicit constraint of the task (a required path, name, format, port or limit) in a way the output reveals"),
    ErrorCategory.VERIFICATION: ("verification failure", "move on without checking: rely on an earlier step having worked, or run a check that cannot catch the problem, in a way whose output shows it"),
}  # fmt: skip


@dataclass(frozen=True)
class Intent:
    error: bool
    category: ErrorCategory | None = None
    owed: bool = False  # a mistake abandoned at an earlier step, tried again here

    @property
    def label(self) -> str:
        return self.category.value if self.category else "correct"

    @property
    def name(self) -> str:
        return DESCRIPTIONS[self.category][0] if self.category else "correct"

    @property
    def description(self) -> str:
        return DESCRIPTIONS[self.category][1] if self.category else ""


def trial_seed(seed: int, trial: str) -> int:
    """The seed of one trial's draws, from the run's seed and the trial's name: the trials of a job
    (every task, every attempt) draw independently, and a trial's draws can be replayed from the
    seed it records. One seed for all would give every trial the same first draws."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{trial}".encode()).digest()[:8], "big")


class IntentSampler:
    """Each step independently: an error with probability p (so errors can follow errors), its
    category uniform over the five. Seeded for reproducible rollouts.

    A mistake the Critic accepted no attempt of is owed (`owe`): the next step whose draw is a
    correct one, and that repairs nothing, carries it instead, in the same category. Without this
    the share of steps with a mistake would be p times the Critic's acceptance of mistakes (about
    half with the 1.5B model), not p. An owed mistake is tried once: abandoned again, it is given up
    (the rollout does not owe it again), and at most MAX_OWED are owed at once (the oldest is
    dropped), so a model whose mistakes are never accepted makes at most twice as many attempts as
    draws, not one at every step (as the 0.5B model did in a real run, before this rule). Owing
    never changes the draws, so a seed gives the same draws with or without it."""

    MAX_OWED = 3

    def __init__(self, rate: float, seed: int | None = None):
        self.rate = rate  # checked once, by RolloutOptions (0 <= p <= 1)
        self.rng = random.Random(seed)
        self.owed: deque[ErrorCategory] = deque(maxlen=self.MAX_OWED)

    def sample(self, may_owe: bool = True) -> Intent:
        if self.rate > 0 and self.rng.random() < self.rate:
            return Intent(error=True, category=self.rng.choice(list(ErrorCategory)))
        if may_owe and self.owed:
            return Intent(error=True, category=self.owed.popleft(), owed=True)
        return Intent(error=False)

    def owe(self, category: ErrorCategory) -> None:
        self.owed.append(category)


def _compiled(patterns: dict[str, str]) -> dict[str, re.Pattern[str]]:
    return {name: re.compile(pattern, re.I) for name, pattern in patterns.items()}


# Words in an assistant turn that give away how a step was produced: the hidden instruction, the
# Critic, a deliberate mistake. Screened on every assistant turn of a rollout with p > 0 (a word the
# task's own instruction uses, such as "injection" in an SQL task, is not screened).
LEAK_PATTERNS = _compiled(
    {
        "deliberate": r"\bdeliberate(ly)?\b",
        "intentional": r"\b(un)?intentional(ly)?\b",
        "on purpose": r"\bon purpose\b|\bpurpose(ly|fully)\b",
        "inject": r"\binject(ed|ing|ion|s)?\b",
        "hint": r"\bhints?\b",
        "reviewer": r"\breview(er|ers)\b|\bcritic\b",
        "instruction": r"\b(hidden|data generation|generation) instructions?\b|\bas instructed\b",
        "fake mistake": r"\b(make|making|made) (a|the|this) mistake\b|\bsimulat(e|ed|ing) (an? )?(error|mistake)\b",
        "announced mistake": r"\b(the|a|my|this) mistake (would|will) be\b",
        # the hidden feedback on a refused attempt, echoed ("My previous attempt was not usable because
        # ...", from the 1.5B in run R): the student sees no such attempt
        "echoed feedback": r"\bnot usable\b|\bprevious attempt at this step\b",
    }
)

# Words that give a mistake step away, and only a mistake step: its reply is an honest attempt, so it
# does not speak of a mistake at all ("The mistake in my previous command is that ..." written as the
# mistake is made). A step that repairs one may say "the mistake in my previous command".
MISTAKE_STEP_PATTERNS = _compiled(
    {
        "names its mistake": r"\bmistakes?\b|\berroneous(ly)?\b",
        # the kind's own name ("**Realistic Hallucination**: I am assuming a tool exists ...", from the 1.5B)
        "names its kind": r"\bhallucinat\w*|\bmisread\w*|\b(analysis|command) error\b|\brequirement violation\b|\bverification failure\b",
        # the note's demands, echoed ("Running it to Produce Informative Feedback")
        "echoes the note": r"\b(realistic|plausibl[ey]|by accident|accidental(ly)?)\b|\binformative (feedback|error|output)\b",
        # an honest attempt does not foresee its own failure ("running it will result in an error message")
        "expects to fail": r"\b(will|would|should|is going to|is expected to) (fail|error out|(result in|produce|cause|trigger|give|return|print|show) (an? )?(error|failure|non-zero))|\bnon-zero exit code\b",
    }
)


def leaked_words(text: str, instruction: str = "", mistake_step: bool = False) -> list[str]:
    """The leak patterns `text` matches that the task's own instruction does not (with those of a
    mistake step when it is one)."""
    return list(leaked_phrases(text, instruction, mistake_step))


def leaked_phrases(text: str, instruction: str = "", mistake_step: bool = False) -> dict[str, str]:
    """{pattern: the words of `text` it matched}, for the patterns leaked_words finds: the reply
    goes back naming the very words to leave out."""
    patterns = LEAK_PATTERNS | (MISTAKE_STEP_PATTERNS if mistake_step else {})
    found = {name: pattern.search(text) for name, pattern in patterns.items() if not pattern.search(instruction)}
    return {name: match[0] for name, match in found.items() if match}


def leak_named(leaked: dict[str, str]) -> str:
    """Leaked phrases as the rollout's feedback and export's dropped.jsonl name them: `pattern: "words"`."""
    words = ", ".join(f'"{phrase}"' for phrase in dict.fromkeys(leaked.values()))
    return f"{', '.join(leaked)}: {words}"


MIN_EXPLANATION = 30  # characters of reasoning (or comment lines) a reply must keep once its giveaway lines are out


def without_leaking_lines(message: str, instruction: str = "", mistake_step: bool = False) -> tuple[str, list[str]] | None:
    """The reply with each line that gives the game away left out (a line of reasoning, or a
    comment line of the command), and those lines; None when that cannot make it clean: a
    command's own words leak, or too little explanation would be left. The 1.5B narrated its
    mistakes ("**Realistic Hallucination**: ...") in about every attempt, however often it was told
    not to, while the rest of the reply was a usable mistake."""
    kept, dropped, fenced = [], [], False
    for line in message.splitlines():
        stripped = line.strip()
        if stripped.startswith("```"):
            fenced = not fenced
        elif leaked_words(line, instruction, mistake_step):
            if fenced and not is_comment(stripped):
                return None  # the command itself: nothing to leave out
            dropped.append(stripped)
            continue
        kept.append(line)
    text = "\n".join(kept).strip()
    if not dropped or leaked_words(text, instruction, mistake_step) or len(explanation(text)) < MIN_EXPLANATION:
        return None
    return text, dropped


def is_comment(line: str) -> bool:
    """Whether a (stripped) line of a command is a comment: a `#` line, not a shebang."""
    return line.startswith("#") and not line.startswith("#!")


def explanation(reply: str) -> str:
    """What explains a reply's command: its reasoning (Markdown headings such as `### Reasoning`
    are not) and the comment lines of its first command block."""
    words, fenced = [], False
    for line in reply.splitlines():
        stripped = line.strip()
        if stripped.startswith("```"):
            if fenced:
                break
            fenced = True
        elif fenced and is_comment(stripped):
            words.append(stripped.lstrip("#").strip())
        elif not fenced and stripped and not stripped.startswith("#"):
            words.append(stripped)
    return " ".join(w for w in words if w)
