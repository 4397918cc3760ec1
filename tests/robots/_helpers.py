"""Shared by the test robots: record each process (role, pid, create time) and spawn helpers."""

import os
import signal
import subprocess
import sys
import time

import psutil

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.environ.get("TEST_OUT", ".")


def record(role: str) -> None:
    """Append 'role pid create_time' to TEST_OUT/pids.txt."""
    me = psutil.Process()
    with open(os.path.join(OUT, "pids.txt"), "a", encoding="utf-8") as f:
        f.write(f"{role} {me.pid} {me.create_time()!r}\n")


def mark(name: str, text: str = "") -> None:
    with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
        f.write(text)


def spawn(role: str, *extra: str, detached: bool = False) -> subprocess.Popen:
    """Start tests/robots/_proc.py in the given role (it records itself, then does what the role says)."""
    options = {}
    if detached:
        if os.name == "nt":
            options["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.DETACHED_PROCESS
        else:
            options["start_new_session"] = True
    return subprocess.Popen([sys.executable, os.path.join(HERE, "_proc.py"), role, *extra],
                            stdin=subprocess.DEVNULL, **options)


def ignore_signals() -> None:
    for name in ("SIGINT", "SIGTERM", "SIGBREAK"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)


def wait_for_roles(*roles: str, timeout: float = 30.0) -> None:
    """Block until every role named has recorded itself (so a test never races the spawning)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(os.path.join(OUT, "pids.txt"), encoding="utf-8") as f:
                seen = {line.split()[0] for line in f if line.strip()}
        except FileNotFoundError:
            seen = set()
        if set(roles) <= seen:
            return
        time.sleep(0.02)
    raise SystemExit(f"roles {roles} never started")


def sleep_forever() -> None:
    while True:
        time.sleep(1)
