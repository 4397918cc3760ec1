"""Sleeps a long time (job_timeout, slow-server and crash tests)."""

import _helpers

_helpers.record("robot")
_helpers.mark("ready")
_helpers.sleep_forever()
