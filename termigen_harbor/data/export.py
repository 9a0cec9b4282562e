"""`termigen export`: rollout jobs in, training datasets out.

- SFT rows, one per trajectory, in OpenAI `messages` form and ShareGPT form, with columns for
  task, category, model, reward, test pass ratio, injected errors, recoveries, steps and tokens;
- filtered by test pass ratio (the default keeps partial successes);
- an error-injected rollout whose assistant turns give away how they were made (the words the
  rollout's leak screen refuses) is dropped, with the words;
- decontaminated: a row whose task instruction shares any 13-gram of normalized words with a
  benchmark instruction is dropped, with the reason;
- preference pairs: per task, a higher-scoring trajectory against a lower-scoring one (ties
  excluded), in TRL's conversational preference format;
- a LLaMA-Factory dataset_info.json and a dataset card.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field

from termigen_harbor.agents.injection import leak_named, leaked_phrases
from termigen_harbor.agents.injection_stats import InjectionStats
from termigen_harbor.agents.rollout import RolloutReport
from termigen_harbor.bundle import BundleError, read_config, task_folders
from termigen_harbor.runner import TrialOutcome, read_job
from termigen_harbor.evaluation.tb1 import downloaded_core
from termigen_harbor.text import words

NGRAM = 13


class SFTRow(BaseModel):
    id: str
    task: str
    category: str | None = None
    model: str | None = None
    agent: str
    reward: float | None
    test_pass_ratio: float | None
    injected_errors: dict[str, int] = Field(default_factory=dict)
    n_injected_errors: int = 0
    recoveries: int = 0
    injection: InjectionStats | None = None  # what injection did in this rollout: realized rate, Critic acceptance, ...
    steps: int = 0
    stop_reason: str | None = None  # why the agent stopped, when it says (`critic_rejected`, `agent_timeout`, ...)
    input_tokens: int = 0
    output_tokens: int = 0
    instruction: str
    messages: list[dict[str, str]]

    @property
    def score(self) -> float:
        """What preference pairs compare: the test pass ratio, else the reward."""
        return self.test_pass_ratio if self.test_pass_ratio is not None else (self.reward or 0.0)


class Dropped(BaseModel):
    id: str
    task: str
    kind: str  # error, empty, leak, pass_ratio, contamination
    reason: str


# ---------------------------------------------------------------------- rows from trajectories
def trajectory_messages(trajectory: dict[str, Any]) -> list[dict[str, str]]:
    """The conversation a student learns from: the system prompt, the task, then each agent
    reply and the observation it got. (Our trajectories hold no hidden instruction.)"""
    messages: list[dict[str, str]] = []
    for step in trajectory["steps"]:
        text = step["message"] if isinstance(step["message"], str) else "".join(p.get("text") or "" for p in step["message"])
        if step["source"] in ("system", "user"):
            messages.append({"role": step["source"], "content": text})
            continue
        messages.append({"role": "assistant", "content": text})
        results = (step.get("observation") or {}).get("results") or []
        observed = "\n".join(r["content"] for r in results if isinstance(r.get("content"), str))
        if observed:
            messages.append({"role": "user", "content": observed})
    return messages


def _category(trial: TrialOutcome) -> str | None:
    if trial.task_path is None:
        return None
    try:
        return read_config(Path(trial.task_path) / "task.toml").metadata.get("category")
    except (BundleError, OSError):
        return None


def row_from_trial(trial: TrialOutcome) -> SFTRow | None:
    if trial.trajectory_path is None or trial.errored:
        return None
    trajectory = json.loads(trial.trajectory_path.read_text())
    messages = trajectory_messages(trajectory)
    instruction = next((m["content"] for m in messages if m["role"] == "user"), "")
    report = RolloutReport.of(trial.agent_metadata)
    return SFTRow(
        id=f"{trial.trial_dir.parent.name}/{trial.trial}",
        task=trial.task,
        category=_category(trial),
        model=trial.model,
        agent=trial.agent,
        reward=trial.reward,
        test_pass_ratio=trial.test_pass_ratio,
        injected_errors=report.injected_errors,
        n_injected_errors=report.n_injected_errors,
        recoveries=report.recoveries,
        injection=report.injection if "injection" in trial.agent_metadata else None,
        steps=sum(s["source"] == "agent" for s in trajectory["steps"]),
        stop_reason=trial.agent_metadata.get("stop_reason"),
        input_tokens=trial.n_input_tokens or 0,
        output_tokens=trial.n_output_tokens or 0,
        instruction=instruction,
        messages=messages,
    )


def rows_from_jobs(job_dirs: list[Path]) -> tuple[list[SFTRow], list[Dropped]]:
    rows, dropped = [], []
    for job_dir in job_dirs:
        for trial in read_job(job_dir).trials:
            row = row_from_trial(trial)
            if row is None:
                reason = "the trial errored before verification" if trial.errored else "no trajectory.json"
                dropped.append(Dropped(id=f"{Path(job_dir).name}/{trial.trial}", task=trial.task, kind="error", reason=reason))
            else:
                rows.append(row)
    return rows, dropped


# ---------------------------------------------------------------------- filtering
def drop_empty(rows: list[SFTRow]) -> tuple[list[SFTRow], list[Dropped]]:
    """(kept, dropped): a trajectory with no agent step teaches nothing, whatever its tests say (a
    task whose untouched container passes some tests scored 40% with none). The 1.5B agent's
    rollouts in the main job both stopped before their first step (the Critic rejected it on
    every attempt) and were exported as rows."""
    kept, dropped = [], []
    for row in rows:
        if row.steps:
            kept.append(row)
        else:
            stopped = f" (the agent stopped: {row.stop_reason})" if row.stop_reason else ""
            dropped.append(Dropped(id=row.id, task=row.task, kind="empty", reason=f"no agent step{stopped}"))
    return kept, dropped


def drop_leaking(rows: list[SFTRow]) -> tuple[list[SFTRow], list[Dropped]]:
    """(kept, dropped): a row of an error-injected rollout (p > 0) with an assistant turn that gives
    away how it was made, in the words of the rollout's own leak screen (injection.leaked_phrases;
    a word the task's instruction uses is allowed). The rollout screens every turn as it is made;
    this catches data collected before a pattern was added: run R's 1.5B echoed the hidden feedback
    on refused attempts ("My previous attempt was not usable because ...") in three turns."""
    kept, dropped = [], []
    for row in rows:
        screened = bool(row.injection and row.injection.p)
        turns = ((turn, leaked_phrases(m["content"], row.instruction)) for turn, m in enumerate(row.messages) if screened and m["role"] == "assistant")
        leak = next(((turn, found) for turn, found in turns if found), None)
        if leak:
            dropped.append(Dropped(id=row.id, task=row.task, kind="leak", reason=f"message {leak[0]} gives away how it was made ({leak_named(leak[1])})"))
        else:
            kept.append(row)
    return kept, dropped


def filter_by_pass_ratio(rows: list[SFTRow], min_ratio: float) -> tuple[list[SFTRow], list[Dropped]]:
    kept, dropped = [], []
    for row in rows:
        if row.score >= min_ratio:
            kept.append(row)
        else:
            dropped.append(Dropped(id=row.id, task=row.task, kind="pass_ratio", reason=f"test pass ratio {row.score:.2f} < {min_ratio:.2f}"))
    return kept, dropped


def ngrams(text: str, n: int = NGRAM) -> set[tuple[str, ...]]:
    """n-grams of normalized words: lower case, letters and digits only."""
    tokens = words(text)
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def decontaminate(rows: list[SFTRow], benchmark: dict[str, str], n: int = NGRAM) -> tuple[list[SFTRow], list[Dropped]]:
    """Drops rows whose instruction shares any n-gram with a benchmark instruction."""
    if not benchmark:
        return rows, []
    index: dict[tuple[str, ...], str] = {}
    for name, text in benchmark.items():
        for gram in ngrams(text, n):
            index.setdefault(gram, name)
    kept, dropped = [], []
    for row in rows:
        hit = next((gram for gram in ngrams(row.instruction, n) if gram in index), None)
        if hit is None:
            kept.append(row)
        else:
            dropped.append(Dropped(id=row.id, task=row.task, kind="contamination", reason=f"shares a {n}-gram with benchmark task {index[hit]}: \"{' '.join(hit)}\""))
    return kept, dropped


def benchmark_instructions(source: Path) -> dict[str, str]:
    """Benchmark instructions from a directory of Harbor tasks (instruction.md), of Terminal-Bench
    1.x tasks (task.yaml), or a text file (one instruction per blank-line-separated paragraph)."""
    source = Path(source)
    if source.is_file():
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", source.read_text()) if p.strip()]
        return {f"{source.name}:{i + 1}": p for i, p in enumerate(paragraphs)}
    if not source.is_dir():
        raise FileNotFoundError(f"benchmark source {source} does not exist")
    found: dict[str, str] = {}
    for task in task_folders(source, lambda p: (p / "instruction.md").exists() or (p / "task.yaml").exists()):
        if (task / "instruction.md").is_file():
            found[task.name] = (task / "instruction.md").read_text()
        elif (task / "task.yaml").is_file():
            data = yaml.safe_load((task / "task.yaml").read_text()) or {}
            texts = [data.get("instruction")] + [d.get("description") for d in data.get("descriptions") or [] if isinstance(d, dict)]
            found[task.name] = "\n".join(t for t in texts if isinstance(t, str))
    if not found:
        raise ValueError(f"no task instructions found in {source} (expected instruction.md or task.yaml in its folders)")
    return found


# ---------------------------------------------------------------------- pairs and formats
def preference_pairs(rows: list[SFTRow]) -> list[dict[str, Any]]:
    """Per task, each higher-scoring trajectory against the lowest-scoring one below it; ties excluded."""
    by_task: dict[str, list[SFTRow]] = defaultdict(list)
    for row in rows:
        by_task[row.task].append(row)
    pairs = []
    for task, group in sorted(by_task.items()):
        group = sorted(group, key=lambda r: r.score, reverse=True)
        worst = group[-1]
        for better in group[:-1]:
            if better.score <= worst.score:
                continue
            prompt = better.messages[:2]
            pairs.append({
                "task": task, "chosen_id": better.id, "rejected_id": worst.id,
                "chosen_score": better.score, "rejected_score": worst.score,
                "prompt": prompt, "chosen": better.messages[2:], "rejected": worst.messages[2:],
            })  # fmt: skip
    return pairs


SHAREGPT_ROLES = {"user": "human", "assistant": "gpt"}


def sharegpt(row: SFTRow) -> dict[str, Any]:
    system = next((m["content"] for m in row.messages if m["role"] == "system"), "")
    turns = [{"from": SHAREGPT_ROLES[m["role"]], "value": m["content"]} for m in row.messages if m["role"] != "system"]
    return {"id": row.id, "system": system, "conversations": turns}


DATASET_INFO = {
    "termigen_sft": {
        "file_name": "sft_sharegpt.jsonl", "formatting": "sharegpt",
        "columns": {"messages": "conversations", "system": "system"},
    },
    "termigen_sft_messages": {
        "file_name": "sft.jsonl", "formatting": "sharegpt",
        "columns": {"messages": "messages"},
        "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant", "system_tag": "system"},
    },
}  # fmt: skip


def write_dataset(out: Path, rows: list[SFTRow], pairs: list[dict[str, Any]], card: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "sft.jsonl": [row.model_dump(mode="json") for row in rows],
        "sft_sharegpt.jsonl": [sharegpt(row) for row in rows],
        "preference.jsonl": pairs,
    }
    for name, records in files.items():
        (out / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    (out / "dataset_info.json").write_text(json.dumps(DATASET_INFO, indent=2) + "\n")
    (out / "README.md").write_text(card)
    return [out / name for name in (*files, "dataset_info.json", "README.md")]


def dataset_card(rows: list[SFTRow], pairs: list[dict[str, Any]], dropped: list[Dropped], command: str, min_ratio: float, benchmark: str | None) -> str:
    by_category: dict[str, int] = defaultdict(int)
    injected: dict[str, int] = defaultdict(int)
    for row in rows:
        by_category[row.category or "unknown"] += 1
        for kind, count in row.injected_errors.items():
            injected[kind] += count
    models = sorted({row.model or "unknown" for row in rows})
    reasons: dict[str, int] = defaultdict(int)
    for d in dropped:
        reasons[d.kind] += 1
    lines = [
        "---",
        "license: apache-2.0",
        "task_categories:\n- text-generation",
        "tags:\n- terminal-agents\n- agent-trajectories\n- termigen\n- harbor",
        "---",
        "",
        "# Terminal-agent trajectories (termigen-harbor)",
        "",
        "Error-correction trajectories of a ReAct bash agent in verified Docker tasks, collected with "
        "termigen-harbor on the Harbor framework following TermiGen (Generator-Critic "
        "error injection) and LiteCoder-Terminal (pass-ratio filtering, 13-gram decontamination, preference pairs).",
        "",
        "## Statistics",
        f"- SFT rows: {len(rows)} (`sft.jsonl` OpenAI messages, `sft_sharegpt.jsonl` ShareGPT; `dataset_info.json` for LLaMA-Factory)",
        f"- preference pairs: {len(pairs)} (`preference.jsonl`, TRL conversational format: prompt / chosen / rejected)",
        f"- tasks: {len({r.task for r in rows})}; models: {', '.join(models) or '-'}",
        f"- by category: {', '.join(f'{k} {v}' for k, v in sorted(by_category.items())) or '-'}",
        f"- injected errors: {', '.join(f'{k} {v}' for k, v in sorted(injected.items())) or 'none'}; recoveries: {sum(r.recoveries for r in rows)}",
        f"- error injection in the kept rows: {InjectionStats.total([r.injection for r in rows if r.injection]).line()}" if any(r.injection for r in rows) else "- error injection: no statistics recorded",
        f"- mean test pass ratio: {sum(r.score for r in rows) / len(rows):.2f}" if rows else "- mean test pass ratio: -",
        f"- dropped: {len(dropped)} ({'; '.join(f'{k}: {v}' for k, v in sorted(reasons.items())) or 'none'})",
        f"- kept when the test pass ratio is at least {min_ratio:g}; decontaminated against {benchmark or 'nothing (no benchmark given)'} with {NGRAM}-grams",
        "",
        "## Provenance and license",
        "Tasks, trajectories and labels were produced by the command below. Each row's `model` names the model that "
        "wrote it; check that model's terms before training on its outputs. The dataset is released under Apache-2.0.",
        "",
        "```bash",
        command,
        "```",
    ]
    return "\n".join(lines) + "\n"


def benchmark_source(given: str | None) -> Path | None:
    """What to decontaminate against: `given` (a task folder or a text file), nothing for "none",
    and when unset TerminalBench 1.0 where `tb datasets download` leaves it, if it is there."""
    if given == "none":
        return None
    if given:
        return Path(given)
    return downloaded_core()


class Exported(BaseModel):
    rows: int
    kept: list[SFTRow]  # the rows written, in order
    pairs: int
    dropped: list[Dropped]
    benchmark_instructions: int  # 0: not decontaminated
    files: list[Path]


def export_jobs(jobs: list[Path], out: Path, min_ratio: float, benchmark: Path | None, command: str, pairs: bool = True) -> Exported:
    """The whole export: rows, empty and leaking trajectories and the pass-ratio filter, decontamination, pairs, files, card and dropped.jsonl."""
    rows, dropped = rows_from_jobs(jobs)
    rows, empty = drop_empty(rows)
    rows, leaking = drop_leaking(rows)
    rows, low = filter_by_pass_ratio(rows, min_ratio)
    dropped += empty + leaking + low
    instructions = benchmark_instructions(benchmark) if benchmark else {}
    rows, contaminated = decontaminate(rows, instructions)
    dropped += contaminated
    preference = preference_pairs(rows) if pairs else []
    files = write_dataset(out, rows, preference, dataset_card(rows, preference, dropped, command, min_ratio, str(benchmark) if benchmark else None))
    (out / "dropped.jsonl").write_text("".join(d.model_dump_json() + "\n" for d in dropped))
    return Exported(rows=len(rows), kept=rows, pairs=len(preference), dropped=dropped, benchmark_instructions=len(instructions), files=[*files, out / "dropped.jsonl"])
