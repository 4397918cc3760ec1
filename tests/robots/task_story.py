"""Takes the queue's tasks with the task loop and logs a numbered story line before, inside and after
each: the crash tests kill the framework at every request this job makes and check what survives."""

import os

import _helpers
import robot_framework as rf

_helpers.record("robot")
line = 0


def say() -> None:
    global line
    rf.log(f"story {line}")
    line += 1


say()
for task in rf.tasks(os.environ.get("TEST_QUEUE", "invoices")):
    with task:
        say()
    say()
say()
