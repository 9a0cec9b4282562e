#!/usr/bin/env bash
# Upgrading the dependencies is a deliberate act: re-resolve uv.lock to the newest versions that
# pyproject.toml allows, install exactly those, then run the test suite. Review `git diff uv.lock`
# and commit the lock only when the tests pass. Arguments go to `uv lock` instead of the default
# `--upgrade` (e.g. `--upgrade-package harbor` moves that package only, and whatever else a change
# to pyproject.toml requires).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$REPO/scripts/provision.sh" --relock "$@"
git -C "$REPO" --no-pager diff --stat -- uv.lock || true
exec bash "$REPO/scripts/test.sh"
