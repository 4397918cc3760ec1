"""Logs TEST_LOG_LINES entries (default 20000) as fast as it can, some very long; then waits 3 s and succeeds."""

import os
import time

import robot_framework

for i in range(int(os.environ.get("TEST_LOG_LINES", "20000"))):
    robot_framework.log(f"line {i} " + ("y" * 10_000 if i % 1000 == 0 else ""))
print("flood done")
time.sleep(3)  # time for the framework to ship what the cap lets through while the job still runs
