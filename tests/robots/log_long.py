"""Once the test creates TEST_OUT/write: writes one 64 MiB line straight into its log file (TEST_LONG_END=0:
without ending it), then, for an ended line, a normal log() entry; then waits for the test's go file."""

import os
import time

import _helpers
import robot_framework as rf


def wait_for(name: str) -> None:
    while not os.path.exists(os.path.join(_helpers.OUT, name)):
        time.sleep(0.02)


_helpers.record("robot")
_helpers.mark("ready")
wait_for("write")
ended = os.environ.get("TEST_LONG_END", "1") == "1"
with open(os.environ["ROBOT_LOG_FILE"], "a", encoding="utf-8") as f:
    f.write('{"level": "warning", "message": "LONG ')
    block = "x" * (1024 * 1024)
    for _ in range(64):
        f.write(block)
    if ended:
        f.write('"}\n')
if ended:
    rf.log("the entry after the long line")
_helpers.mark("written")
wait_for("go")
