"""Takes one task from queue TEST_QUEUE and then never reports its outcome: waits forever (killed by the
framework), or with TEST_HOLDER_EXIT=1 exits 0 at once (a robot that forgot the outcome)."""

import json
import os

import _helpers
import robot_framework as rf

_helpers.record("robot")
task = rf.next_task(os.environ.get("TEST_QUEUE", "invoices"))
_helpers.mark("took.json", json.dumps(task and task["guid"]))
_helpers.mark("ready")
if os.environ.get("TEST_HOLDER_EXIT") != "1":
    _helpers.sleep_forever()
