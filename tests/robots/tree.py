"""Starts a child that starts a grandchild, then waits forever (abort must take all three)."""

import _helpers

_helpers.record("robot")
_helpers.spawn("child", "spawn", "grandchild")
_helpers.wait_for_roles("child", "grandchild")
_helpers.mark("ready")
_helpers.sleep_forever()
