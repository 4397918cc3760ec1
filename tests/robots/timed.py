"""Runs for TEST_ROBOT_SECONDS (default 2) and exits 0; with TEST_ROBOT_UNTIL=NAME, runs until the test
creates TEST_OUT/NAME instead (at most 120 s), so a test decides when the robot ends, not a clock."""

import os
import time

import _helpers

_helpers.record("robot")
_helpers.mark("ready")
until = os.environ.get("TEST_ROBOT_UNTIL")
if until:
    deadline = time.monotonic() + 120
    while not os.path.exists(os.path.join(_helpers.OUT, until)) and time.monotonic() < deadline:
        time.sleep(0.02)
else:
    time.sleep(float(os.environ.get("TEST_ROBOT_SECONDS", "2")))
print("done")
