"""Benchmark robot: runs TEST_ROBOT_SECONDS (logging TEST_LOG_LINES entries first), then writes the time of its
last line to stamp.txt (same format as stamp.py)."""

import os
import time

import robot_framework

FIRST = time.time()
for i in range(int(os.environ.get("TEST_LOG_LINES", "0"))):
    robot_framework.log(f"benchmark entry {i}")
time.sleep(float(os.environ.get("TEST_ROBOT_SECONDS", "1")))
with open(os.path.join(os.environ["TEST_OUT"], "stamp.txt"), "w") as f:
    f.write(f"{FIRST!r} {time.time()!r}\n")
