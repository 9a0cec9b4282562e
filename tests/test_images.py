import pytest

from termigen_harbor import images, standins


def test_recipe_changes_with_the_dockerfile_and_the_certificates(tmp_path):
    cert = tmp_path / "a.crt"
    cert.write_text("one")
    recipe = images.BASE_IMAGES[0]
    first = images.recipe_hash(recipe, [cert])
    assert images.recipe_hash(recipe, [cert]) == first
    cert.write_text("two")
    assert images.recipe_hash(recipe, [cert]) != first
    changed = images.Recipe(recipe.name, recipe.template + "\n# x", fill=recipe.fill, bases=recipe.bases)
    assert images.recipe_hash(changed, [cert]) != images.recipe_hash(recipe, [cert])


def test_base_image_dockerfile_trusts_host_cas_and_has_the_tools():
    text = images.BASE_IMAGES[0].render()
    assert text.startswith("# termigen/base") and f"FROM {images.ROOTFS_IMAGE}" in text
    for tool in ("python3", "python3-pip", "tmux", "curl", "ca-certificates", "update-ca-certificates"):
        assert tool in text


def test_stand_ins_are_chosen_by_the_image_name_alone():
    tb = standins.recipe_for("ghcr.io/laude-institute/t-bench/python-3-13:20250620")
    assert tb.bases == (images.BASE_IMAGE, "python:3.13-slim-bookworm") and "WORKDIR /app" in tb.render()
    python = standins.recipe_for("python:3.13-slim-bookworm")
    assert python.bases == ("debian:bookworm-slim",) and "apt-get source --download-only -qq python3.13" in python.render()
    assert "Suites: trixie" in python.render() and any("CPython 3.13" in d for d in python.differences)
    assert standins.recipe_for("python:3.9-slim-bookworm").render().count("bullseye") >= 1  # Debian's archive carries 3.9
    debian = standins.recipe_for("debian:bullseye-slim")
    assert debian.bases == ("termigen/debian-rootfs:bullseye",) and "bullseye-security" in debian.render()
    assert standins.recipe_for("localstack/localstack:4.3") is None
    assert standins.recipe_for("python:3.7-slim") is None  # no archive here carries CPython 3.7
    noble = images.Rootfs("ubuntu", "noble")
    ubuntu = standins.recipe_for("ubuntu:24.04")
    if images.archive_answers(noble):  # probed: the Ubuntu archive answers on some machines, not on others
        assert ubuntu.bases == (noble.image,) and "noble-security" in ubuntu.render()
    else:
        assert ubuntu is None and standins.recipe_for("ghcr.io/laude-institute/t-bench/ubuntu-24-04:20250624") is None


@pytest.mark.docker
def test_ensure_is_idempotent_and_the_image_works(docker_engine):
    import docker

    assert images.ensure_images(say=lambda _m: None) == {images.ROOTFS_IMAGE: "present", images.BASE_IMAGE: "up to date"}
    out = docker.from_env().containers.run(
        images.BASE_IMAGE, ["bash", "-c", "python3 --version && tmux -V && curl --version | head -1 && /opt/termigen/verifier/bin/pytest --version && pwd"],
        remove=True,
    ).decode()
    assert "Python 3.11" in out and "tmux" in out and "curl" in out and "pytest" in out and out.strip().endswith("/app")


@pytest.mark.docker
def test_the_tb_python_stand_in_behaves_like_the_official_image(docker_engine):
    """python:3.13-slim-bookworm as TB's image extends it: CPython under /usr/local, `python` and
    `pip` on PATH, no setuptools (3.12+ images have none), tmux, asciinema, uv, WORKDIR /app."""
    import docker

    name = "ghcr.io/laude-institute/t-bench/python-3-13:20250620"
    provided = standins.provide(name, say=lambda _m: None)
    assert provided.how in ("built", "up to date", "present", "pulled")
    if provided.how in ("built", "up to date"):
        assert any("CPython 3.13" in d for d in provided.differences) and any("debootstrap" in d for d in provided.differences)
    probe = (
        "set -e; command -v python pip; python -c 'import sys, ssl, sqlite3, ctypes, lzma, bz2, readline; print(sys.version)'; "
        "python -c 'import setuptools' 2>/dev/null && echo has-setuptools || echo no-setuptools; "
        "tmux -V; asciinema --version; . $HOME/.local/bin/env; uv --version; pwd"
    )
    out = docker.from_env().containers.run(name, ["bash", "-c", probe], remove=True).decode()
    assert "/usr/local/bin/python\n/usr/local/bin/pip\n3.13." in out
    assert "no-setuptools" in out and "tmux" in out and "asciinema" in out and f"uv {standins.UV_VERSION}" in out
    assert out.strip().endswith("/app")
