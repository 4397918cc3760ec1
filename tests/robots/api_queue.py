"""Adds a task, then works through the queue: amounts over 1000 are business failures."""

import json
import os

import _helpers
import robot_framework as rf

queue = os.environ.get("TEST_QUEUE", "invoices")
done = {"current_task": rf.current_task(), "processed": []}
done["added"] = rf.add_task(queue, "added by the robot", {"amount": 5, "note": "naïve ✓"})
while True:
    task = rf.next_task(queue)
    if task is None:
        break
    amount = task["parameters"].get("amount", 0)
    status = rf.TASK_FAILED_BUSINESS if amount > 1000 else rf.TASK_SUCCESS
    rf.set_task_status(task["guid"], status)
    done["processed"].append([task["name"], task["parameters"], status])
_helpers.mark("queue.json", json.dumps(done))
