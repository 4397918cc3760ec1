"""End to end: outages, crashes, duplicate starts, hostile responses and TLS (issue 4)."""

from __future__ import annotations

import json
import os
import socket
import time

import pytest

import robot_framework
from conftest import Env, alive_roles, make_config, wait_until
from orchestrator_emulator import Emulator

SUCCESS, FAILED, ABORTED, STOPPED, IN_PROGRESS = 4, 5, 3, 7, 8


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def journal_pending(world: Env) -> list:
    """Final statuses journaled and not delivered yet."""
    return [r for path in world.log_dir.glob("journal-*.jsonl") for r in robot_framework.Outbox(str(path)).pending()]


# --- faults on every endpoint -----------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["status", "html", "drop", "truncated", "list", "no-code"])
def test_heartbeat_faults_are_retried(world, kind):
    fault = {"status": {"kind": "status", "code": 503},
             "html": {"kind": "html"},
             "drop": {"kind": "drop"},
             "truncated": {"kind": "body", "text": '{"HeartbeatErrorCode": 0, "HasNe'},
             "list": {"kind": "body", "text": "[1, 2]"},
             "no-code": {"kind": "body", "text": '{"ErrorText": "", "HasNewJob": 1}'}}[kind]
    world.emu.add_fault("heartbeat", times=2, **fault)
    job = world.emu.add_job("ok")
    result = world.run("--no-logoff", config=world.reconfigure(orchestrator__retry_seconds=20))
    assert result.returncode == 0, result.stderr
    assert job.history == [IN_PROGRESS, SUCCESS]
    assert "Traceback" not in result.stderr
    assert result.stderr.count("Ready heartbeat failed (attempt") == 2


def test_bad_body_log_line_names_status_and_first_200_characters(world):
    world.emu.add_fault("heartbeat", "html", code=502)
    assert world.run("--no-logoff").returncode == 0
    line = next(line for line in world.log_text().splitlines() if "attempt 1" in line)
    assert "HTTP 502" in line and "<html><body><h1>502 Bad Gateway" in line


def test_long_bodies_are_cut_to_200_characters(world):
    world.emu.add_fault("heartbeat", "status", code=500, text="x" * 5000)
    assert world.run("--no-logoff").returncode == 0
    line = next(line for line in world.log_text().splitlines() if "attempt 1" in line)
    assert "x" * 200 + "..." in line and "x" * 201 not in line


def test_has_new_job_as_string_is_understood(world):
    job = world.emu.add_job("ok")
    world.emu.add_fault("heartbeat", "body", text=json.dumps({"HeartbeatErrorCode": "0", "HasNewJob": "1"}))
    assert world.run("--no-logoff").returncode == 0
    assert job.history == [IN_PROGRESS, SUCCESS]


def test_retry_after_is_honoured(world):
    world.emu.add_fault("heartbeat", "status", code=429, retry_after=1)
    assert world.run("--no-logoff").returncode == 0
    first, second = world.emu.calls("heartbeat")[:2]
    assert second.at - first.at >= 0.9


@pytest.mark.parametrize("kind", ["status", "drop", "delay"])
def test_consume_is_not_retried_once_it_may_have_reached_the_server(world, kind):
    fault = {"status": {"kind": "status", "code": 500}, "drop": {"kind": "drop"},
             "delay": {"kind": "delay", "seconds": 4}}[kind]
    world.emu.add_fault("consume", **fault)
    job = world.emu.add_job("ok")
    result = world.run("--no-logoff", config=world.reconfigure(orchestrator__request_timeout=1))
    assert result.returncode == 0
    endpoints = [c.endpoint for c in world.emu.calls()]
    # consume (failed) is followed by a heartbeat, never by an immediate second consume
    assert endpoints[:3] == ["heartbeat", "consume", "heartbeat"]
    assert "a job may have been consumed" in world.log_text()
    assert job.history == [IN_PROGRESS, SUCCESS]


@pytest.mark.parametrize("kind", ["status", "drop", "html"])
def test_job_update_faults_are_retried(world, kind):
    world.emu.add_fault("update", kind, times=2, code=500)
    job = world.emu.add_job("timed")  # runs until In Progress got through its retries
    proc = world.start("--no-logoff", config=world.reconfigure(orchestrator__retry_seconds=20), TEST_ROBOT_UNTIL="go")
    try:
        assert world.emu.wait_for(lambda: IN_PROGRESS in job.history, timeout=60)
        world.release()
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
    assert job.history == [IN_PROGRESS, SUCCESS]


def test_final_status_is_not_held_back_by_in_progress_retries(world):
    """A robot that ends while In Progress is still being retried: its true final status goes out, alone."""
    world.emu.add_fault("update", "status", times=3, code=503, match={"status": "8"})
    job = world.emu.add_job("ok")
    assert world.run("--no-logoff", config=world.reconfigure(orchestrator__retry_seconds=20)).returncode == 0
    assert job.history[-1] == SUCCESS
    assert "could not report In Progress" in world.log_text()


@pytest.mark.parametrize(("payload", "expected_history", "log_words"), [
    ({"Job": "{}", "ProcessVersion": json.dumps({"Name": "ok"})}, None, "the job has no GUID"),
    ({"Job": "not json", "ProcessVersion": json.dumps({"Name": "ok"})}, None, "the job has no GUID"),
    ({"Job": json.dumps({"GUID": "JOBGUID"}), "ProcessVersion": "{}"}, [FAILED], "ProcessVersion has no Name"),
    ({"Job": json.dumps({"GUID": "JOBGUID"}), "ProcessVersion": json.dumps({"Name": 42})}, [FAILED], "has no Name"),
    ({"Job": json.dumps({"GUID": "JOBGUID"})}, [FAILED], "ProcessVersion has no Name"),
])
def test_odd_consumed_jobs(world, payload, expected_history, log_words):
    job = world.emu.add_job("ok")
    body = {"ConsumeJobErrorCode": 0, "ErrorText": "", **payload}
    world.emu.add_fault("consume", "body", text=json.dumps(body).replace("JOBGUID", job.guid))
    result = world.run("--no-logoff", "--once")
    assert result.returncode == 0
    assert "Traceback" not in result.stderr
    assert log_words in world.log_text()
    if expected_history is not None:
        assert job.history == expected_history


def test_consume_answer_without_code_goes_back_to_heartbeat(world):
    job = world.emu.add_job("ok")
    world.emu.add_fault("consume", "body", text='{"Job": null}')
    assert world.run("--no-logoff").returncode == 0
    assert job.history == [IN_PROGRESS, SUCCESS]
    assert "without a numeric ConsumeJobErrorCode" in world.log_text()


def test_heartbeat_404_wrong_host_path_exits_4_with_a_clear_line(world):
    world.emu.add_fault("heartbeat", "status", code=404, text="<html>Not Found</html>")
    result = world.run()
    assert result.returncode == 4
    assert "does not answer as an Orchestrator" in result.stderr and "HTTP 404" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(world.emu.calls("heartbeat")) == 1  # a 404 is not retried
    assert world.logged_off.exists()


def test_redirect_is_not_followed_and_says_where_to(world):
    world.emu.add_fault("heartbeat", "status", code=301, headers={"Location": "https://elsewhere.example/api"})
    result = world.run("--no-logoff")
    assert result.returncode == 4
    assert "redirect to 'https://elsewhere.example/api'" in result.stderr
    assert [c.method for c in world.emu.calls()] == ["POST"]


def test_update_rejected_with_404_is_not_retried_forever(world):
    world.emu.add_fault("update", "status", code=404, text="no such job")
    world.emu.add_job("ok")
    assert world.run("--no-logoff").returncode == 0
    assert not journal_pending(world)


# --- outages -------------------------------------------------------------------------------------------
def test_orchestrator_down_at_start_then_up(tmp_path):
    port = free_port()
    emu = Emulator(port=port)
    world = Env(tmp=tmp_path, emu=emu, config=make_config(tmp_path, emu, orchestrator__retry_seconds=30),
                out=tmp_path)
    job = emu.add_job("ok")
    proc = world.start("--no-logoff")
    try:
        # The server comes up only once the framework has seen it down: never a race with its start.
        assert wait_until(lambda: "Ready heartbeat failed (attempt 1)" in world.log_text(), timeout=60)
        emu.start()
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
        emu.stop()
    assert job.history == [IN_PROGRESS, SUCCESS]
    assert "Ready heartbeat failed (attempt 1): POST /api/robot/heartbeat: cannot connect" in world.log_text()


def test_orchestrator_down_for_good_exits_4_and_logs_off(tmp_path):
    emu = Emulator(port=free_port())  # never started
    world = Env(tmp=tmp_path, emu=emu, config=make_config(tmp_path, emu, orchestrator__retry_seconds=2),
                out=tmp_path)
    started = time.monotonic()
    result = world.run()
    assert result.returncode == 4
    assert time.monotonic() - started < 30
    assert "unreachable" in result.stderr and "Traceback" not in result.stderr
    assert world.logged_off.exists()


def test_outage_during_a_job_robot_keeps_running_and_heartbeats_resume(world):
    job = world.emu.add_job("timed")
    proc = world.start("--no-logoff", config=world.reconfigure(orchestrator__retry_seconds=20),
                       TEST_ROBOT_UNTIL="go")
    try:
        assert world.wait_file("ready")
        world.emu.stop()
        assert wait_until(lambda: "Working heartbeat failed" in world.log_text(), timeout=60)
        outage_end = time.time()
        world.emu.start()
        # The robot ends only once a Working heartbeat got through after the outage.
        assert world.emu.wait_for(lambda: any(c.fields.get("Status") == "3" and c.at > outage_end
                                              for c in world.emu.requests), timeout=60)
        (world.out / "go").touch()
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
    assert job.history == [IN_PROGRESS, SUCCESS]
    assert any(c.fields.get("Status") == "3" and c.at > outage_end for c in world.emu.calls("heartbeat"))
    assert "Working heartbeat failed" in world.log_text()


def test_outage_at_the_final_update_is_retried_until_the_server_returns(world):
    job = world.emu.add_job("timed")
    proc = world.start("--no-logoff", config=world.reconfigure(orchestrator__retry_seconds=30), TEST_ROBOT_UNTIL="go")
    try:
        assert world.wait_file("ready")
        world.emu.stop()
        world.release()
        assert wait_until(lambda: "job/update Success failed (attempt 2)" in world.log_text(), timeout=60)
        world.emu.start()
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
    assert job.history == [IN_PROGRESS, SUCCESS]
    assert not journal_pending(world)


def test_undelivered_final_status_is_journaled_and_delivered_first_on_next_start(world):
    job = world.emu.add_job("timed")
    proc = world.start(config=world.reconfigure(orchestrator__retry_seconds=1), TEST_ROBOT_UNTIL="go")
    try:
        assert world.wait_file("ready")
        world.emu.stop()
        world.release()
        assert proc.wait(timeout=60) == 4  # the Ready heartbeat after the job could not get through
    finally:
        proc.kill()
    assert job.history == [IN_PROGRESS]
    [record] = journal_pending(world)
    assert record["job"] == job.guid and record["status"] == SUCCESS
    assert world.logged_off.exists()
    before = len(world.emu.calls())
    world.emu.start()
    assert world.run("--no-logoff").returncode == 0
    assert job.history == [IN_PROGRESS, SUCCESS]
    assert world.emu.calls()[before].endpoint == "update"  # delivered before the first heartbeat
    assert not journal_pending(world)


def test_journaled_status_is_delivered_later_in_the_same_run(world):
    first, second = world.emu.add_job("ok"), world.emu.add_job("timed")
    world.emu.add_fault("update", "status", times=10_000, code=503)  # job/update is down...
    proc = world.start("--no-logoff", "--verbose", config=world.reconfigure(orchestrator__retry_seconds=1),
                       TEST_ROBOT_UNTIL="go")
    try:
        assert world.wait_file("ready")  # ...until the second job runs: by then the first is journaled
        assert wait_until(lambda: f"Job {first.guid}: job/update Success not delivered" in world.log_text(), timeout=60)
        with world.emu.lock:
            world.emu.faults["update"].clear()
        world.release()
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
    assert first.history[-1] == SUCCESS and second.history[-1] == SUCCESS
    calls = [c for c in world.emu.calls() if c.endpoint != "log"]  # job logs travel on their own thread
    # the last attempt is the one that got through (the emulator records faulted attempts too)
    delivered = max(i for i, c in enumerate(calls) if c.fields == {"guid": first.guid, "status": "4"})
    assert calls[delivered - 1].fields == {"guid": second.guid, "status": "4"}  # after the second job...
    assert calls[delivered + 1].endpoint == "heartbeat"  # ...and before the next heartbeat
    assert not journal_pending(world)
    # No interpreter held ahead while a final status waits for the server (it could wait for the whole
    # outage): the one started with the first robot is dropped when its status is not delivered; the
    # second job's started once a heartbeat said it waits; none with the second robot, none after it.
    assert world.log_text().count("Spare interpreter started for the next robot") == 3


def test_torn_and_damaged_journal_lines_are_skipped_exactly_and_the_rest_delivered(world):
    job, later = world.emu.add_job("ok"), world.emu.add_job("ok")
    job.status = later.status = 0  # consumed by a run that died after journaling both
    world.log_dir.mkdir()
    journal = world.log_dir / f"journal-{robot_framework.robot_key(world.emu.robot_guid)}.jsonl"
    journal.write_text('{"id": "r0", "job": "x", "sta\n'  # torn by a crash, then closed by the next append
                       f'{{"id": "r1", "job": "{job.guid}", "status": {SUCCESS}}}\n'
                       '\x00\x00\x00\x00\n'  # a zeroed block after a power loss
                       f'{{"id": "r2", "job": "{later.guid}", "status": {FAILED}, "reason": "r"}}\n'
                       '{"id": "r3", "jo')  # torn tail
    assert world.run("--no-logoff").returncode == 0
    assert job.history == [SUCCESS] and later.history == [FAILED]
    assert not journal_pending(world)


def test_journal_of_the_version_before_the_outbox_is_delivered(world):
    job = world.emu.add_job("ok")
    job.status = 0
    world.log_dir.mkdir()
    old = world.log_dir / f"journal-{robot_framework.robot_key(world.emu.robot_guid)}.json"
    old.write_text(json.dumps([{"guid": job.guid, "status": SUCCESS, "reason": "ok"}]))
    assert world.run("--no-logoff").returncode == 0
    assert job.history == [SUCCESS]
    assert not old.exists() and not journal_pending(world)


def test_corrupt_journal_is_set_aside_not_a_crash(world):
    world.log_dir.mkdir()
    journal = world.log_dir / f"journal-{robot_framework.robot_key(world.emu.robot_guid)}.json"
    journal.write_text('[{"guid": "x", "sta')
    result = world.run("--no-logoff")
    assert result.returncode == 0, result.stderr
    assert "unreadable" in result.stderr
    assert list(world.log_dir.glob("journal-*.corrupt-*"))


# --- crashes and duplicate starts ----------------------------------------------------------------------
def test_framework_killed_mid_job_then_restarted_reports_failed_and_kills_leftovers(world):
    job = world.emu.add_job("orphan")
    proc = world.start("--no-logoff")
    assert world.wait_file("ready")
    proc.kill()  # SIGKILL on POSIX, TerminateProcess on Windows: no handler runs
    proc.wait(timeout=10)
    if os.name != "nt":  # Windows: the framework's Job Object took the robot along (test_windows_session.py)
        assert "orphan" in alive_roles(world)  # nobody cleaned up: the framework died
    result = world.run("--no-logoff")
    assert result.returncode == 0, result.stderr
    assert job.history == [IN_PROGRESS, FAILED]
    assert alive_roles(world) == []
    assert "framework restarted while the job was running" in world.log_text()


def test_crash_after_journaling_keeps_the_true_status(world):
    # The framework died after journaling the outcome but before clearing its running-state file.
    job = world.emu.add_job("ok")
    job.status = 0  # consumed by the run that died
    world.log_dir.mkdir()
    key = robot_framework.robot_key(world.emu.robot_guid)
    (world.log_dir / f"running-{key}.json").write_text(json.dumps({"job_guid": job.guid, "pid": None}))
    (world.log_dir / f"journal-{key}.jsonl").write_text(json.dumps({"id": "r1", "job": job.guid, "status": SUCCESS})
                                                        + "\n")
    assert world.run("--no-logoff").returncode == 0
    assert job.history == [SUCCESS]
    assert not (world.log_dir / f"running-{key}.json").exists()


def test_second_instance_for_the_same_guid_exits_at_once(world):
    world.emu.add_job("sleeper")
    first = world.start("--no-logoff")
    try:
        assert world.wait_file("ready")
        calls_before = len(world.emu.calls())
        second = world.run()
        assert second.returncode == 5
        assert "already running for this robot GUID" in second.stderr
        assert not world.logged_off.exists()
        # only the first instance's Working heartbeats (and its job log entries), nothing from the second
        assert all(c.fields.get("Status") == "3" or c.endpoint == "log" for c in world.emu.calls()[calls_before:])
    finally:
        first.kill()
        first.wait()


def test_instances_for_different_guids_do_not_block_each_other(world, tmp_path):
    world.emu.add_job("sleeper")
    first = world.start("--no-logoff")
    other = Emulator().start()
    try:
        assert world.wait_file("ready")
        other_world = Env(tmp=tmp_path / "b", emu=other, config="", out=tmp_path / "b")
        (tmp_path / "b").mkdir()
        other_world.config = make_config(tmp_path / "b", other)
        other_job = other.add_job("ok")
        assert other_world.run("--no-logoff").returncode == 0
        assert other_job.history == [IN_PROGRESS, SUCCESS]
    finally:
        first.kill()
        first.wait()
        other.stop()


# --- TLS -------------------------------------------------------------------------------------------------
def test_https_with_ca_bundle_even_when_requests_ca_bundle_points_elsewhere(tls_world, monkeypatch):
    world, ca_file = tls_world
    job = world.emu.add_job("ok")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(world.tmp / "elsewhere.pem"))  # the known requests pitfall
    (world.tmp / "elsewhere.pem").write_text("")
    result = world.run("--no-logoff", config=world.reconfigure(orchestrator__verify_tls=str(ca_file)))
    assert result.returncode == 0, result.stderr
    assert job.history == [IN_PROGRESS, SUCCESS]


def test_https_self_signed_without_ca_fails_with_a_tls_line(tls_world):
    world, _ = tls_world
    result = world.run("--no-logoff", config=world.reconfigure(orchestrator__retry_seconds=1))
    assert result.returncode == 4
    assert "TLS error" in result.stderr and "verify_tls" in result.stderr
    assert "Traceback" not in result.stderr


def test_https_verify_off_works_with_a_warning(tls_world):
    world, _ = tls_world
    job = world.emu.add_job("ok")
    result = world.run("--no-logoff", config=world.reconfigure(orchestrator__verify_tls="false"))
    assert result.returncode == 0
    assert job.history == [IN_PROGRESS, SUCCESS]
    assert "TLS certificate verification is OFF" in result.stderr
    assert "InsecureRequestWarning" not in result.stderr


def test_a_delivered_status_is_emptied_from_the_journal_once_and_never_sent_again(world):
    # Emptied while the next robot boots: after the run's last job it stays until the next start.
    first, second = world.emu.add_job("ok"), world.emu.add_job("ok")
    assert world.run("--no-logoff").returncode == 0
    journal = next(world.log_dir.glob("journal-*.jsonl"))
    assert first.guid not in journal.read_text()  # emptied while the second job's robot booted
    assert not journal_pending(world)
    assert world.run("--no-logoff").returncode == 0
    assert [first.history, second.history] == [[IN_PROGRESS, SUCCESS], [IN_PROGRESS, SUCCESS]]
    assert len([c for c in world.emu.calls("update") if c.fields.get("status") == str(SUCCESS)]) == 2
    assert journal.read_text() == ""
