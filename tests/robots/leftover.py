"""Starts a detached process (own session / process group) and exits 0 at once."""

import _helpers

_helpers.record("robot")
_helpers.spawn("leftover", detached=True)
_helpers.wait_for_roles("leftover")
print("leaving a process behind")
