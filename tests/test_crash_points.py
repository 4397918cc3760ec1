"""Crash injection end to end (issue 28).

The framework is killed (SIGKILL; TerminateProcess on Windows) right after the Orchestrator applied its
n-th request, so that request took effect and its answer was lost, for n across a whole job that takes
queue tasks, sets their outcomes and logs; then it is started again. Whatever n: no task is left In
progress, every outcome the robot set is on the server, every log entry the robot wrote arrives in order
(a repeat only of an entry whose answer was lost), and no job status is falsified.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

import robot_framework as rf

SUCCESS, FAILED, IN_PROGRESS = 4, 5, 8
NEW, TASK_IN_PROGRESS, TASK_SUCCESS, APP_FAILED = 0, 1, 2, 3
# A job here makes about 25 requests (framework and robot together; the count varies with timing).
POINTS = range(1, 31, 2) if os.name != "nt" else range(2, 31, 7)  # Wine starts processes slowly


def story_numbers(world, job) -> list[int]:
    return [int(e["message"].split()[-1]) for e in world.emu.logs
            if e["job_guid"] == job.guid and e["message"].startswith("story ")]


def robot_lines(world) -> list[int]:
    """What the robot's log() wrote (its own file in the job folder)."""
    paths = list((world.log_dir / "jobs").glob("*/robot-log.jsonl"))
    if not paths:
        return []  # killed (by the restart's clean-up) before its first line
    [path] = paths
    return [int(json.loads(line)["message"].split()[-1]) for line in path.read_text().splitlines() if line]


@pytest.mark.parametrize("point", POINTS)
def test_killed_after_any_request_nothing_is_lost_or_falsified(world, point):
    world.emu.add_queue("invoices")
    tasks = [world.emu.add_task("invoices", f"INV-{n}", {}) for n in range(2)]
    job = world.emu.add_job("task_story")
    started, killed_at = threading.Event(), []
    framework: list = []

    def kill_the_framework(number, request):
        if number == point:
            started.wait(30)
            framework[0].kill()
            killed_at.append(request.endpoint)

    world.emu.after_apply = kill_the_framework
    framework.append(world.start("--no-logoff"))
    started.set()
    try:
        framework[0].wait(timeout=90)
    finally:
        framework[0].kill()
    world.emu.after_apply = None
    result = world.run("--no-logoff", timeout=90)
    assert result.returncode == 0, result.stderr

    # The job: a true status. Consumed but killed before anything was written: the Orchestrator's own
    # job timeout is its only way out (consumeNextJob is not idempotent; README "Durability").
    if killed_at == ["consume"] and not job.history:
        return
    assert job.history and job.history[-1] in (SUCCESS, FAILED), (killed_at, job.history)
    if SUCCESS in job.history:
        assert job.history[-1] == SUCCESS, (killed_at, job.history)  # never falsified by the restart
    # The tasks: none left In progress; an outcome the robot set stays set.
    for task in tasks:
        history = task["history"]
        assert not history or history[-1] in (TASK_SUCCESS, NEW, APP_FAILED), (killed_at, task["name"], history)
        if TASK_SUCCESS in history:
            assert history[-1] == TASK_SUCCESS, (killed_at, task["name"], history)
    # The story: every line the robot wrote arrives, in order; a repeat only right where a crash came.
    assert world.emu.wait_for(lambda: any(e["job_guid"] == job.guid and e["message"].startswith("Job ended")
                                          for e in world.emu.logs)), (killed_at, world.log_text()[-3000:])
    arrived = story_numbers(world, job)
    first_seen = list(dict.fromkeys(arrived))
    assert first_seen == sorted(first_seen) == robot_lines(world), (killed_at, arrived)
    assert len(arrived) - len(first_seen) <= 1, (killed_at, arrived)


@pytest.mark.skipif(os.name == "nt", reason="SIGTERM is POSIX; Windows' console and session ends: test_windows_session")
def test_sigterm_after_the_robot_ended_keeps_its_true_status(world):
    # SIGTERM reaches the framework while its final job/update is on the wire (after the robot ended and
    # its leftover was swept): the job ends Success, not Aborted now nor "framework restarted" later.
    job = world.emu.add_job("leftover")
    started, framework = threading.Event(), []

    def sigterm_at_the_final_status(number, request):
        if request.endpoint == "update" and request.fields.get("status") == str(SUCCESS):
            started.wait(30)
            framework[0].send_signal(signal.SIGTERM)

    world.emu.after_apply = sigterm_at_the_final_status
    framework.append(world.start("--no-logoff"))
    started.set()
    try:
        assert framework[0].wait(timeout=60) == 130
    finally:
        framework[0].kill()
    world.emu.after_apply = None
    assert job.history == [IN_PROGRESS, SUCCESS]
    assert world.run("--no-logoff").returncode == 0
    assert job.history == [IN_PROGRESS, SUCCESS]
    assert "framework restarted" not in world.log_text()
    assert "exiting now" in world.log_text()  # the interrupt waited for the job's end, then took effect


@pytest.mark.skipif(os.name == "nt", reason="a file size limit (RLIMIT_FSIZE) is how this test fills the disk")
def test_a_full_disk_at_the_jobs_end_is_exit_7_with_the_job_reported_and_nothing_torn_for_good(world):
    import resource
    import subprocess
    import sys

    limit = 256 * 1024
    world.log_dir.mkdir()
    # An earlier job's status the server keeps refusing fills the journal up to the limit: the next
    # record cannot be written whole (a full disk, as the framework sees it: a short write).
    stuck = "0e5b3c1e-0000-4000-8000-000000000000"
    world.emu.add_fault("update", "status", times=1000, code=503, match={"guid": stuck})
    journal = world.log_dir / f"journal-{rf.robot_key(world.emu.robot_guid)}.jsonl"
    record = {"id": "stuck", "at": time.time(), "job": stuck, "status": FAILED, "reason": ""}
    record["reason"] = "r" * (limit - 40 - len(json.dumps(record)))
    journal.write_text(json.dumps(record) + "\n")
    job = world.emu.add_job("ok")
    result = subprocess.run([sys.executable, rf.__file__, "--config", world.config, "--no-logoff"], env=world.env(),
                            capture_output=True, timeout=90, check=False,
                            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)))
    assert result.returncode == rf.EXIT_MACHINE_FAULT, result.stderr
    assert job.history == [IN_PROGRESS, SUCCESS]  # the status still went out
    assert "cannot write the journal" in world.log_text() and "Traceback" not in world.log_text()
    # The disk has room again: the torn record is skipped, the next job runs, nothing is re-sent or falsified.
    second = world.emu.add_job("ok")
    assert world.run("--no-logoff").returncode == 0
    assert job.history == [IN_PROGRESS, SUCCESS] and second.history == [IN_PROGRESS, SUCCESS]
    box = rf.Outbox(str(journal))
    assert [r["job"] for r in box.pending()] == [stuck] and box.unreadable == 1
