"""Runs for TEST_ROBOT_SECONDS (default 2) and exits 0."""

import os
import time

import _helpers

_helpers.record("robot")
_helpers.mark("ready")
time.sleep(float(os.environ.get("TEST_ROBOT_SECONDS", "2")))
print("done")
