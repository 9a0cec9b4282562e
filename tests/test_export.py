import json
from pathlib import Path

from termigen_harbor.data import export
from termigen_harbor.evaluation import tb1
from termigen_harbor.data.export import (
    DATASET_INFO, benchmark_instructions, benchmark_source, decontaminate, filter_by_pass_ratio, ngrams, preference_pairs,
    row_from_trial, sharegpt, write_dataset, dataset_card,
)  # fmt: skip
from termigen_harbor.testing import INSTRUCTION, make_bundle, planted_trial


def test_a_trajectory_becomes_the_conversation_a_student_sees(tmp_path):
    task = make_bundle("count").write(tmp_path / "tasks")
    row = row_from_trial(planted_trial(tmp_path, "a", "count", 2, 2, task_path=task))
    assert [m["role"] for m in row.messages] == ["system", "user", "assistant", "user", "assistant"]
    assert row.messages[3]["content"].startswith("exit code: 0") and row.instruction == INSTRUCTION
    assert (row.category, row.test_pass_ratio, row.n_injected_errors, row.recoveries, row.steps) == ("data_etl", 1.0, 1, 1, 2)
    share = sharegpt(row)
    assert share["system"] == "SYSTEM PROMPT" and [t["from"] for t in share["conversations"]] == ["human", "gpt", "human", "gpt"]


def test_filtering_keeps_partial_successes_above_the_threshold(tmp_path):
    rows = [row_from_trial(planted_trial(tmp_path, n, "t", p, 4)) for n, p in (("full", 4), ("half", 2), ("quarter", 1), ("none", 0))]
    kept, dropped = filter_by_pass_ratio(rows, 0.5)
    assert [r.id.split("/")[1] for r in kept] == ["full", "half"]
    assert [d.kind for d in dropped] == ["pass_ratio", "pass_ratio"] and "0.25 < 0.50" in dropped[0].reason


def test_decontamination_drops_rows_sharing_a_13_gram_with_the_benchmark(tmp_path):
    bench = {"bench-count": "Please write the number of words in /app/input.txt to /app/count.txt and make sure it is right."}
    clean_instruction = "Summarise the nginx access log by status code into a JSON report at /srv/report.json for the ops team."
    rows = [row_from_trial(planted_trial(tmp_path, "dirty", "t1", 1, 1)), row_from_trial(planted_trial(tmp_path, "clean", "t2", 1, 1, instruction=clean_instruction))]
    kept, dropped = decontaminate(rows, bench)
    assert [r.task for r in kept] == ["t2"]
    assert dropped[0].kind == "contamination" and "bench-count" in dropped[0].reason
    assert len(ngrams("one two three four five six seven eight nine ten eleven twelve")) == 0  # 12 words: no 13-gram
    assert ngrams("A-b c") == set() and ngrams(" ".join(["W"] * 13)) == {tuple(["w"] * 13)}


def test_benchmark_instructions_come_from_harbor_tb_or_text(tmp_path):
    make_bundle("harbor-task").write(tmp_path / "harbor")
    tb = tmp_path / "tb" / "hello-world"
    tb.mkdir(parents=True)
    (tb / "task.yaml").write_text("instruction: |-\n  Create hello.txt with Hello, world!\nauthor_email: x@y.z\n")
    (tmp_path / "list.txt").write_text("first instruction\n\nsecond one\nspans two lines\n")
    assert "count.txt" in benchmark_instructions(tmp_path / "harbor")["harbor-task"]
    assert benchmark_instructions(tmp_path / "tb") == {"hello-world": "Create hello.txt with Hello, world!"}
    assert list(benchmark_instructions(tmp_path / "list.txt").values()) == ["first instruction", "second one\nspans two lines"]


def test_unset_benchmark_and_default_dataset_mean_tb1_where_tb_datasets_download_leaves_it(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert benchmark_source(None) is None  # not downloaded: nothing to decontaminate against (the CLI warns)
    core = tmp_path / ".cache" / "terminal-bench" / "terminal-bench-core" / "0.1.1"
    (core / "hello-world").mkdir(parents=True)
    assert benchmark_source(None) is None  # a folder without tasks is not the benchmark
    (core / "hello-world" / "task.yaml").write_text("instruction: Create hello.txt\n")
    assert benchmark_source(None) == core
    assert benchmark_source("none") is None and benchmark_source("mine.txt") == Path("mine.txt")
    assert tb1.local_copy("terminal-bench-core@0.1.1") == core and tb1.local_copy("other@1.0") is None  # evaluate's default dataset too


def test_export_jobs_filters_decontaminates_pairs_and_says_what_it_dropped(tmp_path, monkeypatch):
    clean = "Summarise the nginx access log by status code into a JSON report at /srv/report.json for the ops team."
    rows = [row_from_trial(planted_trial(tmp_path, n, task, p, 4, instruction=i)) for n, task, p, i in
            (("dirty", "t1", 4, INSTRUCTION), ("good", "t2", 4, clean), ("half", "t2", 2, clean), ("low", "t2", 1, clean))]  # fmt: skip
    empty = row_from_trial(planted_trial(tmp_path, "empty", "t2", 3, 5, instruction=clean))  # 60%, kept by the ratio; as the main job's 1.5B rollouts ended
    rows.append(empty.model_copy(update={"steps": 0, "stop_reason": "critic_rejected", "messages": empty.messages[:2]}))
    echoed = row_from_trial(planted_trial(tmp_path, "echoed", "t2", 4, 4, instruction=clean))  # as run R's 1.5B wrote it, in an assistant turn
    said = [dict(m) if m["role"] != "assistant" else {**m, "content": "My previous attempt was not usable because the command is incomplete.\n" + m["content"]} for m in echoed.messages]
    rows.append(echoed.model_copy(update={"messages": said}))
    monkeypatch.setattr(export, "rows_from_jobs", lambda jobs: (rows, []))
    (tmp_path / "bench.txt").write_text("Please write the number of words in /app/input.txt to /app/count.txt and make sure the file ends with a newline.\n")
    result = export.export_jobs([tmp_path / "job"], tmp_path / "out", 0.5, tmp_path / "bench.txt", "termigen export job -o out")
    assert (result.rows, result.pairs, result.benchmark_instructions) == (2, 1, 1)
    dropped = [json.loads(line) for line in (tmp_path / "out" / "dropped.jsonl").read_text().splitlines()]
    assert sorted((d["id"].split("/")[1], d["kind"]) for d in dropped) == [("dirty", "contamination"), ("echoed", "leak"), ("empty", "empty"), ("low", "pass_ratio")]
    assert next(d["reason"] for d in dropped if d["kind"] == "leak") == 'message 2 gives away how it was made (echoed feedback: "not usable")'
    assert next(d["reason"] for d in dropped if d["kind"] == "empty") == "no agent step (the agent stopped: critic_rejected)"
    assert [json.loads(r)["id"].split("/")[1] for r in (tmp_path / "out" / "sft.jsonl").read_text().splitlines()] == ["good", "half"]
    assert "bench.txt" in (tmp_path / "out" / "README.md").read_text()

    from rich.console import Console

    from termigen_harbor import views

    console = Console(record=True, width=200)
    views.exported(console, result, True, tmp_path / "out")
    printed = console.export_text()
    shown = [line for line in printed.splitlines() if "/good" in line or "/half" in line]
    assert len(shown) == 2 and "100%" in shown[0] and "50%" in shown[1], printed  # the rows kept, with their test pass ratio
    assert "/dirty" not in printed and "/low" not in printed and "/empty" not in printed


def test_preference_pairs_prefer_higher_scores_and_skip_ties(tmp_path):
    rows = [row_from_trial(planted_trial(tmp_path, n, task, p, 4)) for n, task, p in
            (("a1", "A", 4, ), ("a2", "A", 1), ("a3", "A", 3), ("b1", "B", 2), ("b2", "B", 2))]  # fmt: skip
    pairs = preference_pairs(rows)
    assert [(p["chosen_id"].split("/")[1], p["rejected_id"].split("/")[1]) for p in pairs] == [("a1", "a2"), ("a3", "a2")]
    assert pairs[0]["prompt"][1]["content"] == INSTRUCTION and pairs[0]["chosen"][0]["role"] == "assistant"


def test_the_dataset_files_and_card(tmp_path):
    rows = [row_from_trial(planted_trial(tmp_path, "a", "t", 1, 1))]
    card = dataset_card(rows, [], [], "termigen export jobs/x -o out", 0.5, "tb1")
    files = write_dataset(tmp_path / "out", rows, [], card)
    assert {f.name for f in files} == {"sft.jsonl", "sft_sharegpt.jsonl", "preference.jsonl", "dataset_info.json", "README.md"}
    record = json.loads((tmp_path / "out" / "sft.jsonl").read_text().splitlines()[0])
    assert record["messages"][1]["content"] == INSTRUCTION and record["recoveries"] == 1
    assert json.loads((tmp_path / "out" / "dataset_info.json").read_text()) == DATASET_INFO
    text = (tmp_path / "out" / "README.md").read_text()
    assert text.startswith("---\nlicense: apache-2.0") and "termigen export jobs/x -o out" in text and "SFT rows: 1" in text
    assert "realized injection rate 25.0% (1 of 4 steps; p = 0.2)" in text and "Critic acceptance 80%" in text
