"""Polls robot_framework.stop_requested() and finishes cleanly; also handles KeyboardInterrupt."""

import time

import _helpers
import robot_framework

_helpers.record("robot")
_helpers.mark("ready")
try:
    while not robot_framework.stop_requested():
        time.sleep(0.05)
    _helpers.mark("stopped-by-file")
except KeyboardInterrupt:
    _helpers.mark("stopped-by-interrupt")
finally:
    _helpers.mark("cleanup-ran")
