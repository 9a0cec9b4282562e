"""Offline stand-ins for the base images Terminal-Bench tasks name, by the image's name alone.

| image named | stand-in |
|---|---|
| `debian:<suite>[-slim]` | that suite by debootstrap from the Debian mirror |
| `ubuntu:<version>` | that release by debootstrap from the Ubuntu archive, when it answers |
| `python:3.X[-slim][-bookworm]` | CPython 3.X built from a distribution's source package into /usr/local on Debian bookworm |
| `ghcr.io/laude-institute/t-bench/ubuntu-24-04:*` | `ubuntu:24.04` + tmux, asciinema, WORKDIR /app (what TB adds) |
| `ghcr.io/laude-institute/t-bench/python-3-13:*` | `python:3.13-slim-bookworm` + the same |

The real image always wins: `images.ensure_recipe` uses it when the engine has it or a registry
serves it. A stand-in lists what differs from the image it replaces, and reports carry the list.
Which CPython sources exist is probed (`archive_answers`): Debian's archive carries 3.9, 3.11,
3.13 and 3.14; Ubuntu's, where it answers, 3.8, 3.10 and 3.12.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

from termigen_harbor.images import (
    BASE_IMAGE,
    UBUNTU_ARCHIVE,
    UBUNTU_VERSIONS,
    ImageError,
    Provided,
    Recipe,
    Rootfs,
    archive_answers,
    docker_client,
    dockerfile_template,
    ensure_recipe,
    image_label,
    on_rootfs,
    try_pull,
)

UV_VERSION = "0.7.13"  # the version TB 1.0's test scripts install
DEBIAN_SUITES = ("bullseye", "bookworm", "trixie")
LIBRARY = r"(?:docker\.io/)?(?:library/)?"
DEBIAN_RE = re.compile(rf"^{LIBRARY}debian:(?P<suite>{'|'.join(DEBIAN_SUITES)})(?:-slim)?$")
UBUNTU_RE = re.compile(rf"^{LIBRARY}ubuntu:(?P<release>{'|'.join(map(re.escape, UBUNTU_VERSIONS))}|{'|'.join(UBUNTU_VERSIONS.values())})$")
PYTHON_RE = re.compile(rf"^{LIBRARY}python:(?P<version>3\.\d+)(?:\.\d+)?(?P<slim>-slim)?(?:-bookworm)?$")
TB_RE = re.compile(r"^ghcr\.io/laude-institute/t-bench/(?P<base>ubuntu-24-04|python-3-13):[\w.-]+$")
TB_BASES = {"ubuntu-24-04": "ubuntu:24.04", "python-3-13": "python:3.13-slim-bookworm"}
# Where each CPython's source package lives: (distro, suites, components).
CPYTHON_SOURCES: dict[str, list[tuple[str, str, str]]] = {
    "3.8": [("ubuntu", "focal focal-updates", "main")],
    "3.9": [("debian", "bullseye", "main"), ("ubuntu", "focal focal-updates", "universe")],
    "3.10": [("ubuntu", "jammy jammy-updates", "main")],
    "3.11": [("debian", "bookworm", "main")],
    "3.12": [("ubuntu", "noble noble-updates", "main")],
    "3.13": [("debian", "trixie", "main")],
    "3.14": [("debian", "forky", "main")],
}


def apt_sources(rootfs: Rootfs) -> str:
    """The deb822 apt sources the official image of this distribution and suite carries."""
    if rootfs.distro == "debian":
        keyring = "/usr/share/keyrings/debian-archive-keyring.gpg"
        main = (rootfs.archive, f"{rootfs.suite} {rootfs.suite}-updates", "main")
        security = (rootfs.archive + "-security", f"{rootfs.suite}-security", "main")
    else:
        keyring = "/usr/share/keyrings/ubuntu-archive-keyring.gpg"
        components = "main restricted universe multiverse"
        main = (UBUNTU_ARCHIVE, f"{rootfs.suite} {rootfs.suite}-updates {rootfs.suite}-backports", components)
        security = ("http://security.ubuntu.com/ubuntu", f"{rootfs.suite}-security", components)
    entries = [f"Types: deb\\nURIs: {uri}\\nSuites: {suites}\\nComponents: {components}\\nSigned-By: {keyring}\\n" for uri, suites, components in (main, security)]
    return "\\n".join(entries)


def os_recipe(name: str, rootfs: Rootfs) -> Recipe:
    return on_rootfs(
        name, dockerfile_template("os.Dockerfile"), rootfs,
        fill=(("name", name), ("distro", rootfs.distro), ("apt_sources", apt_sources(rootfs))),
        differences=(*rootfs.differences(), "trusts this network's TLS proxy: its CA certificates and ca-certificates installed, SSL_CERT_FILE set"),
    )  # fmt: skip


def cpython_source(version: str) -> tuple[str, str, str, str] | None:
    """(archive, suites, components, keyring) of the first archive that answers and carries this CPython."""
    for distro, suites, components in CPYTHON_SOURCES.get(version, []):
        rootfs = Rootfs(distro, suites.split()[0])  # type: ignore[arg-type]
        if archive_answers(rootfs):
            keyring = "/etc/apt/termigen-keyrings/ubuntu-archive-keyring.gpg" if distro == "ubuntu" else "/usr/share/keyrings/debian-archive-keyring.gpg"
            return rootfs.archive, suites, components, keyring
    return None


def cpython_recipe(name: str, version: str, slim: bool) -> Recipe | None:
    source = cpython_source(version)
    if source is None:
        return None
    archive, suites, components, keyring = source
    differences = [
        f"CPython {version} built from the source package in {archive} ({suites.split()[0]}): the patch release that archive carries, "
        "not necessarily the image's, and without the official build's profile-guided optimization",
        "pip reads PIP_CERT (this network's TLS proxy)",
    ]
    if not slim:
        differences.append("the slim variant: the full image's extra build tools and libraries are not installed")
    return Recipe(
        name, dockerfile_template("cpython.Dockerfile"),
        fill=(("name", name), ("version", version), ("base", "debian:bookworm-slim"), ("source_archive", archive),
              ("source_suites", suites), ("source_components", components), ("source_keyring", keyring)),
        bases=("debian:bookworm-slim",), differences=tuple(differences), ubuntu_keyring="ubuntu" in archive,
    )  # fmt: skip


def tb_recipe(name: str, base: str) -> Recipe:
    return Recipe(
        name, dockerfile_template("tb-layer.Dockerfile"),
        fill=(("name", name), ("base", base), ("tools", BASE_IMAGE), ("uv_version", UV_VERSION)),
        bases=(BASE_IMAGE, base),
        differences=(f"{base} stand-in plus tmux and asciinema as Terminal-Bench's image adds them", f"uv {UV_VERSION} preinstalled in ~/.local/bin (TB's tests download it from astral.sh), UV_NATIVE_TLS=1"),
    )  # fmt: skip


@cache
def recipe_for(name: str) -> Recipe | None:
    """The stand-in recipe for an image name, or None when there is none (or its sources do not answer).
    Our own base image has its recipe in `images.BASE_IMAGES`."""
    if match := DEBIAN_RE.match(name):
        return os_recipe(name, Rootfs("debian", match["suite"]))
    if match := UBUNTU_RE.match(name):
        release = match["release"]
        rootfs = Rootfs("ubuntu", UBUNTU_VERSIONS.get(release, release))
        return os_recipe(name, rootfs) if archive_answers(rootfs) else None
    if match := PYTHON_RE.match(name):
        return cpython_recipe(name, match["version"], slim=bool(match["slim"]))
    if match := TB_RE.match(name):
        base = TB_BASES[match["base"]]
        return tb_recipe(name, base) if recipe_for(base) is not None else None
    if name == BASE_IMAGE:
        from termigen_harbor.images import BASE_IMAGES

        return BASE_IMAGES[0]
    return None


def provide(image: str, say: Callable[[str], None] = print) -> Provided:
    """Makes `image` exist in the engine: the real one when present or served by a registry, else
    its stand-in (built once, rebuilt when the recipe changes). ImageError says why it cannot."""
    client = docker_client()
    recipe = recipe_for(image)
    if recipe is not None:
        return ensure_recipe(client, recipe, say, recipes=recipe_for)
    if image_label(client, image) is not None:
        return Provided(image=image, how="present")
    if try_pull(image):
        return Provided(image=image, how="pulled")
    raise ImageError(f"no registry serves {image} here, and there is no offline stand-in for it")
