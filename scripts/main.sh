#!/usr/bin/env bash
# The main job on the embedded default model (no API key needed):
#   1. provision (Python, .venv, Docker, base images, the local model's runtime and weights);
#   2. validate every task template (oracle must score 1, the no-op agent 0);
#   3. collect error-injected rollouts with the BashAgent and the local Qwen2.5-Coder-1.5B on two
#      templates, printing pass rate, injected errors by category, recoveries and trajectories.
# Extra arguments go to `termigen rollout` (e.g. -m claude-sonnet-4-6 --max-steps 30).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$REPO/scripts/provision.sh"
cd "$REPO"
.venv/bin/termigen validate task_templates/
exec .venv/bin/termigen rollout task_templates/auth-log-forensics task_templates/git-lost-commit \
  --model local --injection-rate 0.2 --seed 1 --max-steps 8 --ak max_regenerations=1 "$@"
