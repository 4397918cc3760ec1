"""Starts a child that starts a grandchild and exits: the grandchild is an orphan. Then waits."""

import _helpers

_helpers.record("robot")
_helpers.spawn("middle", "spawn", "orphan", "exit").wait()
_helpers.wait_for_roles("orphan")
_helpers.mark("ready")
_helpers.sleep_forever()
