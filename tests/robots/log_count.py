"""Logs TEST_LOG_LINES entries "entry i" (default 30); with TEST_ROBOT_UNTIL=NAME then marks ready and waits
for the test's file TEST_OUT/NAME before it exits 0."""

import os
import time

import _helpers
import robot_framework as rf

_helpers.record("robot")
for i in range(int(os.environ.get("TEST_LOG_LINES", "30"))):
    rf.log(f"entry {i}")
_helpers.mark("ready")
until = os.environ.get("TEST_ROBOT_UNTIL")
if until:
    while not os.path.exists(os.path.join(_helpers.OUT, until)):
        time.sleep(0.02)
