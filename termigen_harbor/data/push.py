"""`termigen push`: an exported dataset to the Hugging Face Hub with `datasets.push_to_hub`.

The token comes from HF_TOKEN and the endpoint from HF_ENDPOINT (both read by huggingface_hub);
the token is passed to the library only, never written anywhere. Each JSONL file becomes a
config (sft, sft_sharegpt, preference); the card (README.md) keeps the configs metadata that
push_to_hub writes and takes our text and tags.
"""

from __future__ import annotations

import os
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


def push(folder: Path, repo_id: str, private: bool = True) -> dict[str, int]:
    """Pushes every non-empty config and the card. Returns {config: rows}."""
    import datasets
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    token = os.environ.get("HF_TOKEN")
    if not token:
        raise PushError("set HF_TOKEN to a Hugging Face token with write access (HF_ENDPOINT selects another Hub)")
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
        remote = api.hf_hub_download(repo_id, "README.md", repo_type="dataset")
        remote_meta, _ = split_card(Path(remote).read_text())
        ours_meta, ours_body = split_card(card_path.read_text())
        merged = {**ours_meta, **{k: v for k, v in remote_meta.items() if k in ("configs", "dataset_info")}}
        card = "---\n" + yaml.safe_dump(merged, sort_keys=False) + "---\n" + ours_body
        api.upload_file(path_or_fileobj=card.encode(), path_in_repo="README.md", repo_id=repo_id, repo_type="dataset", commit_message="Dataset card")
    except HfHubHTTPError as exc:
        raise PushError(f"the Hub refused the upload: {exc}") from exc
    return pushed
