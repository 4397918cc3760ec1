"""End to end: the job's story and the robot's log entries reach the Orchestrator's job log (issue 11)."""

from __future__ import annotations

import base64
import logging
import time
import uuid

import psutil
import pytest

import robot_framework
from conftest import wait_until

SUCCESS, FAILED, IN_PROGRESS = 4, 5, 8


def entries(world, job=None):
    return [e for e in world.emu.logs if job is None or e["job_guid"] == job.guid]


def test_failing_robot_leaves_reason_and_output_tail_in_the_job_log(world):
    job = world.emu.add_job("crash")
    assert world.run("--no-logoff").returncode == 0
    assert job.history == [IN_PROGRESS, FAILED]
    logs = entries(world, job)
    started, ended, tail = logs
    assert started["level"] == "Info" and "Job started: robot script 'crash'" in started["message"]
    assert ended["level"] == "Error" and ended["message"].startswith("Job ended: Failed (exit code 1)")
    assert tail["level"] == "Error" and "RuntimeError: robot crashed on purpose" in tail["message"]
    assert "Traceback" in tail["message"]
    version_guid = str(uuid.uuid5(uuid.NAMESPACE_URL, "crash"))  # the emulator's ProcessVersion GUID
    assert all(e["robot_guid"] == world.emu.robot_guid and e["process_version_guid"] == version_guid for e in logs)


def test_success_has_no_output_tail(world):
    job = world.emu.add_job("ok")
    assert world.run("--no-logoff").returncode == 0
    assert [e["level"] for e in entries(world, job)] == ["Info", "Info"]
    assert entries(world, job)[-1]["message"].startswith("Job ended: Success (exit code 0)")


def test_robot_log_calls_and_logging_records_arrive_in_order_with_levels(world):
    job = world.emu.add_job("log_story")
    assert world.run("--no-logoff").returncode == 0
    logs = [(e["level"], e["message"]) for e in entries(world, job)]
    robot = logs[1:-2]
    assert robot == [("Info", "step 1: opened the invoice"), ("Warning", "step 2: odd total"),
                     ("Debug", "debug detail"), ("Info", "step 3 via logging"), ("Error", "step 4 via logging"),
                     ("Critical", "step 5 via logging")]
    assert logs[-2][0] == "Error" and "exit code 2" in logs[-2][1]
    assert "the last printed line before the failure" in logs[-1][1]
    output = next((world.log_dir / "jobs").glob("*/output.log")).read_text(encoding="utf-8")
    assert "step 1: opened the invoice" in output and "step 5 via logging" in output  # also in output.log


def test_the_shipper_idles_while_a_robot_that_logged_works_on(world):
    # A robot logs, then works without logging: the shipper has nothing new to read, and looks again
    # once per LOG_POLL_INTERVAL. (It once woke itself at every look once the robot had logged: a core
    # burnt for the rest of every such job.) Over two seconds the framework idles; the spin took ~90 %.
    job = world.emu.add_job("log_count")
    framework = world.start("--no-logoff", TEST_LOG_LINES="1", TEST_ROBOT_UNTIL="release")
    try:
        assert world.emu.wait_for(lambda: any(e["message"] == "entry 0" for e in entries(world, job)))
        process = psutil.Process(framework.pid)
        before, started = sum(process.cpu_times()[:2]), time.monotonic()
        time.sleep(2.0)  # the window measured, not a wait for an event
        used = sum(process.cpu_times()[:2]) - before
        assert used < 0.5 * (time.monotonic() - started), f"{used:.2f} s of CPU while the robot worked"
        (world.out / "release").write_text("")
        assert framework.wait(timeout=60) == 0
    finally:
        framework.kill()
    assert job.history == [IN_PROGRESS, SUCCESS]


@pytest.mark.parametrize("spelling", ["snake", "pascal"])
def test_either_documented_field_spelling_is_accepted(world, spelling):
    world.emu.log_spelling = spelling  # the server insists on one spelling (400 otherwise)
    job = world.emu.add_job("ok")
    assert world.run("--no-logoff").returncode == 0
    assert len(entries(world, job)) == 2


def test_final_status_is_not_delayed_by_a_stalled_log_endpoint(world):
    world.emu.add_fault("log", "delay", times=100, seconds=120)
    job = world.emu.add_job("timed")
    started = time.monotonic()
    result = world.run("--no-logoff", config=world.reconfigure(orchestrator__request_timeout=60),
                       TEST_ROBOT_SECONDS="1", timeout=120)
    assert result.returncode == 0
    assert job.history == [IN_PROGRESS, SUCCESS]
    final = next(c for c in world.emu.calls("update") if c.fields.get("status") == "4")
    first_log = world.emu.calls("log")[0]
    # The robot ran ~1 s; a status held back by the stalled entry would come after request_timeout (60 s).
    assert final.at - first_log.at < 30
    assert time.monotonic() - started < 50  # the flush is bounded (5 s), not request_timeout per entry
    assert "log entries not delivered to the Orchestrator" in world.log_text()


def test_missing_log_endpoint_gets_one_warning_and_no_more_attempts(world):
    world.emu.log_endpoint = False
    jobs = [world.emu.add_job("ok"), world.emu.add_job("crash")]
    assert world.run("--no-logoff").returncode == 0
    assert [j.history[-1] for j in jobs] == [SUCCESS, FAILED]
    assert len(world.emu.calls("log")) == 1
    assert world.log_text().count("has no /api/log/create (HTTP 404)") == 1
    assert "not delivered" not in world.log_text()


def test_log_entries_retried_on_5xx(world):
    world.emu.add_fault("log", "status", times=2, code=503)
    job = world.emu.add_job("ok")
    assert world.run("--no-logoff").returncode == 0
    assert len(entries(world, job)) == 2


def test_send_logs_false_sends_nothing(world):
    job = world.emu.add_job("log_story")
    assert world.run("--no-logoff", config=world.reconfigure(orchestrator__send_logs="false")).returncode == 0
    assert job.history == [IN_PROGRESS, FAILED]
    assert world.emu.calls("log") == []
    output = next((world.log_dir / "jobs").glob("*/output.log")).read_text(encoding="utf-8")
    assert "step 1: opened the invoice" in output  # the robot's log() still writes its output


def test_a_flooding_robot_stays_within_the_caps(world):
    job = world.emu.add_job("log_flood")
    # the robot sleeps a little after flooding, so everything within the cap is shipped while it runs
    proc = world.start("--no-logoff", TEST_LOG_LINES="20000")
    assert wait_until(lambda: job.history[-1:] == [SUCCESS], timeout=90)
    assert proc.wait(timeout=30) == 0
    logs = entries(world, job)
    robot = [e for e in logs if e["message"].startswith("line ")]
    assert 0 < len(robot) <= robot_framework.LOG_MAX_ENTRIES
    assert [e["message"].split()[1] for e in robot] == [str(i) for i in range(len(robot))]  # in order
    assert all(len(e["message"]) <= robot_framework.LOG_MESSAGE_MAX + 3 for e in logs)
    delivered_all = len(robot) == robot_framework.LOG_MAX_ENTRIES
    assert delivered_all or "log entries not delivered" in world.log_text()
    if delivered_all:
        assert any("19000 log entries of the robot dropped" in e["message"] for e in logs)


def test_entries_never_carry_the_authorization_value(world):
    job = world.emu.add_job("log_story")
    assert world.run("--no-logoff").returncode == 0
    token = base64.b64encode(world.emu.robot_guid.encode()).decode()
    for e in entries(world, job):
        assert token not in e["message"] and world.emu.robot_guid not in e["message"]


# --- pure logic -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("levelno", "name"), [
    (logging.DEBUG, "debug"), (5, "debug"), (logging.INFO, "info"), (logging.WARNING, "warning"),
    (logging.ERROR, "error"), (logging.CRITICAL, "critical"), (logging.CRITICAL + 10, "critical"), (25, "info")])
def test_logging_levels_map_to_the_five(levelno, name):
    assert robot_framework.level_name(levelno) == name


def test_orchestrator_level_strings():
    assert [robot_framework.ORCHESTRATOR_LEVELS[x] for x in robot_framework.LOG_LEVELS] == [
        "Debug", "Info", "Warning", "Error", "Critical"]


def test_robot_entry_parsing_and_caps():
    assert robot_framework.parse_robot_entry(b'{"level": "warning", "message": "hi"}') == ("warning", "hi")
    assert robot_framework.parse_robot_entry(b'{"level": "loud", "message": "x"}') == ("info", "x")
    assert robot_framework.parse_robot_entry(b"not json") == ("info", "not json")
    long = robot_framework.clean_message("z" * 10_000)
    assert len(long) == robot_framework.LOG_MESSAGE_MAX + 3 and long.endswith("...")
    assert robot_framework.clean_message("a\x00b\nc\td") == "a b\nc\td"


def test_output_tail_is_bounded(tmp_path):
    path = tmp_path / "output.log"
    path.write_text("".join(f"line {i}\n" for i in range(5000)), encoding="utf-8")
    tail = robot_framework.output_tail(str(path))
    assert tail.splitlines() == [f"line {i}" for i in range(4980, 5000)]
    path.write_text("x" * 100_000, encoding="utf-8")
    assert len(robot_framework.output_tail(str(path)).encode()) <= robot_framework.OUTPUT_TAIL_BYTES
