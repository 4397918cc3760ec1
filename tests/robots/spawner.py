"""Keeps starting new children every 50 ms, so new processes appear while it is being killed."""

import time

import _helpers

_helpers.ignore_signals()
_helpers.record("robot")
n = 0
while True:
    _helpers.spawn(f"spawned-stubborn-{n}")
    n += 1
    if n == 3:
        _helpers.wait_for_roles("spawned-stubborn-0", "spawned-stubborn-1", "spawned-stubborn-2")
        _helpers.mark("ready")
    time.sleep(0.05)
