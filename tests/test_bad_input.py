"""End to end: bad answers, a broken machine and careless robots never crash the run, drain the queue or
leak the robot GUID (issue 21)."""

from __future__ import annotations

import base64
import json
import os
import stat
import urllib.parse

import pytest

import robot_framework as rf

SUCCESS, FAILED, ABORTED, IN_PROGRESS = 4, 5, 3, 8
DEEP = "[" * 200_000  # well under max_response_mb, far past json's recursion limit
WORKING = {"Status": "3"}


# --- answers no parser expected ---------------------------------------------------------------------
def test_deeply_nested_answer_at_start_is_a_bad_answer_not_a_crash(world):
    world.emu.add_fault("heartbeat", "body", times=2, text=DEEP)
    job = world.emu.add_job("ok")
    result = world.run("--no-logoff", config=world.reconfigure(orchestrator__retry_seconds=30))
    assert result.returncode == 0, result.stderr
    assert job.history == [IN_PROGRESS, SUCCESS]
    assert "the body is not JSON (nested too deeply)" in world.log_text()
    assert "Traceback" not in result.stderr + world.log_text()


def test_deeply_nested_working_heartbeat_answers_leave_supervision_working(world):
    world.emu.add_fault("heartbeat", "body", times=3, text=DEEP, match=WORKING)
    job = world.emu.add_job("sleeper")
    proc = world.start("--no-logoff")
    try:
        # Three Working heartbeats got the nested answer, then the heartbeat worker went on to a fourth.
        assert world.emu.wait_for(lambda: len([c for c in world.emu.requests if c.fields.get("Status") == "3"]) >= 4)
        world.emu.request_abort(job)
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
    assert job.history == [IN_PROGRESS, ABORTED]
    log = world.log_text()
    assert "Working heartbeat failed" in log and "nested too deeply" in log
    assert "Traceback" not in log


def test_robot_api_gets_a_robot_api_error_for_a_deeply_nested_answer(world):
    world.emu.add_fault("asset", "body", times=1000, text=DEEP)
    job = world.emu.add_job("api_deep")
    assert world.run("--no-logoff", config=world.reconfigure(orchestrator__retry_seconds=1)).returncode == 0
    assert job.history == [IN_PROGRESS, SUCCESS]
    caught = json.loads((world.out / "caught.json").read_text(encoding="utf-8"))
    assert caught.startswith("RobotApiError:") and "nested too deeply" in caught


def test_deeply_nested_robot_log_line_is_sent_as_text_and_the_next_entry_arrives(world):
    job = world.emu.add_job("deep_log")
    assert world.run("--no-logoff").returncode == 0
    assert job.history == [IN_PROGRESS, SUCCESS]
    assert world.emu.wait_for(lambda: any(e["message"].startswith("Job ended") for e in world.emu.logs))
    messages = [e["message"] for e in world.emu.logs if e["job_guid"] == job.guid]
    assert any(m.startswith("[[[[") and len(m) < 5000 for m in messages)
    assert "the entry after the nested line" in messages
    assert "log shipping thread failed" not in world.log_text()


# --- a broken machine stops the run, not the queue ----------------------------------------------------
def broken_interpreter(world) -> str:
    """A file that exists and is marked executable but is no program (a damaged install)."""
    path = world.tmp / ("broken-python.exe" if os.name == "nt" else "broken-python")
    path.write_bytes(b"\x00\x01 this is not a program\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_damaged_interpreter_fails_one_job_and_exits_7_without_logoff(world):
    jobs = [world.emu.add_job("ok") for _ in range(4)]
    result = world.run(config=world.reconfigure(robot__python=broken_interpreter(world)))
    assert result.returncode == rf.EXIT_MACHINE_FAULT == 7, result.stderr
    assert jobs[0].history == [IN_PROGRESS, FAILED]
    assert [j.history for j in jobs[1:]] == [[], [], []]  # left for a healthy robot
    assert len(world.emu.calls("consume")) == 1
    assert not world.logged_off.exists()
    assert world.emu.calls("heartbeat")[-1].fields["Status"] == "2"  # the Orchestrator sees the robot free
    log = world.log_text()
    assert "this machine cannot start robots" in log and "No further job is taken" in log
    assert "Traceback" not in result.stderr
    ended = [e["message"] for e in world.emu.logs if e["job_guid"] == jobs[0].guid]
    assert any("this machine cannot start robots" in m for m in ended)


def test_job_folder_that_cannot_be_created_is_a_machine_fault(world):
    world.log_dir.mkdir()
    (world.log_dir / "jobs").write_text("a file where the jobs folder belongs")
    jobs = [world.emu.add_job("ok"), world.emu.add_job("ok")]
    result = world.run()
    assert result.returncode == 7, result.stderr
    assert jobs[0].history == [IN_PROGRESS, FAILED] and jobs[1].history == []
    assert not world.logged_off.exists()


def test_missing_script_is_a_fault_of_the_job_and_the_run_goes_on(world):
    jobs = [world.emu.add_job("no_such_robot"), world.emu.add_job("ok")]
    assert world.run("--no-logoff").returncode == 0
    assert jobs[0].history == [IN_PROGRESS, FAILED] and jobs[1].history == [IN_PROGRESS, SUCCESS]


# --- the robot GUID never reaches the Orchestrator's log ----------------------------------------------
def test_robot_printing_its_environment_and_config_leaks_no_guid_to_the_orchestrator(world):
    job = world.emu.add_job("leaky")
    assert world.run("--no-logoff").returncode == 0
    assert job.history == [IN_PROGRESS, FAILED]
    assert world.emu.wait_for(lambda: any("Last lines of the robot's output" in e["message"] for e in world.emu.logs))
    guid = world.emu.robot_guid
    env = json.loads((world.out / "env.json").read_text(encoding="utf-8"))
    assert guid not in json.dumps(env)  # not in the robot's environment at all
    sent = "\n".join(e["message"] for e in world.emu.logs)
    assert "my environment" in sent and "robot_guid = ***" in sent  # the entries did arrive, masked
    for form in (guid, guid.upper(), urllib.parse.quote(guid), base64.b64encode(guid.encode()).decode()):
        assert form.lower() not in sent.lower()
    assert not list((world.log_dir / "jobs").glob("*/settings.txt"))  # the vendor settings file is gone


def test_vendor_settings_file_left_by_a_crash_is_removed_at_the_next_start(world):
    job = world.emu.add_job("sleeper")
    proc = world.start("--no-logoff")
    try:
        assert world.wait_file("ready")
        assert list((world.log_dir / "jobs").glob("*/settings.txt"))
        proc.kill()  # no handler runs
        proc.wait(timeout=30)
    finally:
        proc.kill()
    assert world.run("--no-logoff").returncode == 0
    assert job.history == [IN_PROGRESS, FAILED]
    assert not list((world.log_dir / "jobs").glob("*/settings.txt"))


@pytest.mark.parametrize("password", ["plain-Pässw0rd", "back\\slash'quote\"", "sp ace&amp=%25"])
def test_password_masked_in_its_escaped_forms(password):
    rf._secrets.add(password)
    try:
        printed = [password, repr({"password": password}), json.dumps({"password": password}),
                   json.dumps({"password": password}, ensure_ascii=False), urllib.parse.quote(password, safe=""),
                   urllib.parse.urlencode({"password": password}), base64.b64encode(password.encode()).decode()]
        for text in printed:
            assert password not in rf.redact(text) and "***" in rf.redact(text), text
        assert repr(password)[1:-1] not in rf.redact(repr({"p": password}))
    finally:
        rf._secrets.discard(password)


def test_config_repr_hides_the_guid_and_plain_http_elsewhere_is_flagged(world):
    cfg, _ = rf.load_config(world.config)
    assert world.emu.robot_guid not in repr(cfg) and "robot_guid" not in repr(cfg)
    assert rf.is_cleartext("http://orchestrator.example") and rf.is_cleartext("http://10.0.0.5:8080")
    assert not rf.is_cleartext("http://127.0.0.1:4500") and not rf.is_cleartext("http://localhost")
    assert not rf.is_cleartext("https://orchestrator.example")


@pytest.mark.skipif(os.name == "nt", reason="Windows reads the access list with icacls, which Wine only stubs "
                    "(README: what the Windows lane does not prove)")
def test_check_warns_when_other_accounts_can_read_the_config(world):
    os.chmod(world.config, 0o644)
    shown = world.run("--check").stdout
    assert "WARNING" in shown and "holds the robot GUID" in shown and "644" in shown
    os.chmod(world.config, 0o600)
    assert "WARNING" not in world.run("--check").stdout


# --- a delivered status stays delivered ---------------------------------------------------------------
def test_unwritable_journal_never_turns_a_delivered_success_into_framework_restarted(world):
    world.log_dir.mkdir()
    (world.log_dir / f"journal-{rf.robot_key(world.emu.robot_guid)}.jsonl").mkdir()  # cannot be opened as a file
    job = world.emu.add_job("ok")
    result = world.run("--no-logoff")
    assert result.returncode == rf.EXIT_MACHINE_FAULT, result.stderr  # no further job on this machine...
    assert job.history == [IN_PROGRESS, SUCCESS]  # ...but this one's status went out
    assert "cannot write the journal" in world.log_text()
    second = world.emu.add_job("ok")
    assert world.run("--no-logoff").returncode == rf.EXIT_MACHINE_FAULT
    assert job.history == [IN_PROGRESS, SUCCESS]  # not Failed by a "crash recovery"
    assert second.history == [IN_PROGRESS, SUCCESS]
    assert "Traceback" not in world.log_text()
    assert "framework restarted" not in world.log_text()
