"""A vendor-style robot that waits for SIGBREAK (Windows) as its soft-stop signal, then ends cleanly."""

import os
import signal
import sys
import time

OUT = os.environ["TEST_OUT"]


def stop(_signum, _frame):
    with open(os.path.join(OUT, "got-sigbreak"), "w") as f:
        f.write("yes")
    sys.exit(0)


signal.signal(getattr(signal, "SIGBREAK", signal.SIGINT), stop)
with open(os.path.join(OUT, "ready"), "w") as f:
    f.write("")
for _ in range(600):
    time.sleep(0.1)
sys.exit(1)
