"""End to end: the real robot_framework.py against the emulator, running real robot scripts (issue 2)."""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import re
import sys
import time
from pathlib import Path

import psutil
import pytest

import robot_framework as rf
from conftest import TEST_ROBOTS, UNDER_WINE, alive_roles, pythonw_or_skip, run_captured, wait_until
from orchestrator_emulator import FRAMEWORK

SUCCESS, FAILED, ABORTED, STOPPED, IN_PROGRESS = 4, 5, 3, 7, 8


def test_happy_path_exact_request_sequence_and_fields(world):
    job = world.emu.add_job("ok", task={"n": 1})
    # a long interval: no Working heartbeat, however slow the machine is to start the robot
    result = world.run("--no-logoff", config=world.reconfigure(robot__heartbeat_interval=60))
    assert result.returncode == 0, result.stderr
    calls = [c for c in world.emu.calls() if c.endpoint != "log"]  # job log entries: see test_job_logs.py
    assert [(c.method, c.endpoint) for c in calls] == [
        ("POST", "heartbeat"), ("POST", "consume"), ("PUT", "update"), ("PUT", "update"), ("POST", "heartbeat")]
    auth = "Basic " + base64.b64encode(world.emu.robot_guid.encode()).decode()
    assert all(c.authorization == auth for c in calls)
    first, consume, in_progress, final, ready = calls
    assert set(first.fields) == {"RobotGUID", "Machine", "IP", "MAC", "Status", "JobGUID", "JobName", "JobType"}
    assert first.fields["RobotGUID"] == world.emu.robot_guid
    assert first.fields["Status"] == "2" and first.fields["JobType"] == "1"
    assert first.fields["JobGUID"] == "" and first.fields["JobName"] == ""
    assert first.fields["Machine"] and first.fields["IP"] == "127.0.0.1"
    assert consume.fields == {"RobotGUID": world.emu.robot_guid, "Status": "2"}
    assert in_progress.fields == {"guid": job.guid, "status": "8"}
    assert final.fields == {"guid": job.guid, "status": "4"}
    assert ready.fields["Status"] == "2" and ready.fields["JobGUID"] == ""
    assert job.history == [IN_PROGRESS, SUCCESS]
    seen = json.loads((world.out / "ok.json").read_text())
    assert seen["cwd"] == TEST_ROBOTS
    assert seen["env"]["ROBOT_JOB_GUID"] == job.guid and seen["env"]["ROBOT_JOB_NAME"] == "ok"
    assert seen["env"]["ROBOT_ORCHESTRATOR_URL"] == world.emu.url
    assert not os.path.exists(seen["env"]["ROBOT_STOP_FILE"])
    # the robot's output (non-ASCII included) lands in the job folder
    outputs = list((world.log_dir / "jobs").glob("*/output.log"))
    assert "héllo wörld ✓" in outputs[0].read_text(encoding="utf-8")
    # the credential is never written to the log
    assert world.emu.robot_guid not in world.log_text() and auth.split()[1] not in world.log_text()
    assert "finished: Success" in world.log_text()


def test_a_cookie_the_server_sets_comes_back_with_later_calls(world):
    """A load balancer in front of the Orchestrator may pin a client to one node with a cookie: the
    framework sends it back, on every thread's connection, as a requests.Session would."""
    world.emu.set_cookie = "node=orchestrator-2; Path=/"
    world.emu.add_job("ok")
    result = world.run("--no-logoff")
    assert result.returncode == 0, result.stderr
    first, *later = [c for c in world.emu.calls() if c.endpoint in ("heartbeat", "consume", "update")]
    assert first.cookie == ""
    assert later and all(c.cookie == "node=orchestrator-2" for c in later), [(c.endpoint, c.cookie) for c in later]


def test_working_heartbeats_carry_job_while_robot_runs(world):
    job = world.emu.add_job("sleeper")
    proc = world.start("--no-logoff")
    try:
        assert wait_until(lambda: len([c for c in world.emu.calls("heartbeat") if c.fields["Status"] == "3"]) >= 3)
        working = [c for c in world.emu.calls("heartbeat") if c.fields["Status"] == "3"]
        assert all(c.fields["JobGUID"] == job.guid and c.fields["JobName"] == "sleeper" for c in working)
        world.emu.request_abort(job)
        proc.wait(timeout=20)
    finally:
        proc.kill()
    assert job.history == [IN_PROGRESS, ABORTED]


def test_several_jobs_then_logoff(world):
    jobs = [world.emu.add_job("ok"), world.emu.add_job("fail"), world.emu.add_job("ok")]
    result = world.run()
    assert result.returncode == 0
    assert [j.history for j in jobs] == [[8, 4], [8, 5], [8, 4]]
    assert world.logged_off.read_text() == "logged off\n"


def test_keep_jobs_keeps_the_newest_job_folders_and_never_the_running_jobs_away(world):
    # A folder whose name sorts after every real one (as a clock set back would leave): with keep_jobs = 1
    # it is the one to go, never the folder of the job whose robot is running.
    stray = world.log_dir / "jobs" / "99991231-235959_left-by-a-clock-set-back"
    stray.mkdir(parents=True)
    jobs = [world.emu.add_job("ok"), world.emu.add_job("ok")]
    result = world.run("--no-logoff", config=world.reconfigure(logging__keep_jobs=1, orchestrator__send_logs="false"))
    assert result.returncode == 0 and [j.history for j in jobs] == [[8, 4], [8, 4]]
    folders = list((world.log_dir / "jobs").iterdir())
    assert [f.name.split("_", 1)[1] for f in folders] == [jobs[1].guid]
    assert (folders[0] / "output.log").exists()


@pytest.mark.parametrize(("robot", "reason"), [
    ("fail", "exit code 3"),
    ("crash", "exit code 1"),
    ("does_not_exist", "not found"),
])
def test_failing_crashing_and_missing_scripts_are_failed(world, robot, reason):
    job = world.emu.add_job(robot)
    result = world.run("--no-logoff")
    assert result.returncode == 0
    assert job.history[-1] == FAILED
    assert reason in world.log_text()


def test_interpreter_that_cannot_start_fails_the_job_and_stops_the_run(world):
    job = world.emu.add_job("ok")
    cfg = world.reconfigure(robot__python=os.path.join(TEST_ROBOTS, "fail.py"))  # a file, not a program
    result = world.run("--no-logoff", config=cfg)
    assert result.returncode == 7  # a machine fault (issue 21): see tests/test_bad_input.py
    assert job.history == [IN_PROGRESS, FAILED]
    assert "this machine cannot start robots" in world.log_text()


@pytest.mark.parametrize("name", [
    "../conftest", "..\\conftest", "/etc/passwd", "C:evil", "c:\\windows\\system32\\calc",
    "..", ".hidden", "sub/ok", "ok\x00", "NUL", "con.py", "ok.", "ok*", "ok\nINFO fake log line",
])
def test_unsafe_names_are_rejected_and_nothing_runs(world, name):
    job = world.emu.add_job(name)
    result = world.run("--no-logoff")
    assert result.returncode == 0
    assert job.history == [IN_PROGRESS, FAILED]
    assert not (world.out / "ok.json").exists()
    assert "could not start the robot" in world.log_text()


def test_a_robot_runs_from_its_cached_bytecode_made_again_when_it_changes(world, tmp_path, monkeypatch):
    """The bootstrap loads the script as an import would: its bytecode is cached beside it after the first
    job, and a changed script runs its new code (the cache is checked against the source)."""
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    robot = scripts / "cached.py"
    robot.write_text("import os\nopen(os.path.join(os.environ['TEST_OUT'], 'said.txt'), 'w').write('first')\n")
    config = world.reconfigure(robot__scripts_dir=scripts)
    first = world.emu.add_job("cached")
    assert world.run("--no-logoff", config=config).returncode == 0
    assert first.history == [IN_PROGRESS, SUCCESS] and (world.out / "said.txt").read_text() == "first"
    assert os.path.exists(importlib.util.cache_from_source(str(robot)))
    robot.write_text("import os\nopen(os.path.join(os.environ['TEST_OUT'], 'said.txt'), 'w').write('second!')\n")
    second = world.emu.add_job("cached")
    assert world.run("--no-logoff", config=config).returncode == 0
    assert second.history == [IN_PROGRESS, SUCCESS] and (world.out / "said.txt").read_text() == "second!"


def test_robots_start_in_an_interpreter_started_ahead_of_their_job_as_if_started_for_it(world):
    """RobotStarter: each robot's interpreter boots before its job is known (the first once a Ready
    heartbeat says a job waits, the next as the robot before it starts) and is handed the job; the robot
    sees what a robot started for its job sees, and its child writes to the same output."""
    jobs = [world.emu.add_job("as_started") for _ in range(2)]
    odd = "snow \u2603, an = sign and spaces"
    result = world.run("--no-logoff", "--verbose", TEST_ODD_VALUE=odd, ROBOT_GUID="must-not-reach-robots")
    assert result.returncode == 0, result.stderr
    spares = [int(pid) for pid in re.findall(r"Spare interpreter started for the next robot, pid (\d+)",
                                             world.log_text())]
    # one per job, and one started with the last robot, unused: the Ready heartbeat found no job (one more
    # where a job outlasted SPARE_DURING_JOB on a slow machine: its spare was let go)
    assert len(spares) == 3 + world.log_text().count("let go: the job runs on")
    for job in jobs:
        assert job.history == [IN_PROGRESS, SUCCESS]
        seen = json.loads((world.out / f"as_started-{job.guid}.json").read_text(encoding="utf-8"))
        assert seen["pid"] in spares
        assert os.path.basename(seen["argv"][0]) == "as_started.py" and job.guid in seen["argv"][1]
        assert len(seen["argv"]) == 2 and os.path.samefile(seen["cwd"], TEST_ROBOTS)
        assert seen["path0"] == os.path.dirname(seen["argv"][0])
        assert seen["job"] == job.guid and os.path.isfile(seen["context"]) and seen["odd"] == odd
        assert not seen["guid_in_env"] and seen["stdin"] == ""
        if sys.version_info >= (3, 10):  # sys.orig_argv: `python <bootstrap>`, the script came on stdin
            assert seen["argv"][0] not in seen["command"]
    outputs = sorted((world.log_dir / "jobs").glob("*/output.log"))
    assert len(outputs) == 2
    for output in outputs:
        text = output.read_text(encoding="utf-8")
        assert "robot says hi" in text and "robot says oops" in text and "child says hi" in text, text


def test_a_job_that_outlasts_spare_during_job_lets_the_next_robots_interpreter_go(world):
    """The next robot's interpreter starts with this job's robot; a job still running SPARE_DURING_JOB later
    lets it go (no idle interpreter held through a long job): it ends by itself, and the next job's robot
    boots after the final status instead."""
    first, second = world.emu.add_job("timed"), world.emu.add_job("ok")
    proc = world.start("--no-logoff", "--verbose", TEST_ROBOT_UNTIL="go")
    try:
        assert world.wait_file("ready")
        assert wait_until(lambda: "let go: the job runs on" in world.log_text())
        let_go = int(re.search(r"Spare interpreter pid (\d+) let go", world.log_text()).group(1))
        assert wait_until(lambda: ended(let_go))  # its stdin closed: it ended by itself
        world.release()
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
    assert first.history == [IN_PROGRESS, SUCCESS] and second.history == [IN_PROGRESS, SUCCESS]
    spares = [int(pid) for pid in re.findall(r"Spare interpreter started for the next robot, pid (\d+)",
                                             world.log_text())]
    robots = [int(re.search(rf"Job {job.guid}: robot started, pid (\d+)", world.log_text()).group(1))
              for job in (first, second)]
    assert let_go in spares and let_go not in robots and robots[1] in spares  # the second's started anew


def ended(pid: int) -> bool:
    """Ended (POSIX: a zombie until the framework reaps it at its next spare start)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_spare_interpreter_ends_by_itself_when_the_framework_is_gone_and_a_dead_one_is_replaced(world,
                                                                                                 monkeypatch):
    monkeypatch.setenv("TEST_OUT", str(world.out))  # where the robot records what it saw
    cfg, _ = rf.load_config(world.config)
    starter = rf.RobotStarter(cfg)
    starter.start_spare()
    orphan = starter.spare_started()
    starter.spare = None
    orphan.stdin.close()  # what the framework's death (a crash, a kill) does to the spare's pipe
    assert orphan.wait(timeout=60) == 0  # no job, no robot: it ends quietly, nothing run
    starter.start_spare()
    unused = starter.spare_started()
    starter.discard()  # the run ends without a job for it: it ends by itself, not killed
    assert unused.returncode == 0 and starter.spare is None
    starter.start_spare()
    dead = starter.spare_started()
    dead.kill()
    dead.wait(timeout=60)
    job = rf.ConsumedJob(guid="job-after-a-dead-spare", name="as_started", job={}, process_version={}, task=None)
    files = rf.prepare_job_folder(cfg, job, str(world.tmp / "job"))
    robot = starter.start(job, files, [os.path.join(TEST_ROBOTS, "as_started.py")], TEST_ROBOTS)
    try:
        assert robot.pid != dead.pid and robot.wait(timeout=60) == 0  # started anew, for its job
    finally:
        robot.kill()
    seen = json.loads((world.out / "as_started-job-after-a-dead-spare.json").read_text(encoding="utf-8"))
    if sys.version_info >= (3, 10):
        assert seen["argv"][0] in seen["command"]  # the script on its command line
    assert "child says hi" in Path(files.output).read_text(encoding="utf-8")
    assert starter.spare is None


@pytest.mark.skipif(UNDER_WINE, reason="Wine: os.path.realpath (GetFinalPathNameByHandle) does not resolve "
                                        "a host symlink, so no escape can be seen; real Windows resolves it")
def test_symlink_leading_out_of_scripts_dir_is_rejected(world, tmp_path):
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (tmp_path / "outside.py").write_text("open('escaped', 'w')\n")
    try:
        (scripts / "link.py").symlink_to(tmp_path / "outside.py")
    except OSError:
        pytest.skip("cannot create symlinks here")
    job = world.emu.add_job("link")
    result = world.run("--no-logoff", config=world.reconfigure(robot__scripts_dir=scripts))
    assert result.returncode == 0
    assert job.history == [IN_PROGRESS, FAILED]
    assert "outside scripts_dir" in world.log_text()


def test_folder_robot_with_main(world):
    job = world.emu.add_job("pkgbot")
    assert world.run("--no-logoff").returncode == 0
    assert job.history == [IN_PROGRESS, SUCCESS]
    assert (world.out / "pkgbot.txt").read_text() == os.path.join(TEST_ROBOTS, "pkgbot")


def test_name_with_py_suffix(world):
    job = world.emu.add_job("ok.py")
    assert world.run("--no-logoff").returncode == 0
    assert job.history == [IN_PROGRESS, SUCCESS]


@pytest.mark.parametrize("style", ["string", "object"])
@pytest.mark.parametrize("task_key", ["Task", " Task "])
def test_payload_as_strings_or_objects_and_spaced_task_key(world, style, task_key):
    world.emu.payload_style = style
    world.emu.task_key = task_key
    job = world.emu.add_job("context_dump", task={"QueueGUID": "q1", "Data": {"x": [1, 2]}})
    assert world.run("--no-logoff").returncode == 0
    assert job.history == [IN_PROGRESS, SUCCESS]
    context = json.loads((world.out / "context.json").read_text())
    assert context["job"]["GUID"] == job.guid
    assert context["process_version"]["Name"] == "context_dump"
    assert context["task"] == {"QueueGUID": "q1", "Data": {"x": [1, 2]}}


def test_missing_task_is_null(world):
    job = world.emu.add_job("context_dump", task=None)
    assert world.run("--no-logoff").returncode == 0
    assert job.history == [IN_PROGRESS, SUCCESS]
    assert json.loads((world.out / "context.json").read_text())["task"] is None


def test_abort_kills_robot_children_and_grandchildren(world):
    job = world.emu.add_job("tree")
    proc = world.start("--no-logoff")
    assert world.wait_file("ready")
    assert set(alive_roles(world)) == {"robot", "child", "grandchild"}
    world.emu.request_abort(job)
    assert proc.wait(timeout=30) == 0
    assert job.history == [IN_PROGRESS, ABORTED]
    assert alive_roles(world) == []


def test_cooperative_stop_is_stopped(world):
    job = world.emu.add_job("cooperative")
    proc = world.start("--no-logoff")
    assert world.wait_file("ready")
    world.emu.request_stop(job)
    assert proc.wait(timeout=30) == 0
    assert job.history == [IN_PROGRESS, STOPPED]
    assert (world.out / "cleanup-ran").exists()
    # on POSIX the SIGINT usually wins the race with the stop file; either way the robot chose to stop
    assert (world.out / "stopped-by-file").exists() or (world.out / "stopped-by-interrupt").exists()


def test_cooperative_stop_by_file_alone(world):
    job = world.emu.add_job("cooperative")
    proc = world.start("--no-logoff", config=world.reconfigure(robot__stop_interrupt="false"))
    assert world.wait_file("ready")
    world.emu.request_stop(job)
    assert proc.wait(timeout=30) == 0
    assert job.history == [IN_PROGRESS, STOPPED]
    assert (world.out / "stopped-by-file").exists()


def test_stop_escalates_to_kill_for_a_robot_that_ignores_it(world):
    job = world.emu.add_job("stubborn")
    proc = world.start("--no-logoff", config=world.reconfigure(robot__stop_timeout=1))
    assert world.wait_file("ready")
    world.emu.request_stop(job)
    assert proc.wait(timeout=30) == 0
    assert job.history == [IN_PROGRESS, ABORTED]
    assert alive_roles(world) == []
    assert "did not stop within stop_timeout" in world.log_text()


def test_exit_is_noticed_at_once_with_a_long_heartbeat_interval(world):
    job = world.emu.add_job("quick")
    started = time.monotonic()
    result = world.run("--no-logoff", config=world.reconfigure(robot__heartbeat_interval=120), timeout=240)
    assert result.returncode == 0
    assert job.history == [IN_PROGRESS, SUCCESS]
    assert time.monotonic() - started < 60  # generous: waiting for a heartbeat would take 120 s
    assert not [c for c in world.emu.calls("heartbeat") if c.fields["Status"] == "3"]


def test_unknown_robot_guid_logs_off_with_exit_3(world):
    cfg = world.reconfigure(orchestrator__robot_guid="11111111-2222-3333-4444-555555555555")
    result = world.run(config=cfg)
    assert result.returncode == 3
    assert "does not know this robot" in world.log_text()
    assert world.logged_off.exists()


def test_http_401_exits_3_with_a_clear_line(world):
    world.emu.add_fault("heartbeat", "status", code=401, text="unauthorized")
    result = world.run("--no-logoff")
    assert result.returncode == 3
    assert "refuses this robot GUID" in result.stderr
    assert "Traceback" not in result.stderr


def test_heartbeat_101_exits_3_and_logs_off(world):
    world.emu.add_fault("heartbeat", "body", text=json.dumps({"HeartbeatErrorCode": 101, "ErrorText": "Robot not found",
                                                              "HasNewJob": 0}))
    result = world.run()
    assert result.returncode == 3
    assert "does not know this robot" in result.stderr
    assert world.logged_off.exists()
    assert [c.endpoint for c in world.emu.calls()] == ["heartbeat"]


def test_consume_101_exits_3(world):
    world.emu.add_job("ok")
    world.emu.add_fault("consume", "body", text=json.dumps({"ConsumeJobErrorCode": 101, "ErrorText": "no robot"}))
    result = world.run("--no-logoff")
    assert result.returncode == 3
    assert not world.logged_off.exists()


def test_consume_102_goes_back_to_the_heartbeat(world):
    job = world.emu.add_job("ok")
    world.emu.add_fault("consume", "body", text=json.dumps({"ConsumeJobErrorCode": 102, "ErrorText": "taken"}))
    result = world.run("--no-logoff")
    assert result.returncode == 0
    assert [c.endpoint for c in world.emu.calls()][:4] == ["heartbeat", "consume", "heartbeat", "consume"]
    assert job.history == [IN_PROGRESS, SUCCESS]


def test_no_job_logs_off(world):
    result = world.run()
    assert result.returncode == 0
    assert world.logged_off.read_text() == "logged off\n"
    assert [c.endpoint for c in world.emu.calls()] == ["heartbeat"]


def test_no_logoff_flag_and_config_skip_logoff(world):
    assert world.run("--no-logoff").returncode == 0
    assert world.run(config=world.reconfigure(session__logoff="false")).returncode == 0
    assert not world.logged_off.exists()


def test_default_logoff_command_is_skipped_off_windows(world):
    if os.name == "nt":
        pytest.skip("on Windows the default command really logs off")
    result = world.run(config=world.reconfigure(session__logoff_command="shutdown /l"))
    assert result.returncode == 0
    assert "skipping the default log-off command" in world.log_text()


def test_once_runs_one_job_and_leaves_the_rest(world):
    first, second = world.emu.add_job("ok"), world.emu.add_job("ok")
    result = world.run("--once")
    assert result.returncode == 0
    assert first.history == [IN_PROGRESS, SUCCESS] and second.history == []
    assert not world.logged_off.exists()  # work is left, so the session stays


def test_put_405_switches_to_post(world):
    world.emu.update_methods = {"POST"}
    job = world.emu.add_job("ok")
    assert world.run("--no-logoff").returncode == 0
    assert job.history == [IN_PROGRESS, SUCCESS]
    methods = [c.method for c in world.emu.calls("update")]
    assert methods == ["PUT", "POST", "POST"]


def test_check_sends_one_ready_heartbeat_and_consumes_nothing(world):
    world.emu.add_job("ok")
    result = world.run("--check")
    assert result.returncode == 0, result.stderr
    assert "HasNewJob=1" in result.stdout
    assert world.emu.robot_guid not in result.stdout
    assert [c.endpoint for c in world.emu.calls()] == ["heartbeat"]


def test_the_framework_log_is_under_log_dir(world):
    assert world.run("--no-logoff").returncode == 0
    assert (world.log_dir / "robot_framework.log").exists()


@pytest.mark.skipif(os.name != "nt", reason="pythonw.exe exists only on Windows")
def test_framework_under_pythonw_logs_to_file_and_robots_print(world):
    pythonw = pythonw_or_skip()
    job = world.emu.add_job("ok")
    result = run_captured([pythonw, FRAMEWORK, "--config", world.config, "--no-logoff"], timeout=60, env=world.env())
    assert result.returncode == 0
    assert job.history == [IN_PROGRESS, SUCCESS]
    assert "finished: Success" in world.log_text()
    seen = json.loads((world.out / "ok.json").read_text())
    assert os.path.basename(seen["argv"][0]) == "ok.py"
    outputs = list((world.log_dir / "jobs").glob("*/output.log"))
    assert "ok robot" in outputs[0].read_text(encoding="utf-8")
