"""`termigen push`: datasets to the Hugging Face Hub.

- an exported training dataset (`export`'s SFT and preference files), with `datasets.push_to_hub`:
  each JSONL file becomes a config (sft, sft_sharegpt, preference);
- synthesized tasks (`--tasks OUT`): the task tree as it is (a Harbor dataset, with its
  dataset.toml), a task index (`tasks.parquet`) and a card, in one commit;
- an evaluation (`--eval REPORT_DIR`): one row per trial, and the summary in the card.

The token comes from HF_TOKEN and the endpoint from HF_ENDPOINT (both read by huggingface_hub);
the token is passed to the library only, never written anywhere. A card keeps the configs
metadata that push_to_hub writes and takes our text and tags.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import yaml

CONFIGS = {"sft": "sft.jsonl", "sft_sharegpt": "sft_sharegpt.jsonl", "preference": "preference.jsonl"}


class PushError(RuntimeError):
    """The dataset could not be pushed; the message says why."""


def split_card(text: str) -> tuple[dict, str]:
    if text.startswith("---\n"):
        head, sep, body = text[4:].partition("\n---\n")
        if sep:
            return yaml.safe_load(head) or {}, body
    return {}, text


def join_card(meta: dict, body: str) -> str:
    """A card from its YAML metadata and its Markdown body (the inverse of split_card)."""
    return "---\n" + yaml.safe_dump(meta, sort_keys=False) + "---\n" + body


def _token() -> str:
    token = os.environ.get("HF_TOKEN")
    if not token:
        raise PushError("set HF_TOKEN to a Hugging Face token with write access (HF_ENDPOINT selects another Hub)")
    return token


def _merge_card(api, repo_id: str, ours: str) -> str:
    """Our card, keeping the `configs`/`dataset_info` metadata that push_to_hub wrote on the Hub."""
    remote = api.hf_hub_download(repo_id, "README.md", repo_type="dataset")
    remote_meta, _ = split_card(Path(remote).read_text())
    ours_meta, ours_body = split_card(ours)
    merged = {**ours_meta, **{k: v for k, v in remote_meta.items() if k in ("configs", "dataset_info")}}
    return join_card(merged, ours_body)


def push(folder: Path, repo_id: str, private: bool = True) -> dict[str, int]:
    """Pushes every non-empty config and the card. Returns {config: rows}."""
    import datasets
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    token = _token()
    folder = Path(folder)
    card_path = folder / "README.md"
    if not card_path.is_file() or not (folder / "sft.jsonl").is_file():
        raise PushError(f"{folder} is not an exported dataset (run `termigen export` first)")
    pushed: dict[str, int] = {}
    try:
        for config, filename in CONFIGS.items():
            path = folder / filename
            if not path.is_file() or path.stat().st_size == 0:
                continue
            dataset = datasets.load_dataset("json", data_files=str(path), split="train")
            dataset.push_to_hub(repo_id, config_name=config, private=private, token=token, commit_message=f"Upload {config}")
            pushed[config] = len(dataset)
        api = HfApi(token=token)
        card = _merge_card(api, repo_id, card_path.read_text())
        api.upload_file(path_or_fileobj=card.encode(), path_in_repo="README.md", repo_id=repo_id, repo_type="dataset", commit_message="Dataset card")
    except HfHubHTTPError as exc:
        raise PushError(f"the Hub refused the upload: {exc}") from exc
    return pushed


def push_tasks(out: Path, repo_id: str, private: bool = True) -> int:
    """Uploads a synthesis output folder (tasks, dataset.toml, manifest.json; not its work state),
    the task index and a card in one commit. Returns the number of tasks."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq
    from huggingface_hub import CommitOperationAdd, HfApi
    from huggingface_hub.errors import HfHubHTTPError

    from termigen_harbor.data.task_dataset import TaskDatasetError, index_rows, read_dataset

    token = _token()
    out = Path(out)
    try:
        manifest, rows = read_dataset(out), index_rows(out)
    except TaskDatasetError as exc:
        raise PushError(str(exc)) from exc
    if not rows:
        raise PushError(f"{out} holds no accepted task yet (dataset.toml lists none): nothing to push")
    files = sorted(p for p in out.rglob("*") if p.is_file() and not any(part.startswith(".") for part in p.relative_to(out).parts))
    index = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), index)
    operations = [CommitOperationAdd(path_in_repo=p.relative_to(out).as_posix(), path_or_fileobj=str(p)) for p in files if p.name != "README.md" or p.parent != out]
    operations += [CommitOperationAdd(path_in_repo="tasks.parquet", path_or_fileobj=index.getvalue()),
                   CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=tasks_card(manifest, rows, repo_id).encode())]  # fmt: skip
    try:
        api = HfApi(token=token)
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        api.create_commit(repo_id, operations=operations, repo_type="dataset", commit_message=f"Upload {len(rows)} synthesized tasks")
    except HfHubHTTPError as exc:
        raise PushError(f"the Hub refused the upload: {exc}") from exc
    return len(rows)


def tasks_card(manifest, rows: list[dict], repo_id: str) -> str:
    by_category = Counter(r["category"] or "unknown" for r in rows)
    models = sorted({r["model"] or "unknown" for r in rows})
    meta = {
        "license": "apache-2.0",
        "tags": ["terminal-agents", "harbor", "termigen", "synthetic-tasks"],
        "configs": [{"config_name": "default", "data_files": [{"split": "train", "path": "tasks.parquet"}]}],
    }
    body = [
        f"# {manifest.dataset.name}: terminal tasks for Harbor",
        "",
        manifest.dataset.description or "Terminal tasks synthesized by termigen-harbor.",
        "",
        f"{len(rows)} tasks, each a Harbor task folder (`instruction.md`, `task.toml`, `environment/`, `solution/`, `tests/`) that "
        "passed termigen's gate: the reference solution scores 1, the no-op agent 0, every lazy shortcut 0, an independent solution 1.",
        "",
        f"- by category: {', '.join(f'{k} {v}' for k, v in sorted(by_category.items()))}",
        f"- written by: {', '.join(models)}",
        "- `tasks.parquet`: one row per task (id, category, tier, difficulty, instruction, spec scores, gate results, digest)",
        "- `dataset.toml`: Harbor's dataset manifest, with each task's content digest",
        "",
        "## Use",
        "```bash",
        f"huggingface-cli download --repo-type dataset {repo_id} --local-dir tasks",
        "harbor run -p tasks --agent termigen_harbor.agents:BashAgent -m <model>",
        "```",
    ]
    return join_card(meta, "\n".join(body) + "\n")


def eval_rows(report) -> list[dict]:
    """One row per trial of the report's job: task, run, agent, model, reward, tests, tokens, seconds, error."""
    from termigen_harbor.runner import RunnerError, read_job

    try:
        outcome = read_job(report.job_dir)
    except RunnerError as exc:
        raise PushError(f"the report's job folder is needed for per-trial rows: {exc}") from exc
    return [
        {
            "task": t.task, "run": t.attempt, "trial": t.trial, "agent": t.agent, "model": t.model or report.model, "reward": t.reward,
            "tests": [{"name": x.name, "outcome": x.outcome, "message": x.message} for x in t.tests],
            "input_tokens": t.n_input_tokens, "output_tokens": t.n_output_tokens, "cost_usd": t.cost_usd,
            "agent_seconds": t.durations_sec.get("agent_execution"), "seconds": t.durations_sec.get("total"), "error": t.error_summary(),
        }  # fmt: skip
        for t in sorted(outcome.trials, key=lambda t: (t.task, t.attempt))
    ]


def push_eval(report_dir: Path, repo_id: str, private: bool = True) -> int:
    """Uploads one row per trial of an evaluation and a card with its summary. Returns the rows."""
    import datasets
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError
    from pydantic import ValidationError

    from termigen_harbor.evaluation.evaluate import load_report, markdown

    token = _token()
    try:
        report = load_report(report_dir)
    except (OSError, ValueError, ValidationError) as exc:
        raise PushError(f"{report_dir} is not an evaluation report (`termigen evaluate -o DIR` writes DIR/report.json): {exc}") from exc
    rows = eval_rows(report)
    if not rows:
        raise PushError(f"the job {report.job_dir} holds no trials")
    meta = {"license": "apache-2.0", "tags": ["terminal-agents", "harbor", "termigen", "evaluation"]}
    card = join_card(meta, markdown(report) + "\nOne row per trial: task, run, agent, model, reward, per-test results, tokens, seconds, error.\n")
    try:
        datasets.Dataset.from_list(rows).push_to_hub(repo_id, private=private, token=token, commit_message=f"Upload {len(rows)} trials")
        api = HfApi(token=token)
        api.upload_file(path_or_fileobj=_merge_card(api, repo_id, card).encode(), path_in_repo="README.md", repo_id=repo_id,
                        repo_type="dataset", commit_message="Evaluation card")  # fmt: skip
    except HfHubHTTPError as exc:
        raise PushError(f"the Hub refused the upload: {exc}") from exc
    return len(rows)
