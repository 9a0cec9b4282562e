#!/usr/bin/env bash
# The main job on the embedded default model (no API key needed): the whole mission at small scale.
#   0. provision (Python, .venv, Docker, base images, the local model's runtime and weights);
#   1. synthesize tasks with Qwen2.5-Coder-1.5B from two categories of the taxonomy, for about 20 minutes
#      (TERMIGEN_MAIN_SYNTH_MINUTES; a task is kept only if its oracle passes and the no-op, lazy and
#      independent solutions get what they should);
#   2. validate what was accepted (Harbor's lint, oracle 1, no-op 0);
#   3. error-injected rollouts (p = 0.2) with the BashAgent on the accepted tasks plus two templates;
#   4. export the SFT and preference dataset and print its rows.
# Everything goes under $TERMIGEN_MAIN_OUT (default runs/main); running it again resumes the synthesis and
# the rollouts where they stopped.
# Extra arguments go to `termigen rollout` (e.g. --max-steps 30).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$REPO/scripts/provision.sh"
cd "$REPO"
OUT=${TERMIGEN_MAIN_OUT:-runs/main}
termigen() { .venv/bin/termigen "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1/4 synthesize (local model)"
# a time budget keeps the job near its 45 minutes on 2 cores: the run stops cleanly at the first model
# call after it, and the next run of this script goes on where it stopped
if ! termigen synthesize -o "$OUT/tasks" --categories data_etl,algorithms -k 1 -m local --lazy 1 --budget-minutes "${TERMIGEN_MAIN_SYNTH_MINUTES:-20}"; then
  echo "synthesis stopped early (the reason is above); going on with what it accepted" >&2
fi
mapfile -t accepted < <(find "$OUT/tasks" -mindepth 2 -maxdepth 2 -name task.toml -printf '%h\n' 2>/dev/null | sort)

step "2/4 validate the ${#accepted[@]} accepted task(s)"
if ((${#accepted[@]})); then
  termigen validate "${accepted[@]}" --jobs-dir "$OUT/jobs/validate"
else
  echo "none accepted this time: the rollouts use the two templates only"
fi

step "3/4 error-injected rollouts"
termigen rollout "${accepted[@]}" task_templates/auth-log-forensics task_templates/git-lost-commit \
  -m local -p 0.2 --seed 1 --max-steps 6 --jobs-dir "$OUT/jobs/rollouts" --job-name main "$@"

step "4/4 export the dataset"
benchmark=(); [ -d ../shared/tb1-dev ] && benchmark=(--benchmark ../shared/tb1-dev)
termigen export "$OUT/jobs/rollouts/main" -o "$OUT/dataset" --min-pass-ratio 0 "${benchmark[@]}"

step "where it is"
cat <<DONE
synthesized tasks: $OUT/tasks (manifest.json: the funnel; a Harbor dataset: harbor run -p $OUT/tasks)
rollouts:          $OUT/jobs/rollouts/main (harbor view $OUT/jobs/rollouts)
dataset:           $OUT/dataset (sft.jsonl, sft_sharegpt.jsonl, preference.jsonl, README.md)
publish:           HF_TOKEN=... .venv/bin/termigen push $OUT/dataset --repo you/terminal-trajectories
                   HF_TOKEN=... .venv/bin/termigen push --tasks $OUT/tasks --repo you/terminal-tasks
DONE
