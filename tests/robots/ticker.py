"""Prints a line every 0.2 s for TEST_ROBOT_SECONDS (default 3), then exits 0: never idle."""

import os
import time

end = time.monotonic() + float(os.environ.get("TEST_ROBOT_SECONDS", "3"))
while time.monotonic() < end:
    print("still working", flush=True)
    time.sleep(0.2)
