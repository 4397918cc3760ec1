"""Runs for TEST_ROBOT_SECONDS (default 2) and exits 0; with TEST_ROBOT_UNTIL=NAME, runs until the test
creates TEST_OUT/NAME instead (at most 120 s), so a test decides when the robot ends, not a clock. With
TEST_ROBOT_LOG set it logs one entry in the Orchestrator first, as robots do."""

import os
import time

import _helpers

_helpers.record("robot")
if os.environ.get("TEST_ROBOT_LOG"):
    import robot_framework

    robot_framework.log("started")
_helpers.mark("ready")
until = os.environ.get("TEST_ROBOT_UNTIL")
if until:
    deadline = time.monotonic() + 120
    while not os.path.exists(os.path.join(_helpers.OUT, until)) and time.monotonic() < deadline:
        time.sleep(0.02)
else:
    time.sleep(float(os.environ.get("TEST_ROBOT_SECONDS", "2")))
print("done")
