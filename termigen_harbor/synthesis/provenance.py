"""What a synthesized bundle's `provenance.json` records, typed: every stage's rounds, the build
attempts, the gate, the Judge's disputes, every prompt and reply, and the usage per stage."""

from __future__ import annotations

from pydantic import Field

from termigen_harbor.bundle import Provenance
from termigen_harbor.llm import TranscriptCall
from termigen_harbor.synthesis.build import BuildAttempt
from termigen_harbor.synthesis.manifest import StageUsage
from termigen_harbor.synthesis.spec import Round
from termigen_harbor.synthesis.environment import PlannedFile
from termigen_harbor.synthesis.verify import Dispute, GateResult, TestRound


class SynthesisProvenance(Provenance):
    source: str = "synthesized"
    generator: str | None = "termigen-harbor synthesize"
    spec_rounds: list[Round] = Field(default_factory=list)
    blueprint: list[PlannedFile] = Field(default_factory=list)
    build_attempts: list[BuildAttempt] = Field(default_factory=list)
    test_rounds: list[TestRound] = Field(default_factory=list)
    gate_rounds: list[GateResult] = Field(default_factory=list)
    disputes: list[Dispute] = Field(default_factory=list)
    transcript: list[TranscriptCall] = Field(default_factory=list)
    usage: dict[str, StageUsage] = Field(default_factory=dict)
