"""The task loop of the README: each task's parameters say what the work does ("do": ok, business,
value, wait_stop); the robot records the order it saw tasks in."""

import os
import time

import _helpers
import robot_framework as rf

_helpers.record("robot")
_helpers.mark("ready")
seen = []
for task in rf.tasks(os.environ.get("TEST_QUEUE", "invoices"),
                     max_consecutive_failures=int(os.environ.get("TEST_MAX_FAILURES", "3"))):
    with task:
        seen.append(task["name"])
        _helpers.mark("seen.txt", "\n".join(seen))
        do = task["parameters"].get("do", "ok")
        if do == "business":
            raise rf.BusinessError(f"amount {task['parameters'].get('amount')} needs a manager's approval")
        if do == "value":
            raise ValueError("the application answered nonsense")
        if do == "wait_stop":
            _helpers.mark("holding")
            while not rf.stop_requested():
                time.sleep(0.05)
            raise SystemExit(0)  # a soft stop inside the block
        if do == "own":
            rf.set_task_status(task["guid"], rf.TASK_POSTPONED)
_helpers.mark("loop-ended")
