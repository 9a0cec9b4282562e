"""Terminal-Bench 1.x tasks (our own fixtures in TB's format) converted and evaluated offline."""

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

import pytest
import yaml

from termigen_harbor import reach
from termigen_harbor.evaluation import tb1
from termigen_harbor.evaluation import tb_scan
from termigen_harbor.bundle import harbor_accepts
from termigen_harbor.validate import harbor_lint_findings

from loopback import LoopbackServer, respond

FIXTURES = Path(__file__).parent / "fixtures" / "tb1"


def test_plain_solution_yaml_becomes_solve_sh_and_interactive_is_refused():
    script = tb1.solution_yaml_to_script((FIXTURES / "count-csv-rows" / "solution.yaml").read_text())
    assert script.splitlines()[2:] == ["cd /app", "tail -n +2 data.csv | wc -l > rows.txt"]
    for steps in ("- command: vim /app/x\n", "- command: sqlite3\n", "- command: 'C-c'\n  append_enter: false\n", "- command: ls\n  append_enter: false\n"):
        with pytest.raises(ValueError):
            tb1.solution_yaml_to_script(steps)
    assert tb1.solution_yaml_to_script("- command: python3 script.py --fast\n").endswith("python3 script.py --fast\n")
    # a program that runs a script, or a pager sent to cat, is not interactive
    assert tb1.solution_yaml_to_script("- command: python solution.py\n- command: man -P cat rencrypt\n").endswith("man -P cat rencrypt\n")


def test_conversion_uses_harbor_migrate_and_fixes_what_it_leaves(tmp_path):
    results = {c.task: c for c in tb1.convert(FIXTURES, tmp_path / "out")}
    assert results["vim-edit-config"].status == "unsupported" and "vim" in results["vim-edit-config"].reason
    for name in ("hello-file", "count-csv-rows", "fetch-from-server"):
        assert results[name].status == "converted" and harbor_accepts(results[name].target), name
    compose = yaml.safe_load((tmp_path / "out" / "fetch-from-server" / "environment" / "docker-compose.yaml").read_text())
    main = compose["services"]["main"]
    assert main["environment"] == ["TEST_DIR=/tests"] and "deploy" not in main
    assert all("container_name" not in s for s in compose["services"].values())
    assert "${" not in json.dumps({k: v for k, v in main.items() if k not in ("build", "image")})
    assert (tmp_path / "out" / "count-csv-rows" / "solution" / "solve.sh").read_text().startswith("#!/bin/bash")
    assert "reward.txt" in (tmp_path / "out" / "hello-file" / "tests" / "test.sh").read_text()
    # Converted tasks pass Harbor's own lint: TB's protocol keeps the verifier in the agent's
    # container, and task.toml says why, as Harbor's lint accepts.
    for name in ("hello-file", "count-csv-rows", "fetch-from-server"):
        assert harbor_lint_findings(results[name].target) == [], name
        config = tomllib.loads((results[name].target / "task.toml").read_text())
        assert config["verifier"]["environment_mode"] == "shared"
        assert "Terminal-Bench" in config["metadata"]["lint_ignore_reasons"]["shared-verifier"]


# This machine's network, as the tests see it: the package index answers, nothing else does.
OFFLINE = {"pypi.org"}.__contains__


def test_the_scan_says_what_cannot_run_here_and_why():
    results = {r.task: r for r in tb_scan.scan(FIXTURES, answers=OFFLINE, resolves=OFFLINE)}
    assert results["download-model"].reasons == ["Dockerfile: downloads from models.example.invalid (not reachable here)"]
    # a script the Dockerfile runs is read too, not only the Dockerfile
    assert results["clone-in-setup"].reasons == ["setup.sh: downloads from git.example.invalid (not reachable here)"]
    # an image a compose service pulls is needed too
    assert results["sidecar-image"].reasons == [
        "base image registry.example.invalid/tb/keyvalue-db:1.4: no registry serves it here, and there is no offline stand-in for it"
    ]
    assert any("unsupported" in reason for reason in results["vim-edit-config"].reasons)
    assert {"count-csv-rows", "hello-file"} <= {name for name, r in results.items() if r.runnable}
    assert results["fetch-from-server"].images == ["ghcr.io/laude-institute/t-bench/python-3-13:20250620", "python:3.13-slim-bookworm"]


def test_the_scan_probes_hosts_it_does_not_assume_them():
    """Where the internet answers, the same tasks run: nothing is left out by a fixed list."""
    online = {r.task: r for r in tb_scan.scan(FIXTURES, answers=lambda _host: True, resolves=lambda _host: True)}
    assert online["download-model"].runnable and online["clone-in-setup"].runnable
    no_pypi = {r.task: r for r in tb_scan.scan(FIXTURES, answers=lambda _host: False, resolves=lambda _host: False)}
    assert "run-tests.sh: downloads from pypi.org (not reachable here)" in no_pypi["count-csv-rows"].reasons


class StubProxy(BaseHTTPRequestHandler):
    """An HTTP proxy on loopback that stands in for the internet: it reaches models.example.invalid only."""

    def do_GET(self):
        host = urlsplit(self.path).hostname
        respond(self, 200 if host == "models.example.invalid" else 502, b"stub")

    do_HEAD = do_GET

    def do_CONNECT(self):  # HTTPS: no tunnel anywhere
        respond(self, 502, b"")

    def log_message(self, *args):
        pass


def test_the_probe_asks_the_network_through_its_proxy(monkeypatch):
    with LoopbackServer(StubProxy) as proxy:
        for var in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"):
            monkeypatch.setenv(var, proxy.url)
        for var in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(var, raising=False)
        reach.url_answers.cache_clear()
        try:
            assert reach.host_answers("models.example.invalid") and not reach.host_answers("git.example.invalid")
            in_engine = {"ghcr.io/laude-institute/t-bench/python-3-13:20250620"}  # the image is no question here
            result = tb_scan.scan_task(FIXTURES / "download-model", in_engine, answers=reach.host_answers)
            assert "models.example.invalid" not in " ".join(result.reasons)
            result = tb_scan.scan_task(FIXTURES / "clone-in-setup", in_engine, answers=reach.host_answers)
            assert "setup.sh: downloads from git.example.invalid (not reachable here)" in result.reasons
        finally:
            reach.url_answers.cache_clear()


def test_hosts_are_found_where_scripts_reach_them():
    text = (
        "curl -fsSL example.com > /app/page.html\n"
        "# wget https://commented.example.org/x\n"
        'RPC_ENDPOINT = f"https://api.{NETWORK}.solana.com"\n'
        'CHECK = "https://www.iana.org/domains/example"  # a string the tests compare, not a download\n'
        "curl http://localhost:8000/ http://server:8000/\n"
        "pip install requests==2.32.4\n"
    )
    assert tb_scan.contacted_hosts(text) == ["example.com", "solana.com", "pypi.org"]


ISSUE_VARIANTS = ["blind-maze-explorer-algorithm.easy", "blind-maze-explorer-algorithm.hard", "crack-7z-hash.easy", "crack-7z-hash.hard", "eval-mteb.hard",
                  "incompatible-python-fasttext.base_with_hint", "pytorch-model-cli.easy", "pytorch-model-cli.hard", "raman-fitting.easy", "sanitize-git-repo.hard"]  # fmt: skip
TERMIGEN = str(Path(sys.executable).with_name("termigen"))


def test_the_tb1_manifest_is_80_tasks_70_base_and_the_10_named_variants():
    manifest = tb1.core_manifest()
    assert manifest.label == "terminal-bench-core@0.1.1"
    assert manifest.source["commit"] == "91e10457b5410f16c44364da1a34cb6de8c488a5"
    assert len(manifest.task_ids) == len(set(manifest.task_ids)) == 80
    assert manifest.variants == ISSUE_VARIANTS == sorted(t for t in manifest.task_ids if "." in t)
    assert all(v.split(".")[0] in manifest.task_ids for v in manifest.variants)  # every variant's base task is in it too
    assert all(re.fullmatch(r"[a-z0-9-]+(\.[a-z_]+)?", t) for t in manifest.task_ids)


def test_coverage_says_how_much_of_the_benchmark_a_folder_is():
    manifest = tb1.core_manifest()
    assert tb1.coverage(["hello-file", "count-csv-rows"], manifest) is None  # not the benchmark at all: nothing to say
    cov = tb1.coverage(["hello-world", "fix-git", "my-own-task"], manifest)
    assert (cov.present, cov.extra, len(cov.missing), cov.complete) == (["fix-git", "hello-world"], ["my-own-task"], 78, False)
    assert "fix-git" not in cov.missing and "oom" in cov.missing
    assert tb1.coverage(manifest.task_ids, manifest).complete


def test_the_default_dataset_failing_offline_says_how_to_fetch_it(tmp_path):
    proc = subprocess.run([TERMIGEN, "evaluate", "-a", "oracle", "--dataset", "terminal-bench-core@9.9.9", "--jobs-dir", str(tmp_path / "jobs"), "-o", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)  # fmt: skip
    out = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode == 2, out
    assert "registry lookup of terminal-bench-core@9.9.9 failed" in out
    assert "pip install 'termigen-harbor[tb]'" in out and "tb datasets download --dataset terminal-bench-core==0.1.1" in out
    assert "Traceback" not in out


@pytest.mark.docker
@pytest.mark.parametrize("agent, expected", [("oracle", 1.0), ("nop", 0.0)])
def test_evaluate_runs_the_runnable_tb_tasks_offline(docker_engine, tmp_path, agent, expected):
    dataset = tmp_path / "tb1"
    shutil.copytree(FIXTURES, dataset)
    (dataset / "hello-file").rename(dataset / "hello-world")  # named as a TerminalBench 1.0 task: the report must not pass it off as TB 1.0
    proc = subprocess.run([TERMIGEN, "evaluate", "--dataset", str(dataset), "-a", agent, "--runs", "1", "-n", "2",
                           "--jobs-dir", str(tmp_path / "jobs"), "-o", str(tmp_path / "report")],
                          capture_output=True, text=True, timeout=1200)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert sorted(report["not_runnable"]) == ["clone-in-setup", "download-model", "sidecar-image", "vim-edit-config"]
    assert {row["task"]: row["rewards"][0] for row in report["tasks"]} == {t: expected for t in ("count-csv-rows", "fetch-from-server", "hello-world")}
    assert report["n_errors"] == 0 and report["average_pass_at_1"] == expected
    md = (tmp_path / "report" / "report.md").read_text()
    assert "left out of the denominator (4)" in md
    # no registry serves TB's images here: the report says which stand-ins ran and how they differ
    standin = report["standins"]["ghcr.io/laude-institute/t-bench/python-3-13:20250620"]
    assert any("CPython 3.13" in d for d in standin) and "Offline stand-ins for images no registry served here" in md
    assert report["coverage"]["present"] == ["hello-world"] and len(report["coverage"]["missing"]) == 79
    assert report["coverage"]["extra"] == ["clone-in-setup", "count-csv-rows", "download-model", "fetch-from-server", "sidecar-image", "vim-edit-config"]
    assert "holds 1 of the 80 tasks of terminal-bench-core@0.1.1; this is not a terminal-bench-core@0.1.1 score" in md


class StubRegistry(BaseHTTPRequestHandler):
    """A Docker registry (distribution API v2) on loopback serving one image from an OCI layout:
    it stands in for a registry that answers."""

    layout: Path

    def do_GET(self):
        parts = self.path.strip("/").split("/")
        if parts == ["v2"]:
            return respond(self, 200, b"{}")
        index = json.loads((self.layout / "index.json").read_text())
        manifest = index["manifests"][0]
        if len(parts) >= 4 and parts[-2] == "manifests":
            body = (self.layout / "blobs" / "sha256" / manifest["digest"].split(":")[1]).read_bytes()
            return respond(self, 200, body, manifest["mediaType"], {"Docker-Content-Digest": manifest["digest"]})
        if len(parts) >= 4 and parts[-2] == "blobs":
            blob = self.layout / "blobs" / "sha256" / parts[-1].split(":")[1]
            return respond(self, 200, blob.read_bytes(), "application/octet-stream") if blob.is_file() else respond(self, 404, b"")
        respond(self, 404, b"")

    do_HEAD = do_GET

    def log_message(self, *args):
        pass


@pytest.mark.docker
def test_an_image_a_registry_serves_is_pulled_and_the_task_runs(docker_engine, tmp_path):
    """The scan probes registries too: an image nobody makes here is fine when a registry serves it."""
    import docker

    client = docker.from_env()
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "db.txt").write_text("a key-value database stand-in\n")
    subprocess.run(["tar", "-C", str(tmp_path / "root"), "-cf", str(tmp_path / "image.tar"), "."], check=True)
    client.api.import_image_from_file(str(tmp_path / "image.tar"), repository="termigen-test/keyvalue-db", tag="1.4")
    (tmp_path / "saved.tar").write_bytes(b"".join(client.images.get("termigen-test/keyvalue-db:1.4").save()))
    client.images.remove("termigen-test/keyvalue-db:1.4", force=True)
    (tmp_path / "layout").mkdir()
    subprocess.run(["tar", "-C", str(tmp_path / "layout"), "-xf", str(tmp_path / "saved.tar")], check=True)
    StubRegistry.layout = tmp_path / "layout"
    with LoopbackServer(StubRegistry) as registry:
        image = f"{registry.url.removeprefix('http://')}/tb/keyvalue-db:1.4"
        task = tmp_path / "sidecar-image"
        shutil.copytree(FIXTURES / "sidecar-image", task)
        compose = task / "docker-compose.yaml"
        compose.write_text(compose.read_text().replace("registry.example.invalid/tb/keyvalue-db:1.4", image))
        in_engine = {"ghcr.io/laude-institute/t-bench/python-3-13:20250620"}
        try:
            result = tb_scan.scan_task(task, in_engine, answers=OFFLINE, resolves=OFFLINE)
            assert result.runnable, result.reasons
            assert client.images.get(image)  # pulled from the registry that answered
        finally:
            client.images.remove(image, force=True)
    result = tb_scan.scan_task(task, in_engine, answers=OFFLINE, resolves=OFFLINE)  # the registry is gone
    assert result.reasons == [f"base image {image}: no registry serves it here, and there is no offline stand-in for it"]
