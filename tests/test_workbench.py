"""End to end: the emulator's --serve as a robot author's workbench (issue 22): readable live lines, Stop and
Abort typed on stdin or set by a timer, an end by itself with the end state."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, wait_until

EMULATOR = os.path.join(REPO, "tests", "orchestrator_emulator.py")


class Bench:
    """A real `orchestrator_emulator.py --serve` process and the real framework against it."""

    def __init__(self, tmp: Path, *args: str, stdin: bool = False) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.tmp, self.output, self.config = tmp, tmp / "serve.out", tmp / "local.ini"
        with open(self.output, "w", encoding="utf-8") as out:
            self.proc = subprocess.Popen([sys.executable, EMULATOR, "--serve", "--port", str(port),
                                          "--write-config", str(self.config), *args], stdout=out,
                                         stderr=subprocess.STDOUT, text=True,
                                         stdin=subprocess.PIPE if stdin else subprocess.DEVNULL)
        assert self.shows("Commands (type them here)")

    def text(self) -> str:
        return self.output.read_text(encoding="utf-8")

    def shows(self, words: str, timeout: float = 45) -> bool:
        return wait_until(lambda: words in self.text(), timeout)

    def type(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def framework(self, **env: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, os.path.join(REPO, "robot_framework.py"), "--config", str(self.config),
                                 "--once", "--no-logoff"], env=dict(os.environ, **env), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def bench_args(tmp_path):
    benches = []

    def make(*args: str, stdin: bool = False) -> Bench:
        benches.append(Bench(tmp_path, *args, stdin=stdin))
        return benches[-1]

    yield make
    for bench in benches:
        bench.close()


def test_queue_robot_live_lines_name_tasks_and_statuses_and_it_ends_by_itself(bench_args):
    bench = bench_args("--data", os.path.join(REPO, "robots", "example_data.json"), "--job", "invoice_queue_robot",
                       "--exit-when-idle")
    assert bench.framework().wait(timeout=60) == 0
    assert bench.proc.wait(timeout=60) == 0  # exited by itself, printing the end state
    shown = bench.text()
    assert "asset 'ERP login' (credentials): login 'robot01', password ***" in shown
    assert "example-only-password" not in shown
    live = shown[shown.index("Commands"):shown.index("End state:")]
    assert live.index("  job 'invoice_queue_robot' -> In Progress") < live.index("  task 'INV-1001' -> In progress")
    assert "  task 'INV-1001' -> Success" in live and "  task 'INV-1002' -> Failed (business exception)" in live
    assert "  log Info     INV-1001: booked" in live
    assert "  log Warning  Task 'INV-1002': business exception: amount 25000 needs" in live
    assert live.index("  job 'invoice_queue_robot' -> Success") < live.index("  log Info     Job ended: Success")
    assert "{'guid'" not in live  # no raw request dumps
    end = shown[shown.index("End state:"):]
    assert "invoice_queue_robot: In Progress -> Success" in end and "Failed (business exception)" in end


def test_stop_typed_on_stdin_ends_the_running_job_stopped(bench_args):
    bench = bench_args("--job", "hello_robot", stdin=True)
    framework = bench.framework(HELLO_ROBOT_STEPS="100000")
    try:
        assert bench.shows("  log Info     hello_robot started")
        bench.type("stop")
        assert framework.wait(timeout=60) == 0
    finally:
        framework.kill()
    assert bench.shows("  job 'hello_robot' -> Stopped")
    bench.type("state")
    assert bench.shows("hello_robot: In Progress -> Stopped")
    bench.type("quit")
    assert bench.proc.wait(timeout=30) == 0
    assert "(stop requested for job 'hello_robot' by you" in bench.text()


def test_stop_after_and_exit_when_idle_run_a_soft_stop_rehearsal_unattended(bench_args):
    bench = bench_args("--job", "hello_robot", "--stop-after", "1", "--exit-when-idle")
    assert bench.framework(HELLO_ROBOT_STEPS="100000").wait(timeout=60) == 0
    assert bench.proc.wait(timeout=60) == 0
    shown = bench.text()
    assert "(stop requested for job 'hello_robot' by --stop-after 1" in shown
    assert "  job 'hello_robot' -> Stopped" in shown and "End state:" in shown
    assert "stopped on request" in shown and "))" not in shown


@pytest.mark.skipif(os.name == "nt", reason="Windows has no catchable SIGTERM from another process "
                    "(terminate() is TerminateProcess)")
def test_sigterm_prints_the_end_state(bench_args):
    bench = bench_args("--job", "hello_robot")
    bench.proc.send_signal(signal.SIGTERM)
    assert bench.proc.wait(timeout=30) == 0
    assert "End state:" in bench.text() and "hello_robot: " in bench.text()
