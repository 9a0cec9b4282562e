#!/usr/bin/env bash
# Provision what termigen-harbor needs on this machine, idempotently:
#   1. a Python >= 3.12 (found, or built once from Debian trixie's source package into a cache),
#   2. .venv with exactly the versions in uv.lock (the package editable, dev + local extras), and
#      the local model's weights,
#   3. a Docker engine (from trixie) with the compose v2 plugin (from forky), installed through an
#      apt pin when missing, and dockerd started in the background when none answers,
#   4. our base images (`termigen images ensure`).
# Every step is skipped when already satisfied. Set TERMIGEN_CACHE to move the cache
# (default ~/.cache/termigen); TERMIGEN_SKIP_IMAGES=1 skips step 4.
# `provision.sh --relock [UV LOCK ARGS]` re-resolves uv.lock first (default `--upgrade`: every
# package to its newest allowed version); scripts/upgrade-deps.sh does that, then runs the tests.
set -euo pipefail
RELOCK=()
if [ "${1:-}" = --relock ]; then
  shift
  RELOCK=("${@:---upgrade}")
fi

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${TERMIGEN_CACHE:-$HOME/.cache/termigen}
VENV=$REPO/.venv
mkdir -p "$CACHE"

say() { printf '\033[1m[provision]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[provision] error:\033[0m %s\n' "$*" >&2; exit 1; }
elapsed() { echo "$(( $(date +%s) - $1 ))s"; }

is_debian_root() { [ "$(id -u)" = 0 ] && [ -r /etc/debian_version ] && command -v apt-get >/dev/null; }

APT_UPDATED=0
apt_update_once() {
  if [ "$APT_UPDATED" = 0 ]; then
    say "apt-get update"
    apt-get update -qq || die "apt-get update failed: is the Debian mirror reachable?"
    APT_UPDATED=1
  fi
}

# Makes Debian's trixie and forky suites known to apt (deb and deb-src) at priority -1: nothing
# comes from them unless a pin in $PIN names the package. trixie gives the Docker engine and
# CPython's source; forky gives docker-compose 2.40 (Harbor's lint needs `config --no-env-resolution`,
# which trixie's 2.26 lacks). Both packages need only libc6 >= 2.34: no libc upgrade.
NEWER_SOURCES=/etc/apt/sources.list.d/termigen-newer.sources
PIN=/etc/apt/preferences.d/termigen-newer
ensure_newer_sources() {
  local uri
  uri=$(awk '/^URIs:/ && /debian\/?$/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$uri" ] || uri=$(awk '$1=="deb" && $2 ~ /debian\/?$/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$uri" ] || uri=http://deb.debian.org/debian
  local want
  want=$(printf 'Types: deb deb-src\nURIs: %s\nSuites: trixie forky\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri")
  local pin
  pin=$(printf 'Package: *\nPin: release n=trixie\nPin-Priority: -1\n\nPackage: *\nPin: release n=forky\nPin-Priority: -1\n\nPackage: docker.io docker-cli docker-buildx\nPin: release n=trixie\nPin-Priority: 990\n\nPackage: docker-compose\nPin: release n=forky\nPin-Priority: 990\n')
  if [ "$(cat "$NEWER_SOURCES" 2>/dev/null)" != "$want" ] || [ "$(cat "$PIN" 2>/dev/null)" != "$pin" ]; then
    say "adding Debian trixie and forky as pinned apt sources (only Docker's packages come from them)"
    rm -f /etc/apt/sources.list.d/termigen-trixie.sources /etc/apt/preferences.d/termigen-trixie  # an earlier layout
    printf '%s\n' "$want" > "$NEWER_SOURCES"
    printf '%s\n' "$pin" > "$PIN"
    APT_UPDATED=0
  fi
}

# ---------------------------------------------------------------- 1. Python >= 3.12
python_ok() {  # a usable interpreter: >= 3.12 with the stdlib modules Harbor and pip need
  "$1" -c 'import sys, ssl, sqlite3, ctypes, lzma, bz2, zlib, venv; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1
}

find_python() {
  local c
  for c in python3.13 python3.12 python3; do
    if command -v "$c" >/dev/null 2>&1 && python_ok "$c"; then command -v "$c"; return; fi
  done
  if command -v uv >/dev/null 2>&1; then
    c=$(uv python find '>=3.12' 2>/dev/null || true)
    if [ -n "$c" ] && python_ok "$c"; then echo "$c"; return; fi
  fi
  for c in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[3-9]*/bin/python3 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3; do
    if [ -x "$c" ] && python_ok "$c"; then echo "$c"; return; fi
  done
  c=$CACHE/python3.13/bin/python3.13
  if [ -x "$c" ] && python_ok "$c"; then echo "$c"; return; fi
}

build_python() {
  is_debian_root || die "no Python >= 3.12 found, and building one needs root on Debian. Install Python 3.12+ and put it on PATH."
  local t0=$(date +%s) src=$CACHE/src/python3.13
  say "no Python >= 3.12 found: building CPython 3.13 from Debian trixie's source package (about 4-5 min)"
  ensure_newer_sources
  apt_update_once
  apt-get install -y -qq --no-install-recommends dpkg-dev xz-utils build-essential libssl-dev libffi-dev zlib1g-dev \
    libbz2-dev libsqlite3-dev liblzma-dev libreadline-dev uuid-dev libgdbm-dev libncurses-dev >/dev/null \
    || die "could not install CPython's build dependencies with apt-get"
  rm -rf "$src"; mkdir -p "$src"
  (cd "$src" && apt-get source --download-only -qq python3.13 >/dev/null) \
    || die "apt-get source python3.13 failed: is the trixie deb-src entry reachable?"
  local orig
  orig=$(ls "$src"/python3.13_*.orig.tar.xz | head -1)
  tar -C "$src" -xJf "$orig"
  local dir
  dir=$(find "$src" -maxdepth 1 -type d -name 'Python-3.13*' | head -1)
  (cd "$dir" && ./configure -q --prefix="$CACHE/python3.13" --with-ensurepip=install >/dev/null \
     && make -s -j"$(nproc)" >/dev/null 2>"$src/make.log" && make -s install >/dev/null 2>>"$src/make.log") \
    || die "building CPython 3.13 failed; see $src/make.log"
  rm -rf "$src"
  python_ok "$CACHE/python3.13/bin/python3.13" || die "the CPython 3.13 built in $CACHE/python3.13 lacks ssl/sqlite3/ctypes"
  say "built CPython 3.13 in $(elapsed "$t0")"
}

PY=$(find_python || true)
if [ -z "$PY" ] || [ "${TERMIGEN_BUILD_PYTHON:-0}" = 1 ]; then
  build_python
  PY=$CACHE/python3.13/bin/python3.13
fi

# ---------------------------------------------------------------- 2. .venv with the package
# Exactly the versions in uv.lock (every direct and transitive dependency, with hashes), installed
# by a hash-pinned uv. `uv sync --locked` refuses a lock that no longer matches pyproject.toml and
# removes anything the lock does not list, so a fresh machine gets what CI tested.
# To upgrade on purpose: bash scripts/upgrade-deps.sh (re-resolves the lock, then runs the tests).
UV_VERSION=$(sed -n 's/^uv==\([0-9.]*\).*/\1/p' "$REPO/scripts/uv-requirements.txt")
UV=$CACHE/uv-$UV_VERSION/bin/uv
if ! "$UV" --version >/dev/null 2>&1; then
  say "installing uv $UV_VERSION (hash-pinned) into $CACHE/uv-$UV_VERSION"
  rm -rf "$CACHE/uv-$UV_VERSION"
  "$PY" -m venv "$CACHE/uv-$UV_VERSION"
  "$CACHE/uv-$UV_VERSION/bin/pip" install -q --require-hashes -r "$REPO/scripts/uv-requirements.txt" \
    || die "could not install uv $UV_VERSION from PyPI"
fi
export UV_PYTHON_DOWNLOADS=never UV_SYSTEM_CERTS=${UV_SYSTEM_CERTS:-1} UV_PROJECT_ENVIRONMENT=$VENV
if [ -x "$VENV/bin/python" ] && ! python_ok "$VENV/bin/python"; then
  rm -rf "$VENV"
fi
if [ ${#RELOCK[@]} -gt 0 ]; then
  say "re-resolving uv.lock: uv lock ${RELOCK[*]}"
  "$UV" lock --project "$REPO" "${RELOCK[@]}" || die "uv lock failed"
fi
t0=$(date +%s)
sync() { "$UV" sync --locked --python "$PY" --extra dev --extra local --project "$REPO" -q "$@"; }
# From uv's cache first: llama-cpp-python is an sdist whose native build (5-7 min on 2 cores) uv
# keeps, but a proxy that strips caching headers makes uv fetch the sdist again online and
# rebuild it. Online only for what the cache does not hold (a fresh machine, a new lock).
# llama.cpp is built for this CPU (-march=native) less AMX: machines of this kind advertise AMX
# (amx_tile in /proc/cpuinfo) and a native build faulted on its first tile instruction
# (`ldtilecfg`, a general protection fault in libggml-cpu.so) at the model's first request.
# (CMake starts CMAKE_C_FLAGS and CMAKE_CXX_FLAGS from these; an explicit -mno-* outlasts -march.)
NO_AMX="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
export CFLAGS="${CFLAGS:+$CFLAGS }$NO_AMX" CXXFLAGS="${CXXFLAGS:+$CXXFLAGS }$NO_AMX" CMAKE_ARGS="${CMAKE_ARGS:--DLLAVA_BUILD=OFF}"
if ! sync --offline 2>/dev/null; then
  say "syncing .venv with uv.lock (the first time builds llama-cpp-python: 5-7 min)"
  sync || die "uv sync from uv.lock failed (see above). If you changed pyproject.toml, run scripts/upgrade-deps.sh."
fi
say "environment matches uv.lock ($(elapsed "$t0"))"

# ---------------------------------------------------------------- 2b. local model weights
# The embedded default (Qwen2.5-Coder-1.5B) and its faster 0.5B sibling, which the tests use.
"$VENV/bin/termigen" llm weights -m qwen2.5-coder-1.5b -m qwen2.5-coder-0.5b

# ---------------------------------------------------------------- 2c. the llama.cpp build runs here
# The 0.5B model reads a 120-token prompt (a second), once per build of the library: a build that
# crashes on this CPU (an AMX build from an earlier provision, a wheel from uv's cache built on
# another machine) is rebuilt from source with the flags above.
LLAMA_LIB=$(ls "$VENV"/lib/python3*/site-packages/llama_cpp/lib/libggml-cpu.so 2>/dev/null | head -1)
LLAMA_OK=$VENV/.llama-cpp-runs
llama_runs() {
  "$VENV/bin/python" - "$(ls "$CACHE"/models/qwen2.5-coder-0.5b-*.gguf | head -1)" >/dev/null 2>&1 <<'PY'
import sys
from llama_cpp import Llama
Llama(model_path=sys.argv[1], n_ctx=256, verbose=False)("Hello, " * 60, max_tokens=1)  # a batch: one token took no AMX path
PY
}
if [ -n "$LLAMA_LIB" ] && ! [ "$LLAMA_OK" -nt "$LLAMA_LIB" ]; then
  if ! llama_runs; then
    say "the llama.cpp build crashes on this CPU: rebuilding llama-cpp-python from source (5-7 min)"
    "$UV" cache clean llama-cpp-python -q
    sync --reinstall-package llama-cpp-python || die "rebuilding llama-cpp-python failed (see above)"
    llama_runs || die "llama-cpp-python, rebuilt with CFLAGS=$CFLAGS CMAKE_ARGS=$CMAKE_ARGS, still crashes on this CPU: set CMAKE_ARGS (for example -DGGML_NATIVE=OFF) and rerun"
  fi
  touch "$LLAMA_OK"
fi

# ---------------------------------------------------------------- 3. Docker engine + compose v2
engine_ok() { timeout 20 docker info >/dev/null 2>&1; }
# compose v2, new enough for Harbor: its lint runs `docker compose config --no-env-resolution`.
compose_ok() { timeout 20 docker compose config --help 2>/dev/null | grep -q -- --no-env-resolution; }
apt_install() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null \
    || die "apt-get install $* failed"
}

if ! engine_ok && ! { command -v docker >/dev/null && command -v dockerd >/dev/null; }; then
  is_debian_root || die "no Docker engine answers, and installing one needs root on Debian. Install Docker Engine and the compose plugin."
  t0=$(date +%s)
  say "installing docker.io from Debian trixie (pinned; no libc upgrade)"
  ensure_newer_sources
  apt_update_once
  apt_install docker.io docker-cli
  say "installed Docker in $(elapsed "$t0")"
fi
if ! compose_ok; then
  is_debian_root || die "docker compose v2 (2.27 or newer) is missing, and installing it needs root on Debian. Install the docker compose plugin."
  say "installing docker-compose 2.40 from Debian forky (pinned; no libc upgrade)"
  ensure_newer_sources
  apt_update_once
  apt_install docker-compose
fi
if ! engine_ok; then
  command -v dockerd >/dev/null || die "the docker CLI cannot reach an engine and there is no dockerd to start. Start your Docker engine."
  [ "$(id -u)" = 0 ] || die "no Docker engine answers, and starting dockerd needs root. Start your Docker engine."
  say "starting dockerd in the background (log: $CACHE/dockerd.log)"
  setsid nohup dockerd >"$CACHE/dockerd.log" 2>&1 < /dev/null &
  for _ in $(seq 1 60); do engine_ok && break; sleep 1; done
  engine_ok || die "dockerd did not answer within 60 s; see $CACHE/dockerd.log"
fi
compose_ok || die "docker compose v2 (2.27 or newer) is missing: install the docker compose plugin"

# ---------------------------------------------------------------- 4. base images
if [ "${TERMIGEN_SKIP_IMAGES:-0}" != 1 ]; then
  if ! command -v debootstrap >/dev/null && is_debian_root; then
    apt_update_once
    say "installing debootstrap (base images are built from a Debian rootfs when no registry answers)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null \
      || die "apt-get install debootstrap failed"
  fi
  "$VENV/bin/termigen" images ensure
fi
say "ready: $("$VENV/bin/python" --version), $(docker compose version --short 2>/dev/null | sed 's/^/compose /'), engine $(docker version -f '{{.Server.Version}}' 2>/dev/null)"
