#!/usr/bin/env bash
# The test suite: provision (idempotent), then pytest. Extra arguments go to pytest.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$REPO/scripts/provision.sh"
cd "$REPO"
# Most of the suite waits on Docker, not on the CPU: 4 workers even on 2 cores (TEST_WORKERS=0 runs
# it in one process). Tests that share a module fixture carry an xdist_group mark.
exec .venv/bin/python -m pytest -n "${TEST_WORKERS:-4}" --dist loadgroup "$@"
