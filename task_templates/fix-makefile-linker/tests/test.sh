#!/usr/bin/env bash
# Standard termigen verifier: runs /tests/test_outputs.py with pytest, writes per-test results to
# /logs/verifier/junit.xml and the reward (1 when every test passes, else 0) to reward.txt.
mkdir -p /logs/verifier
PYTEST=/opt/termigen/verifier/bin/pytest
if [ ! -x "$PYTEST" ]; then
  python3 -m venv /tmp/termigen-verifier >/dev/null 2>&1 \
    && /tmp/termigen-verifier/bin/pip install -q "pytest==8.4.2" >/dev/null 2>&1
  PYTEST=/tmp/termigen-verifier/bin/pytest
fi
export PATH="$PATH:${PYTEST%/pytest}"  # a test that runs `pytest` on the task's own code finds the verifier's, after the image's
cd /app 2>/dev/null || cd /tests || exit 1  # a relative path in a test means the task's working directory, as for the agent
"$PYTEST" /tests/test_outputs.py -rA -p no:cacheprovider --junitxml=/logs/verifier/junit.xml
status=$?
if [ "$status" -eq 0 ]; then echo 1 > /logs/verifier/reward.txt; else echo 0 > /logs/verifier/reward.txt; fi
exit "$status"
