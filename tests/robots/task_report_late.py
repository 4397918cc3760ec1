"""Takes a task, waits for the test's go file (the Orchestrator is down by then), reports Success,
and goes on: the outcome is kept and delivered later."""

import os
import time

import _helpers
import robot_framework as rf

_helpers.record("robot")
task = rf.next_task("invoices")
_helpers.mark("ready")
while not os.path.exists(os.path.join(_helpers.OUT, "go")):
    time.sleep(0.02)
rf.set_task_status(task["guid"], rf.TASK_SUCCESS)
_helpers.mark("carried-on")
