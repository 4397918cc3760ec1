"""End to end: job log entries are never lost: delivered in order after an outage, the end of a run or a
crash, with the framework's memory bounded whatever the robot writes (issue 18)."""

from __future__ import annotations

import contextlib
import json
import re
import time

import psutil
import pytest

SUCCESS, FAILED, IN_PROGRESS = 4, 5, 8


def robot_entries(world, job=None) -> list[str]:
    return [e["message"] for e in world.emu.logs if (job is None or e["job_guid"] == job.guid)
            and re.fullmatch(r"(\[[\d:]+\] )?entry \d+", e["message"])]


def numbers(messages: list[str]) -> list[int]:
    return [int(m.rsplit(" ", 1)[1]) for m in messages]


def test_entries_failing_for_a_while_all_arrive_in_order_once(world):
    world.emu.add_fault("log", "status", times=25, code=500)
    job = world.emu.add_job("log_count")
    proc = world.start("--no-logoff", TEST_LOG_LINES="30", TEST_ROBOT_UNTIL="go")
    try:
        # The job runs until the 25 failures are spent (each entry is retried, backing off up to 1 s).
        assert world.emu.wait_for(lambda: not world.emu.faults["log"], timeout=120)
        world.release()
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
    assert job.history == [IN_PROGRESS, SUCCESS]
    assert world.emu.wait_for(lambda: len(robot_entries(world, job)) >= 30)
    assert numbers(robot_entries(world, job)) == list(range(30))  # all, in order, each once
    assert "Job ended: Success" in world.emu.logs[-1]["message"]


def test_entries_undeliverable_for_a_whole_run_arrive_at_the_next_start_with_their_time(world):
    world.emu.add_fault("log", "status", times=100_000, code=503)
    job = world.emu.add_job("log_count")
    assert world.run("--no-logoff", "--once", TEST_LOG_LINES="30").returncode == 0
    assert job.history == [IN_PROGRESS, SUCCESS]
    assert world.emu.logs == []
    assert "log entries not delivered to the Orchestrator yet" in world.log_text()
    # Two minutes pass (the outbox's entries are made older, as if they were).
    [outbox] = (world.log_dir / "jobs").glob("*/logs.jsonl")
    records = [json.loads(line) for line in outbox.read_text(encoding="utf-8").splitlines()]
    older = [{**r, "at": r["at"] - 120} if "at" in r else r for r in records]  # not the delivery marks
    outbox.write_text("".join(json.dumps(r) + "\n" for r in older), encoding="utf-8")
    with world.emu.lock:
        world.emu.faults["log"].clear()
    assert world.run("--no-logoff").returncode == 0  # no job: the backlog goes before the run exits
    assert numbers(robot_entries(world, job)) == list(range(30))
    messages = [e["message"] for e in world.emu.logs]
    assert messages[0].endswith("Job started: robot script 'log_count'" + messages[0].split("'log_count'")[1])
    stamp = time.strftime("%H:%M", time.localtime(records[0]["at"] - 120))
    assert all(re.match(r"\[\d\d:\d\d:\d\d\] ", m) for m in messages) and messages[0].startswith(f"[{stamp}")
    assert "Job ended: Success" in messages[-1]
    assert not list((world.log_dir / "jobs").glob("*/logs.jsonl"))  # settled


def test_entries_of_a_job_whose_framework_was_killed_arrive_after_the_restart(world):
    world.emu.add_fault("log", "status", times=100_000, code=503)
    job = world.emu.add_job("log_count")
    proc = world.start("--no-logoff", TEST_LOG_LINES="20", TEST_ROBOT_UNTIL="go")
    try:
        assert world.wait_file("ready")
        proc.kill()  # no handler runs; nothing was delivered
        proc.wait(timeout=30)
    finally:
        proc.kill()
    with world.emu.lock:
        world.emu.faults["log"].clear()
    world.release()  # the orphaned robot may go (the restart kills it anyway)
    assert world.run("--no-logoff").returncode == 0
    assert job.history == [IN_PROGRESS, FAILED]
    assert world.emu.wait_for(lambda: len(robot_entries(world, job)) >= 20)
    assert numbers(robot_entries(world, job)) == list(range(20))
    messages = [e["message"] for e in world.emu.logs if e["job_guid"] == job.guid]
    assert "Job started" in messages[0] and any("framework restarted" in m for m in messages)


@pytest.mark.parametrize("ended", [True, False], ids=["64-MiB-line", "line-that-never-ends"])
def test_a_huge_log_line_is_cut_while_read_memory_stays_bounded_and_later_entries_arrive(world, ended):
    job = world.emu.add_job("log_long")
    proc = world.start("--no-logoff", TEST_LONG_END="1" if ended else "0")
    try:
        assert world.wait_file("ready")
        framework = psutil.Process(proc.pid)
        baseline = peak = framework.memory_info().rss
        world.release("write")
        assert world.wait_file("written")
        world.release()  # the robot exits: an unended line is whole now
        # The whole line is read before the framework exits (while the robot runs, or at the job's end at
        # the latest): its peak memory until then is what the reader cost.
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(psutil.Error):
                peak = max(peak, framework.memory_info().rss)
            time.sleep(0.01)
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
    assert job.history == [IN_PROGRESS, SUCCESS]
    assert peak - baseline < 32 * 2**20, f"the reader grew by {(peak - baseline) / 2**20:.0f} MiB"
    assert world.emu.wait_for(lambda: any("over-long log lines" in e["message"] for e in world.emu.logs))
    cut = next(e for e in world.emu.logs if e["message"].startswith("LONG x"))
    assert cut["level"] == "Warning" and "[cut: " in cut["message"] and len(cut["message"]) < 4100
    gap = next(e["message"] for e in world.emu.logs if "over-long log lines" in e["message"])
    assert "1 over-long log lines of the robot cut to 4000 characters" in gap
