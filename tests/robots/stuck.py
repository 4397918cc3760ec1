"""Stuck in a function of its own (time.sleep), with a child process; ignores SIGINT/SIGTERM, so a Stop
escalates. TEST_DEAF=1: also ignores the framework's stack request (POSIX: SIGUSR1)."""

import os
import signal
import time

import _helpers

_helpers.ignore_signals()
if os.environ.get("TEST_DEAF") == "1" and hasattr(signal, "SIGUSR1"):
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)
_helpers.record("robot")
_helpers.spawn("stuck-child")
_helpers.wait_for_roles("stuck-child")


def wait_for_dialog() -> None:
    _helpers.mark("ready")
    while True:
        time.sleep(0.5)


wait_for_dialog()
