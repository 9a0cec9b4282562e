"""Images tasks start FROM, made here when no registry serves them.

Real first: an image already in the engine, or one a registry serves (`docker pull`), is used as
it is. Otherwise it is built from a `Recipe`: a Dockerfile template on top of other images, down to
a root filesystem that debootstrap makes from a distribution's archive (`Rootfs`) and `docker
import` loads. Our own base image (`termigen/base:bookworm`) is such a recipe; so are the
stand-ins for the images Terminal-Bench tasks name (`termigen_harbor.standins`), each of which
lists what differs from the image it replaces.

Every built image carries a label with the hash of its recipe (and of the host CA certificates it
copies), so an image that is up to date is left alone and one whose recipe changed is rebuilt.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

import docker
import docker.errors
import docker.utils
from pydantic import BaseModel

from termigen_harbor.reach import url_answers

RECIPE_LABEL = "org.termigen.recipe"
DEBOOTSTRAP = "debootstrap"  # the recipe label of a root filesystem we made
BASE_IMAGE = "termigen/base:bookworm"
HOST_CA_DIR = Path("/usr/local/share/ca-certificates")
PULL_TIMEOUT_SEC = 120
UBUNTU_ARCHIVE = "http://archive.ubuntu.com/ubuntu"
# The Ubuntu archive's signing keys, from noble's ubuntu-keyring package (hash-pinned).
UBUNTU_KEYRING_DEB = ("pool/main/u/ubuntu-keyring/ubuntu-keyring_2023.11.28.1_all.deb", "36de43b15853ccae0028e9a767613770c704833f82586f28eb262f0311adb8a8")
UBUNTU_KEYRING = "usr/share/keyrings/ubuntu-archive-keyring.gpg"
UBUNTU_VERSIONS = {"20.04": "focal", "22.04": "jammy", "24.04": "noble"}


class ImageError(RuntimeError):
    """An image could not be made; the message says why and what to do."""


@dataclass(frozen=True)
class Rootfs:
    """A distribution's minimal root filesystem, imported as `termigen/<distro>-rootfs:<suite>`."""

    distro: Literal["debian", "ubuntu"]
    suite: str

    @property
    def image(self) -> str:
        return f"termigen/{self.distro}-rootfs:{self.suite}"

    @property
    def official(self) -> str:
        """The registry image with the same content, pulled when a registry answers."""
        if self.distro == "debian":
            return f"debian:{self.suite}-slim"
        return "ubuntu:" + next((v for v, s in UBUNTU_VERSIONS.items() if s == self.suite), self.suite)

    @property
    def archive(self) -> str:
        return debian_mirror() if self.distro == "debian" else UBUNTU_ARCHIVE

    def differences(self) -> list[str]:
        return [f"{self.distro} {self.suite} made by debootstrap (minbase) from {self.archive}, not the registry's {self.official} build"]


ROOTFS = Rootfs("debian", "bookworm")
ROOTFS_IMAGE = ROOTFS.image


@dataclass(frozen=True)
class Recipe:
    """How to build image `name`: a Dockerfile template whose {placeholders} `fill` replaces, the
    images it starts FROM (`bases`, made first), and what differs from the real image, if any."""

    name: str
    template: str
    fill: tuple[tuple[str, str], ...] = ()
    bases: tuple[str, ...] = ()
    differences: tuple[str, ...] = ()
    ubuntu_keyring: bool = False  # the build context gets the Ubuntu archive keyring
    rootfs: tuple[Rootfs, ...] = field(default=(), compare=False)  # bases that are root filesystems

    def render(self) -> str:
        text = self.template
        for key, value in self.fill:
            text = text.replace("{" + key + "}", value)
        return text


def dockerfile_template(name: str) -> str:
    return resources.files("termigen_harbor.images_data").joinpath(name).read_text()


def on_rootfs(name: str, template: str, rootfs: Rootfs = ROOTFS, fill: tuple[tuple[str, str], ...] = (), **kwargs) -> Recipe:
    """A recipe whose {rootfs} is a root filesystem image."""
    return Recipe(name, template, fill=(("rootfs", rootfs.image), *fill), bases=(rootfs.image,), rootfs=(rootfs,), **kwargs)


BASE_IMAGES: tuple[Recipe, ...] = (on_rootfs(BASE_IMAGE, dockerfile_template("base.Dockerfile")),)


class Provided(BaseModel):
    """How an image came to be in the engine, and what differs from the real one (empty: it is the real one)."""

    image: str
    how: Literal["present", "pulled", "up to date", "built", "debootstrap"]
    differences: list[str] = []


# ---------------------------------------------------------------------- machinery
def host_ca_certificates() -> list[Path]:
    return sorted(HOST_CA_DIR.glob("*.crt")) if HOST_CA_DIR.is_dir() else []


def recipe_hash(recipe: Recipe, certs: list[Path]) -> str:
    digest = hashlib.sha256(recipe.render().encode())
    for cert in certs:
        digest.update(cert.name.encode() + b"\0" + cert.read_bytes())
    return digest.hexdigest()[:16]


def docker_client(timeout: int = 600) -> docker.DockerClient:
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except docker.errors.DockerException as exc:
        raise ImageError(f"no Docker engine answers ({exc}). Run scripts/provision.sh, or start your Docker engine.") from exc
    return client


def image_label(client: docker.DockerClient, name: str) -> str | None:
    """Our recipe label of a local image: None when absent, "" when the image is not one of ours."""
    try:
        return (client.images.get(name).labels or {}).get(RECIPE_LABEL, "")
    except docker.errors.ImageNotFound:
        return None


def debian_mirror() -> str:
    sources = Path("/etc/apt/sources.list.d/debian.sources")
    if sources.exists():
        for line in sources.read_text().splitlines():
            if line.startswith("URIs:") and line.rstrip("/").endswith("debian"):
                return line.split()[1].rstrip("/")
    return "http://deb.debian.org/debian"


def try_pull(name: str) -> bool:
    """Pulls `name` when a registry serves it (a probe: fails fast when none answers)."""
    repository, tag = docker.utils.parse_repository_tag(name)
    try:  # a name without a tag means :latest (the SDK would pull every tag)
        docker.from_env(timeout=PULL_TIMEOUT_SEC).images.pull(repository, tag=tag or "latest")
    except Exception:  # no registry, unknown image, timeout: all mean "not from a registry"
        return False
    return True


@cache
def ubuntu_keyring(cache_dir: Path = Path.home() / ".cache" / "termigen") -> Path:
    """The Ubuntu archive keyring, from the hash-pinned ubuntu-keyring package of the archive."""
    target = cache_dir / "ubuntu-archive-keyring.gpg"
    if target.is_file():
        return target
    path, sha256 = UBUNTU_KEYRING_DEB
    try:
        data = urllib.request.urlopen(f"{UBUNTU_ARCHIVE}/{path}", timeout=60).read()
    except OSError as exc:
        raise ImageError(f"cannot fetch the Ubuntu archive keyring from {UBUNTU_ARCHIVE}: {exc}") from exc
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ImageError(f"{UBUNTU_ARCHIVE}/{path} does not have the pinned sha256 {sha256}: refusing it")
    with tempfile.TemporaryDirectory(prefix="termigen-keyring-") as tmp:
        deb = Path(tmp) / "keyring.deb"
        deb.write_bytes(data)
        subprocess.run(["dpkg-deb", "-x", str(deb), tmp], check=True, capture_output=True)
        cache_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy(Path(tmp) / UBUNTU_KEYRING, target)
    return target


def archive_answers(rootfs: Rootfs) -> bool:
    return url_answers(f"{rootfs.archive}/dists/{rootfs.suite}/Release")


def ensure_rootfs(client: docker.DockerClient, rootfs: Rootfs, say: Callable[[str], None]) -> Provided:
    """Makes a root filesystem image exist: present, pulled from a registry, or by debootstrap."""
    label = image_label(client, rootfs.image)
    if label is not None:  # ours (debootstrap) or a registry's (pulled earlier)
        return Provided(image=rootfs.image, how="present", differences=rootfs.differences() if label == DEBOOTSTRAP else [])
    if try_pull(rootfs.official):
        client.images.get(rootfs.official).tag(rootfs.image)
        return Provided(image=rootfs.image, how="pulled")
    if shutil.which("debootstrap") is None:
        raise ImageError("no registry answers and debootstrap is not installed: run `apt-get install debootstrap` (scripts/provision.sh does it for you).")
    if not archive_answers(rootfs):
        raise ImageError(f"no registry serves {rootfs.official} and {rootfs.archive} has no {rootfs.suite} suite that answers")
    command = ["debootstrap", "--variant=minbase"]
    if rootfs.distro == "ubuntu":  # debootstrap names no recent Ubuntu suite; all use the same script
        command += [f"--keyring={ubuntu_keyring()}", "--components=main,universe"]
    with tempfile.TemporaryDirectory(prefix="termigen-rootfs-") as tmp:
        root = Path(tmp) / "root"
        command += [rootfs.suite, str(root), rootfs.archive] + (["/usr/share/debootstrap/scripts/gutsy"] if rootfs.distro == "ubuntu" else [])
        say(f"debootstrap --variant=minbase {rootfs.suite} from {rootfs.archive} (about 30-60 s)")
        proc = subprocess.run(command, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
            raise ImageError(f"debootstrap of {rootfs.distro} {rootfs.suite} failed (exit {proc.returncode}):\n{tail}")
        tarball = Path(tmp) / "rootfs.tar"
        subprocess.run(["tar", "-C", str(root), "-cf", str(tarball), "."], check=True)
        repo, tag = rootfs.image.split(":")
        say(f"docker import -> {rootfs.image}")
        client.api.import_image_from_file(str(tarball), repository=repo, tag=tag, changes=['CMD ["bash"]', f"LABEL {RECIPE_LABEL}={DEBOOTSTRAP}"])
    return Provided(image=rootfs.image, how="debootstrap", differences=rootfs.differences())


def build_recipe(client: docker.DockerClient, recipe: Recipe, certs: list[Path], label: str) -> None:
    with tempfile.TemporaryDirectory(prefix="termigen-image-") as tmp:
        context = Path(tmp)
        (context / "ca-certificates").mkdir()
        for cert in certs:
            shutil.copy(cert, context / "ca-certificates" / cert.name)
        (context / "keyrings").mkdir()
        if recipe.ubuntu_keyring:
            shutil.copy(ubuntu_keyring(), context / "keyrings" / "ubuntu-archive-keyring.gpg")
        (context / "Dockerfile").write_text(recipe.render())
        try:
            client.images.build(path=str(context), tag=recipe.name, labels={RECIPE_LABEL: label}, rm=True, forcerm=True)
        except docker.errors.BuildError as exc:
            log = "".join(chunk.get("stream", "") + chunk.get("error", "") for chunk in exc.build_log)
            tail = "\n".join(log.strip().splitlines()[-20:])
            raise ImageError(f"building {recipe.name} failed: {exc.msg}\n{tail}") from exc
        finally:  # the classic builder leaves a multi-stage recipe's earlier stages as untagged images
            client.images.prune(filters={"dangling": True, "label": RECIPE_LABEL})


def ensure_recipe(
    client: docker.DockerClient, recipe: Recipe, say: Callable[[str], None], recipes: Callable[[str], Recipe | None], pull: bool = True
) -> Provided:
    """Makes `recipe.name` exist: the real image when the engine has it or a registry serves it,
    else our build of the recipe (its bases first), rebuilt only when the recipe changed."""
    label = image_label(client, recipe.name)
    if label == "":
        return Provided(image=recipe.name, how="present")
    if pull and recipe.differences and try_pull(recipe.name):
        return Provided(image=recipe.name, how="pulled")
    differences: list[str] = list(recipe.differences)
    by_image = {r.image: r for r in recipe.rootfs}
    for base in recipe.bases:
        if base in by_image:
            got = ensure_rootfs(client, by_image[base], say)
        else:
            base_recipe = recipes(base)
            if base_recipe is None:
                raise ImageError(f"{recipe.name} starts FROM {base}, which no registry serves and no recipe makes")
            got = ensure_recipe(client, base_recipe, say, recipes, pull)
        differences += [d for d in got.differences if d not in differences]
    certs = host_ca_certificates()
    want = recipe_hash(recipe, certs)
    if label == want:
        return Provided(image=recipe.name, how="up to date", differences=differences if recipe.differences else [])
    say(f"building {recipe.name} ({len(certs)} host CA certificates)")
    build_recipe(client, recipe, certs, want)
    return Provided(image=recipe.name, how="built", differences=differences if recipe.differences else [])


def ensure_images(say: Callable[[str], None] = print, force: bool = False) -> dict[str, str]:
    """Makes our base image exist and be up to date. Returns {image: what was done}."""
    client = docker_client()
    if force:
        for name in [r.name for r in BASE_IMAGES] + [ROOTFS_IMAGE]:
            try:
                client.images.remove(name, force=True)
            except docker.errors.ImageNotFound:
                pass
    done = {ROOTFS_IMAGE: ensure_rootfs(client, ROOTFS, say).how}
    for recipe in BASE_IMAGES:
        done[recipe.name] = ensure_recipe(client, recipe, say, recipes=lambda _name: None, pull=False).how
    return done
