"""Ignores SIGINT/SIGTERM and the stop file; has a child that ignores them too."""

import _helpers

_helpers.ignore_signals()
_helpers.record("robot")
_helpers.spawn("stubborn-child")
_helpers.wait_for_roles("stubborn-child")
_helpers.mark("ready")
_helpers.sleep_forever()
