"""Which Terminal-Bench 1.x tasks can run here, and why not: probed, never assumed.

A task is left out, with every reason, when
- an image its containers start FROM (every stage, `COPY --from=`, an image a compose service
  pulls) is neither in the engine, nor served by a registry, nor made by a stand-in;
- its build (the Dockerfile and every build-context script a RUN line runs), its solution or its
  tests reach a host that does not answer (`reach.host_answers`), or connect by raw sockets to a
  name that does not resolve;
- its `solution.yaml` types into an interactive program.
On a machine with the internet every host answers and every image is pulled: nothing is left out.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import yaml
from pydantic import BaseModel, Field

from termigen_harbor.images import try_pull
from termigen_harbor.reach import host_answers, host_resolves
from termigen_harbor.standins import recipe_for
from termigen_harbor.evaluation.tb1 import solution_yaml_to_script, tb_task_dirs

UV_INSTALLER_RE = re.compile(r"curl[^\n|]*astral\.sh/uv/[^\n|]*install\.sh\s*\|\s*(ba)?sh")
URL_RE = re.compile(r"(?:https?|ftp|git)://([A-Za-z0-9.{}$_-]+)")
DOWNLOAD_RE = re.compile(
    r"\b(curl|wget|git\s+(clone|fetch|pull|submodule)|pip3?\s+(install|download)|uv\s+(pip|add|tool)|ADD|huggingface-cli|"
    r"hf_hub_download|snapshot_download|from_pretrained|load_dataset|urlretrieve|urlopen|requests\.(get|post|head)|httpx|aiohttp)\b"
)
ENDPOINT_RE = re.compile(r"\b\w*(url|endpoint|host|api|server|mirror|remote)\w*\s*[:=]", re.I)  # URL = "https://..."
SOCKET_RE = re.compile(r"\b(getaddrinfo|gethostbyname|create_connection|socket\.socket|connect_ex|nc|netcat|telnet|ssh)\b")
HOSTNAME_LITERAL_RE = re.compile(r"[\"']([a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,})[\"']")  # "seed.bitcoin.sipa.be"
BARE_HOST_RE = re.compile(r"\b(?:curl|wget)\s+(?:-{1,2}[\w-]+(?:[= ](?!-)\S+)?\s+)*([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)(?=[/:\s\"']|$)")
# Hosts a command reaches without naming them.
IMPLICIT_HOSTS = [
    (re.compile(r"\b(pip3?|uv\s+pip|python3?\s+-m\s+pip)\s+install\b|\buv\s+(add|sync)\b"), "pypi.org"),
    (re.compile(r"\b(npm|yarn|pnpm)\s+(install|add|ci)\b|\bnpx\s"), "registry.npmjs.org"),
    (re.compile(r"\bcargo\s+(install|build|fetch)\b"), "index.crates.io"),
    (re.compile(r"\bgo\s+(get|install|mod\s+download)\b"), "proxy.golang.org"),
    (re.compile(r"\b(conda|mamba)\s+(install|create|env\s+create)\b"), "conda.anaconda.org"),
    (re.compile(r"\bgem\s+install\b"), "rubygems.org"),
    (re.compile(r"\buv\s+python\s+install\b"), "github.com"),
    (re.compile(r"from_pretrained|load_dataset|hf_hub_download|snapshot_download|huggingface-cli|SentenceTransformer\(|\bmteb\s+run\b"), "huggingface.co"),
]
# Top-level domains a bare "name.tld" literal must end in to count as a host (file names end otherwise).
HOST_TLDS = {"com", "org", "net", "io", "dev", "ai", "co", "app", "cloud", "edu", "gov", "info", "biz", "xyz", "tech", "uk", "de", "fr", "be",
             "ch", "nl", "eu", "us", "me", "cn", "jp", "ru", "in", "br", "ca", "au", "se", "no", "fi", "dk", "it", "es", "pl", "cz", "at", "kr", "tw"}  # fmt: skip
MAX_TEXT = 1_000_000  # bytes: bigger files are data, not scripts
RUN_RE = re.compile(r"^\s*RUN\s+((?:.*\\\n)*.*)$", re.M)
COPY_FROM_RE = re.compile(r"^\s*COPY\s+(?:--\S+\s+)*--from=(\S+)", re.I | re.M)
TB_IMAGE_RE = re.compile(r"^ghcr\.io/laude-institute/t-bench/")
FROM_RE = re.compile(r"^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", re.I | re.M)


class ScanResult(BaseModel):
    task: str
    runnable: bool
    reasons: list[str]
    images: list[str] = Field(default_factory=list)  # what its containers start FROM


def service_dockerfiles(task: Path) -> list[tuple[Path, str]]:
    """(build context, Dockerfile name) of each service the task builds, the main one (TB's
    `client`, else the first) first."""
    compose = yaml.safe_load((task / "docker-compose.yaml").read_text()) if (task / "docker-compose.yaml").is_file() else None
    services = list(((compose or {}).get("services") or {}).items())
    services.sort(key=lambda item: item[0] != "client")
    found: list[tuple[Path, str]] = []
    for _name, service in services:
        build = (service or {}).get("build")
        if isinstance(build, dict):
            found.append((task / str(build.get("context", ".")), str(build.get("dockerfile", "Dockerfile"))))
        elif isinstance(build, str):
            found.append((task / build, "Dockerfile"))
    return [(context, dockerfile) for context, dockerfile in (found or [(task, "Dockerfile")]) if (context / dockerfile).is_file()]


def build_texts(task: Path) -> dict[str, str]:
    """The Dockerfile(s) of the task's services, the main one first, and every file of their build
    context that a RUN line names (followed further: a script that runs another script), by path."""
    texts: dict[str, str] = {}
    for context, dockerfile in service_dockerfiles(task):
        files = {p.relative_to(context).as_posix(): p for p in context.rglob("*") if p.is_file() and p.stat().st_size < MAX_TEXT}
        pending = [dockerfile]
        while pending:
            rel = pending.pop()
            key = (context / rel).relative_to(task).as_posix()
            if key in texts:
                continue
            texts[key] = files[rel].read_text(errors="replace")
            run_text = "\n".join(RUN_RE.findall(texts[key])) if rel == dockerfile else texts[key]
            words = set(re.findall(r"[\w./-]+", run_text))
            pending += [name for name in files if name not in pending and any(w == name or w.endswith("/" + name) or w == Path(name).name for w in words)]
    return texts


def needed_images(task: Path) -> list[str]:
    """Images the task's containers start FROM or copy from, and images its compose services pull."""
    needed: list[str] = []
    for name, text in build_texts(task).items():
        if not name.endswith("Dockerfile"):
            continue
        stages: set[str] = set()  # FROM x AS name: later stages may start FROM name
        for image, alias in FROM_RE.findall(text):
            if image.lower() not in stages and image != "scratch" and not image.startswith("$"):
                needed.append(image)
            if alias:
                stages.add(alias.lower())
        needed += [image for image in COPY_FROM_RE.findall(text) if image.lower() not in stages and not image.isdigit()]
    if (task / "docker-compose.yaml").is_file():
        for service in ((yaml.safe_load((task / "docker-compose.yaml").read_text()) or {}).get("services") or {}).values():
            image = (service or {}).get("image")
            if image and not (service or {}).get("build") and "${" not in str(image):
                needed.append(str(image))
    return list(dict.fromkeys(needed))


def image_problem(image: str, local: set[str]) -> str | None:
    """Why `image` cannot be had here, or None: the engine has it, a stand-in makes it, or a registry serves it."""
    if image in local or recipe_for(image) is not None or try_pull(image):
        return None
    return f"base image {image}: no registry serves it here, and there is no offline stand-in for it"


def contacted_hosts(text: str) -> list[str]:
    """Hosts a script (or a program it writes) reaches: URLs on lines that download or that set an
    endpoint (`BASE_URL = "https://..."`), hosts given bare to curl or wget, and the hosts package
    managers and model hubs reach without naming them. Local names (loopback, a compose service:
    one label) are inside the task."""
    hosts: list[str] = []
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        if DOWNLOAD_RE.search(line) or ENDPOINT_RE.search(line):
            hosts += URL_RE.findall(line)
        hosts += BARE_HOST_RE.findall(line)
    hosts += [host for pattern, host in IMPLICIT_HOSTS if pattern.search(text)]
    named = [re.sub(r"^.*[}]", "", h).strip(".") if "{" in h or "$" in h else h for h in hosts]  # api.{NET}.solana.com: solana.com
    return [h for h in dict.fromkeys(named) if _outside(h)]


def _outside(host: str) -> bool:
    """A host outside the task: not loopback, not a compose service (one label), not a placeholder."""
    return "." in host and not host.startswith(("127.", "0.0.0.0")) and not host.endswith((".localhost", ".local", ".")) and "{" not in host


def scan_task(task: Path, local_images: set[str], answers: Callable[[str], bool] = host_answers, resolves: Callable[[str], bool] = host_resolves) -> ScanResult:
    """What would stop the task here: an image nobody can provide, a host that does not answer, an
    interactive solution. Hosts and registries are probed (`answers`), never assumed."""
    reasons: list[str] = []
    images = needed_images(task)
    for image in images:
        if problem := image_problem(image, local_images):
            reasons.append(problem)
    texts = build_texts(task)
    for pattern in ("solution.sh", "solution.yaml", "run-tests.sh", "tests/**/*.sh", "tests/**/*.py"):
        for file in task.glob(pattern):
            if file.is_file() and file.stat().st_size < MAX_TEXT:
                texts[file.relative_to(task).as_posix()] = file.read_text(errors="replace")
    main = service_dockerfiles(task)[:1]
    main_from = FROM_RE.findall((main[0][0] / main[0][1]).read_text(errors="replace")) if main else []
    uv_in_image = bool(main_from) and bool(TB_IMAGE_RE.match(main_from[-1][0]))  # the tests run there; TB stand-ins carry uv
    for name, text in texts.items():
        if UV_INSTALLER_RE.search(text) and not answers("astral.sh"):
            if not uv_in_image:
                reasons.append(f"{name}: downloads uv from astral.sh (not reachable here), and its image does not carry uv")
            text = UV_INSTALLER_RE.sub("", text)
        for host in contacted_hosts(text):
            if not answers(host):
                reasons.append(f"{name}: downloads from {host} (not reachable here)")
        if SOCKET_RE.search(text):
            for host in dict.fromkeys(HOSTNAME_LITERAL_RE.findall(text)):
                if _outside(host) and host.rsplit(".", 1)[-1] in HOST_TLDS and not resolves(host):
                    reasons.append(f"{name}: connects to {host} (its name does not resolve here)")
    if (task / "solution.yaml").exists():
        try:
            solution_yaml_to_script((task / "solution.yaml").read_text())
        except ValueError as exc:
            reasons.append(f"solution.yaml: {exc} (unsupported)")
    return ScanResult(task=task.name, runnable=not reasons, reasons=sorted(set(reasons)), images=images)


def local_images() -> set[str]:
    try:
        import docker

        return {tag for image in docker.from_env(timeout=10).images.list() for tag in image.tags}
    except Exception:  # no engine: nothing is local
        return set()


def scan(source_dir: Path, answers: Callable[[str], bool] = host_answers, resolves: Callable[[str], bool] = host_resolves) -> list[ScanResult]:
    local = local_images()
    return [scan_task(src, local, answers, resolves) for src in tb_task_dirs(source_dir)]
