"""Calls the robot API on things that do not exist and records what it caught."""

import json

import _helpers
import robot_framework as rf

caught = {}
for what, call in [("asset", lambda: rf.get_asset("no such asset")),
                   ("queue", lambda: rf.next_task("no such queue")),
                   ("add", lambda: rf.add_task("no such queue", "x", {})),
                   ("task", lambda: rf.set_task_status("00000000-0000-0000-0000-00000000abcd", rf.TASK_SUCCESS))]:
    try:
        call()
        caught[what] = None
    except rf.NotFoundError as e:
        caught[what] = ["NotFoundError", str(e), isinstance(e, rf.RobotApiError)]
    except rf.RobotApiError as e:
        caught[what] = ["RobotApiError", str(e), True]
_helpers.mark("errors.json", json.dumps(caught))
