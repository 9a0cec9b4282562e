import subprocess
import sys

import pytest
from pydantic import BaseModel

from termigen_harbor.llm import LLM, Budget, BudgetExceeded, Completion, FatalError, RetryableError, RetryPolicy, ScriptedBackend, StructuredOutputError, Usage
from termigen_harbor.llm.registry import make_backend, parse_model
from termigen_harbor.llm.fenced import blocks, fence_for, file_text
from termigen_harbor.llm.structured import closed_json, extract_json

FAST = RetryPolicy(max_retries=2, base_delay_s=0.001, max_delay_s=0.01)


class Plan(BaseModel):
    steps: list[str]


async def test_scripted_replies_come_in_order_and_requests_are_recorded():
    backend = ScriptedBackend(["first", "second"])
    llm = LLM(backend)
    assert (await llm.chat("a")).text == "first"
    assert (await llm.chat([{"role": "user", "content": "b"}], max_tokens=7)).text == "second"
    assert [r.messages[-1].content for r in backend.requests] == ["a", "b"] and backend.requests[1].max_tokens == 7
    with pytest.raises(Exception, match="no reply for request 3"):
        await llm.chat("c")


async def test_a_function_of_the_request_can_script_replies():
    llm = LLM(ScriptedBackend(lambda req: req.messages[-1].content.upper()))
    assert (await llm.chat("echo")).text == "ECHO"


async def test_retryable_errors_are_retried_up_to_the_limit_then_raised():
    backend = ScriptedBackend([RetryableError("503"), RetryableError("503"), RetryableError("503"), "late"])
    llm = LLM(backend, retry=FAST)
    with pytest.raises(RetryableError, match="gave up after 3 attempts"):
        await llm.chat("x")
    assert len(backend.requests) == 3 and not any(r.ok for r in llm.records)


async def test_fatal_errors_are_not_retried():
    backend = ScriptedBackend([FatalError("401 bad key"), "never"])
    with pytest.raises(FatalError):
        await LLM(backend, retry=FAST).chat("x")
    assert len(backend.requests) == 1


def test_backoff_grows_and_honours_retry_after():
    policy = RetryPolicy(base_delay_s=1.0, max_delay_s=30.0)
    assert 0.5 <= policy.delay(0, None) <= 1.0 and 4.0 <= policy.delay(3, None) <= 8.0
    assert policy.delay(0, retry_after=12) == 12 and policy.delay(10, None) <= 30


async def test_structured_output_gives_up_with_the_raw_text():
    backend = ScriptedBackend(["not json", '{"steps": "one"}', "still nothing"])
    with pytest.raises(StructuredOutputError) as err:
        await LLM(backend).structured("plan it", Plan)
    assert err.value.raw_text == "still nothing" and len(backend.requests) == 3
    assert "steps: Input should be a valid list" in backend.requests[2].messages[-1].content
    assert backend.requests[0].json_schema == Plan.model_json_schema()


async def test_a_reply_the_token_limit_cut_off_is_read_as_far_as_it_got():
    """The 1.5B Judge pasted test output into its reason until the limit cut the reply: the verdict
    it had given stands. The same text not cut off is asked again."""
    cut = '{"steps": ["build it", "run the tests on /app/out.txt: AssertionError: assert False\\n  where'
    backend = ScriptedBackend([Completion(text=cut, model="m", usage=Usage(), finish_reason="length"), Completion(text=cut, model="m", usage=Usage(), finish_reason="stop"), '{"steps": []}'])
    llm = LLM(backend)
    assert (await llm.structured("plan it", Plan)).steps == ["build it", "run the tests on /app/out.txt: AssertionError: assert False\n  where"]
    assert (await llm.structured("plan it", Plan)).steps == [] and len(backend.requests) == 3


@pytest.mark.parametrize(("cut", "closed"), [
    ('{"a": 1, "b": [1, 2', {"a": 1, "b": [1, 2]}),
    ('{"a": 1, "b": "tw', {"a": 1, "b": "tw"}),
    ('{"a": 1, "b": "ends in \\', {"a": 1, "b": "ends in "}),
    ('{"a": 1, "b":', {"a": 1}),
    ('{"a": 1, "b" :  ', {"a": 1}),
    ('{"a": 1,', {"a": 1}),
    ('{"a": 1, "b', {"a": 1}),
    ('Here: ```json\n{"a": {"b": [{"c": "d"', {"a": {"b": [{"c": "d"}]}}),
])  # fmt: skip
def test_a_cut_off_json_value_is_closed_where_it_stopped(cut, closed):
    assert closed_json(cut) == closed


@pytest.mark.parametrize("cut", ["no json", '{"a": tr', '{"a": 1} trailing', "[" * 100_000], ids=["none", "literal", "complete", "deep"])
def test_a_cut_off_reply_that_cannot_be_closed_says_so(cut):
    with pytest.raises(ValueError):
        closed_json(cut)


async def test_usd_budget_and_unknown_costs():
    priced = Completion(text="x", model="m", usage=Usage(input_tokens=1, output_tokens=1, cost_usd=0.6))
    llm = LLM(ScriptedBackend([priced, priced, priced]), budget=Budget(max_usd=1.0))
    await llm.chat("a")
    await llm.chat("b")
    with pytest.raises(BudgetExceeded, match="USD budget"):
        await llm.chat("c")
    assert llm.usage.cost_usd == pytest.approx(1.2)
    assert (Usage(cost_usd=None) + Usage(cost_usd=None)).cost_usd is None


async def test_a_usd_budget_stops_a_model_whose_price_is_unknown_and_a_token_budget_stops_any():
    unpriced = Completion(text="x", model="hosted_vllm/my-finetune", usage=Usage(input_tokens=10, output_tokens=10, cost_usd=None))
    llm = LLM(ScriptedBackend([unpriced, unpriced]), budget=Budget(max_usd=5.0))
    await llm.chat("a")
    with pytest.raises(BudgetExceeded, match="price of hosted_vllm/my-finetune is unknown; use a token budget"):
        await llm.chat("b")
    llm = LLM(ScriptedBackend([unpriced] * 3), budget=Budget(max_tokens=40))
    await llm.chat("a")
    await llm.chat("b")
    with pytest.raises(BudgetExceeded, match="token budget spent: 40 of 40"):
        await llm.chat("c")


async def test_a_time_budget_stops_the_next_call_once_the_minutes_are_spent():
    budget = Budget(max_seconds=600)
    llm = LLM(ScriptedBackend(["x", "y"]), budget=budget)
    await llm.chat("a")
    budget.started -= 601  # ten minutes later
    with pytest.raises(BudgetExceeded, match=r"time budget spent: 10.0 of 10 minutes"):
        await llm.chat("b")


@pytest.mark.parametrize("text, expected", [
    ('{"a": 1}', {"a": 1}),
    ('Here it is:\n```json\n{"a": [1, 2]}\n```\nDone.', {"a": [1, 2]}),
    ('I think {"a": "brace } inside"} is right', {"a": "brace } inside"}),
    ('[1, 2, 3] trailing', [1, 2, 3]),
    ('{ "feedback": "Too big.\n2. **Specify** an output", "score": 3 }', {"feedback": "Too big.\n2. **Specify** an output", "score": 3}),  # a raw line break in a string (the 1.5B)
])  # fmt: skip
def test_json_is_found_in_realistic_replies(text, expected):
    assert extract_json(text) == expected


def test_no_json_is_a_value_error():
    with pytest.raises(ValueError):
        extract_json("I cannot do that.")


def test_model_strings_choose_the_backend(monkeypatch):
    from termigen_harbor.llm.anthropic_backend import AnthropicBackend
    from termigen_harbor.llm.litellm_backend import LiteLLMBackend
    from termigen_harbor.llm.local_backend import LocalBackend
    from termigen_harbor.llm.registry import default_model

    monkeypatch.delenv("TERMIGEN_MODEL", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    assert default_model() == "local"
    assert isinstance(make_backend("local"), LocalBackend) and make_backend("local").model == "local/qwen2.5-coder-1.5b"
    assert make_backend("local/qwen2.5-coder-0.5b").model == "local/qwen2.5-coder-0.5b"
    critic = make_backend("local/qwen2.5-coder-1.5b", role="critic")
    assert (critic.key, critic.instance) == ("qwen2.5-coder-1.5b", "critic")
    assert [parse_model(m).provider for m in ("local", "claude-sonnet-4-6", "scripted:r.json", "openai/gpt-4o", "localhost/x")] == [
        "local", "anthropic", "scripted", "litellm", "litellm"]  # fmt: skip
    assert isinstance(make_backend("hosted_vllm/my-ft-model", api_base="http://127.0.0.1:8000/v1"), LiteLLMBackend)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    assert default_model() == "claude-sonnet-4-6"
    assert isinstance(make_backend(None), AnthropicBackend) and isinstance(make_backend("anthropic/claude-opus-4-1"), AnthropicBackend)
    monkeypatch.setenv("TERMIGEN_MODEL", "openai/gpt-4o")
    assert default_model() == "openai/gpt-4o"


def test_importing_the_package_makes_no_network_call():
    probe = (
        "import socket\n"
        "def refuse(*a, **k):\n    raise SystemExit(f'network use at import: {a[:2]}')\n"
        "socket.socket.connect = refuse\nsocket.getaddrinfo = refuse\n"
        "import termigen_harbor.cli, termigen_harbor.runner, termigen_harbor.validate, termigen_harbor.llm\n"
        "import termigen_harbor.llm.litellm_backend, termigen_harbor.llm.local_backend, litellm\n"
        "import os; assert os.environ['HARBOR_TELEMETRY'] == '0' and os.environ['LITELLM_LOCAL_MODEL_COST_MAP'] == 'True'\n"
        "print('clean')\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("LITELLM_LOCAL_MODEL_COST_MAP", "HARBOR_TELEMETRY")}
    proc = subprocess.run([sys.executable, "-W", "ignore", "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "clean", proc.stderr[-2000:]


@pytest.mark.parametrize("reply, expected", [
    ("```bash\necho hi\n```", "echo hi\n"),
    ("Usage:\n```\nrun it\n```\nThe file:\n```python\nimport sys\nprint(sys.argv)\n```\nDone.", "import sys\nprint(sys.argv)\n"),
    ("````markdown\n# Notes\n```\ncode\n```\n````", "# Notes\n```\ncode\n```\n"),  # a longer fence quotes a shorter one
    ("~~~\nx = '```'\n~~~", "x = '```'\n"),
])  # fmt: skip
def test_a_file_is_the_raw_text_of_its_fenced_block(reply, expected):
    assert file_text(reply) == expected


async def test_a_file_whose_reply_the_model_ended_before_the_closing_fence_is_used_and_one_cut_off_is_asked_again():
    script = "```bash\n#!/bin/bash\ncp /app/a.conf /app/b.conf\n"
    ended = Completion(text=script, model="m", usage=Usage(), finish_reason="stop")
    cut_off = Completion(text=script, model="m", usage=Usage(), finish_reason="length")
    assert await LLM(ScriptedBackend([ended])).file("write it") == "#!/bin/bash\ncp /app/a.conf /app/b.conf\n"
    # run O: a config file opened with four backticks and closed with three; the model ended the reply
    shorter = Completion(text="````\n# config\nvariable1 = 2.5\n```", model="m", usage=Usage(), finish_reason="stop")
    assert await LLM(ScriptedBackend([shorter])).file("write it") == "# config\nvariable1 = 2.5\n"
    quoting = Completion(text="````markdown\nUse:\n```\nmake\n```\nthen run it\n", model="m", usage=Usage(), finish_reason="stop")
    assert await LLM(ScriptedBackend([quoting])).file("write it") == "Use:\n```\nmake\n```\nthen run it\n"  # a fence inside, text after it: kept
    backend = ScriptedBackend([cut_off, "```bash\ntrue\n```"])
    assert await LLM(backend).file("write it") == "true\n"
    assert "never closed (was the reply cut off?)" in backend.requests[1].messages[-1].content
    stuck = Completion(text="```bash\n" + "echo 1\n" * 20, model="m", usage=Usage(), finish_reason="stop")
    with pytest.raises(StructuredOutputError, match="repeats the line `echo 1`"):
        await LLM(ScriptedBackend([stuck] * 3)).file("write it")


def test_blocks_keep_the_note_above_them_and_a_fence_can_quote_any_text():
    found = blocks("Idea: fake it\n```bash\necho 3\n```\nIdea: skip\n```bash\ntrue\n```")
    assert [(b.note, b.body) for b in found] == [("Idea: fake it", "echo 3\n"), ("Idea: skip", "true\n")]
    text = "a\n````\nb\n````\n"
    assert file_text(f"{fence_for(text)}\n{text}{fence_for(text)}") == text
    with pytest.raises(ValueError, match="never closed"):
        blocks("```python\nprint(1)\n")
