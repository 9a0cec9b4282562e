"""A Harbor job plugin: `harbor run ... --plugin termigen [--pk export_dir=DIR]`.

At the end of the job it writes our report (Average Pass@1 over the attempts as runs, pass@k,
errors apart) into <job>/termigen/, and, when `export_dir` is given, the SFT and preference
datasets of the job's trajectories.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harbor.models.job.plugin import BaseJobPlugin

from termigen_harbor.evaluation import tb1
from termigen_harbor.evaluation.evaluate import EvalSpec, build_report, write_report
from termigen_harbor.runner import read_job


class TermigenPlugin(BaseJobPlugin):
    def __init__(self, export_dir: str | None = None, min_pass_ratio: float = 0.5, benchmark: str | None = None, **kwargs: Any) -> None:
        if kwargs:
            raise TypeError(f"unknown termigen plugin option(s): {', '.join(kwargs)} (known: export_dir, min_pass_ratio, benchmark)")
        self.export_dir = Path(export_dir) if export_dir else None
        self.min_pass_ratio = float(min_pass_ratio)
        self.benchmark = benchmark
        self.job_dir: Path | None = None
        self.spec: EvalSpec | None = None

    async def on_job_start(self, job: Any) -> None:
        self.job_dir = Path(job.job_dir)
        agent = job.config.agents[0] if job.config.agents else None
        self.spec = EvalSpec.make(self.job_dir.name, (agent.import_path or agent.name or "agent") if agent else "agent",
                                  agent.model_name if agent else None, job.config.n_attempts)  # fmt: skip

    async def on_job_end(self, job_result: Any) -> None:
        if self.job_dir is None or self.spec is None:
            return
        outcome = read_job(self.job_dir)
        report = build_report(self.spec, outcome)
        report.coverage = tb1.coverage(sorted({t.task for t in outcome.trials}), tb1.core_manifest())  # how much of TB 1.0 the job was
        write_report(report, self.job_dir / "termigen")
        if self.export_dir:
            from termigen_harbor.data import export as ex

            command = f"harbor run ... --plugin termigen --pk export_dir={self.export_dir} --pk min_pass_ratio={self.min_pass_ratio}"
            ex.export_jobs([self.job_dir], self.export_dir, self.min_pass_ratio, ex.benchmark_source(self.benchmark), command)
