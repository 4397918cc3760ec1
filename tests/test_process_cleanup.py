"""End to end: abort, stop, timeout, job end and interrupts leave nothing of the robot running (issue 3)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

import pytest

from conftest import REPO, TEST_ROBOTS, alive_roles, is_alive, process_start_seconds, wait_until

SUCCESS, FAILED, ABORTED, STOPPED, IN_PROGRESS = 4, 5, 3, 7, 8
POSIX_ONLY = pytest.mark.skipif(
    os.name == "nt", reason="Windows cannot deliver a catchable interrupt to another process here: os.kill(SIGTERM) "
    "is TerminateProcess, and CTRL_C/CTRL_BREAK_EVENT need a console shared with it (WinError 12 under Wine)")


def test_abort_kills_an_orphaned_grandchild(world):
    job, code = world.run_until_ready("orphan", lambda job, _: world.emu.request_abort(job))
    assert code == 0
    assert job.history == [IN_PROGRESS, ABORTED]
    pids = world.pids()
    assert {"robot", "middle", "orphan"} <= set(pids)
    assert alive_roles(world) == []


def test_abort_kills_a_robot_that_ignores_signals(world):
    job, _ = world.run_until_ready("stubborn", lambda job, _: world.emu.request_abort(job))
    assert job.history == [IN_PROGRESS, ABORTED]
    assert alive_roles(world) == []


def test_abort_kills_a_robot_that_keeps_spawning(world):
    job, _ = world.run_until_ready("spawner", lambda job, _: world.emu.request_abort(job))
    assert job.history == [IN_PROGRESS, ABORTED]
    assert len(world.pids()) >= 4
    # a child spawned in the very last instant is recorded before it can be found; give it a moment
    assert wait_until(lambda: alive_roles(world) == [], timeout=20), alive_roles(world)
    assert "Killed" in world.log_text()


def test_leftover_processes_are_killed_at_job_end_and_named_in_the_log(world):
    job = world.emu.add_job("leftover")
    assert world.run("--no-logoff").returncode == 0
    assert job.history == [IN_PROGRESS, SUCCESS]
    assert "leftover" in world.pids()
    assert alive_roles(world) == []
    log = world.log_text()
    assert "left behind by the robot" in log
    assert f"({world.pids()['leftover'][0]})" in log


def test_leftovers_are_kept_when_kill_leftovers_is_false(world):
    job = world.emu.add_job("leftover")
    assert world.run("--no-logoff", config=world.reconfigure(robot__kill_leftovers="false")).returncode == 0
    assert job.history == [IN_PROGRESS, SUCCESS]
    assert alive_roles(world) == ["leftover"]


def test_job_timeout_kills_and_fails_with_the_reason(world):
    # The robot, its child and its grandchild are three Python starts in a row: the timeout must come
    # after all three, however slow this lane starts a process (Wine), with a wide margin.
    timeout = round(max(1.5, 12 * process_start_seconds()), 1)
    job = world.emu.add_job("tree")
    result = world.run("--no-logoff", config=world.reconfigure(robot__job_timeout=timeout), timeout=60 + timeout)
    assert result.returncode == 0
    assert job.history == [IN_PROGRESS, FAILED]
    assert f"ran past job_timeout ({timeout:g} s)" in world.log_text()
    assert {"robot", "child", "grandchild"} <= set(world.pids())
    assert alive_roles(world) == []


def test_stop_escalation_kills_children_that_ignore_sigint(world):
    job, _ = world.run_until_ready("stubborn", lambda job, _: world.emu.request_stop(job),
                                     config=world.reconfigure(robot__stop_timeout=0.5))
    assert job.history == [IN_PROGRESS, ABORTED]
    assert alive_roles(world) == []


@POSIX_ONLY
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_framework_interrupted_mid_job_kills_robot_and_reports_aborted(world, sig):
    job, code = world.run_until_ready("tree", lambda job, proc: proc.send_signal(sig))
    assert code == 130
    assert job.history == [IN_PROGRESS, ABORTED]
    assert alive_roles(world) == []
    assert not world.logged_off.exists()
    assert world.emu.calls("heartbeat")[-1].fields["Status"] == "2"  # a last Ready heartbeat
    assert "Traceback" not in world.log_text()


@POSIX_ONLY
def test_framework_interrupted_while_idle_exits_130_without_logoff(world):
    # Keep the framework busy in its heartbeat retry loop (the server answers 500), then Ctrl+C it.
    world.emu.add_fault("heartbeat", "status", times=100, code=500)
    proc = world.start(config=world.reconfigure(orchestrator__retry_seconds=30))
    assert wait_until(lambda: len(world.emu.calls("heartbeat")) >= 2)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=20) == 130
    assert not world.logged_off.exists()


def test_processes_with_another_jobs_marker_are_untouched(world):
    other_env = dict(world.env(), ROBOT_JOB_GUID=str(uuid.uuid4()))
    bystander = subprocess.Popen([sys.executable, os.path.join(TEST_ROBOTS, "_proc.py"), "bystander"],
                                 env=other_env, stdin=subprocess.DEVNULL)
    try:
        assert wait_until(lambda: "bystander" in world.pids())
        job, _ = world.run_until_ready("tree", lambda job, _: world.emu.request_abort(job))
        assert job.history == [IN_PROGRESS, ABORTED]
        assert set(alive_roles(world)) == {"bystander"}
        assert is_alive(bystander.pid, world.pids()["bystander"][1])
    finally:
        bystander.kill()
        bystander.wait()


def test_robot_helper_import_has_no_side_effects(tmp_path):
    code = (
        "import logging, signal, sys, threading\n"
        "before = signal.getsignal(signal.SIGTERM)\n"
        "import robot_framework\n"
        "assert signal.getsignal(signal.SIGTERM) is before\n"
        "assert threading.active_count() == 1\n"
        "robot_framework.log('no job: only a line on stderr')\n"
        "assert not logging.getLogger().handlers and not logging.getLogger('robot_framework').handlers\n"
        "assert robot_framework.stop_requested() is False and robot_framework.job_context() == {}\n"
        "print('clean')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROBOT_")}
    env["PYTHONPATH"] = REPO
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                            check=False)
    assert result.stdout.strip() == "clean", result.stderr
    assert not list(tmp_path.iterdir())  # and it wrote nothing
