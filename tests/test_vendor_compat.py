"""End to end: robots and settings written for the vendor's own Python framework work unchanged (issue 14)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest

import robot_framework as rf
from conftest import FRAMEWORK, UNDER_WINE, pythonw_or_skip, wait_until

SUCCESS, FAILED, STOPPED, IN_PROGRESS = 4, 5, 7, 8


@pytest.mark.parametrize("name", ["vendor\\billing\\close_books", "vendor/billing/close_books",
                                  "vendor/billing\\close_books.py"])
def test_vendor_robot_in_a_subfolder_reads_argv_and_settings(world, name):
    job = world.emu.add_job(name, task={"guid": "TASK-1", "name": "INV-7", "parameters": "{}"})
    result = world.run("--no-logoff", TEST_EXPECTED_GUID=world.emu.robot_guid)
    assert result.returncode == 0, result.stderr
    assert job.history == [IN_PROGRESS, SUCCESS], world.log_text()
    seen = json.loads((world.out / "vendor.json").read_text(encoding="utf-8"))
    version_guid, job_guid, third, settings_path = seen["items"]
    assert len(seen["argv"]) == 1  # one argument, as the vendor's framework passes it
    assert version_guid == str(uuid.uuid5(uuid.NAMESPACE_URL, name))  # the emulator's ProcessVersion GUID
    assert job_guid == job.guid and third == "TASK-1"
    assert seen["settings"] == {"guid_matches": True, "host": world.emu.url, "logoff": "1"}
    assert os.path.dirname(settings_path).startswith(str(world.log_dir / "jobs"))
    assert not os.path.exists(settings_path)  # it holds the GUID: gone once the job ended


@pytest.mark.parametrize("name", [
    "vendor/../ok", "vendor\\..\\..\\conftest", "/vendor/billing/close_books", "\\vendor\\billing\\close_books",
    "vendor//billing/close_books", "vendor/NUL/close_books", "vendor/billing/COM1", "vendor/.hidden/close_books",
    "C:\\vendor\\billing\\close_books", "vendor/bil:ling/close_books", "\\\\server\\share\\close_books",
    "vendor/billing/close_books/", "vendor/billing /close_books", "vendor/bil\x07ling/close_books",
])
def test_every_traversal_case_still_fails_safely(world, name):
    job = world.emu.add_job(name)
    assert world.run("--no-logoff").returncode == 0
    assert job.history == [IN_PROGRESS, FAILED]
    assert not (world.out / "vendor.json").exists() and not (world.out / "ok.json").exists()
    assert "could not start the robot" in world.log_text()


def test_subfolder_names_resolve_under_scripts_dir(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "c.py").write_text("")
    (tmp_path / "a" / "pkg").mkdir()
    (tmp_path / "a" / "pkg" / "__main__.py").write_text("")
    script = str(tmp_path / "a" / "b" / "c.py")
    assert rf.resolve_robot_script(str(tmp_path), "a\\b\\c") == ([script], str(tmp_path / "a" / "b"))
    assert rf.resolve_robot_script(str(tmp_path), "a/b/c.py") == ([script], str(tmp_path / "a" / "b"))
    assert rf.resolve_robot_script(str(tmp_path), "a/pkg")[0] == [str(tmp_path / "a" / "pkg")]
    for bad in ("a/../a/b/c", "a/./b/c", "/a/b/c", "a/b/", "a\\\\b\\c", "a/b/AUX", "a/b/c:d"):
        with pytest.raises(ValueError):
            rf.resolve_robot_script(str(tmp_path), bad)


def test_settings_txt_config_runs_the_loop(world):
    settings = world.tmp / "settings.txt"
    settings.write_text(f"{world.emu.robot_guid}\n{world.emu.url}\n0\n", encoding="utf-8")
    # Robots are named relative to the framework's folder, as the vendor's framework names them.
    job = world.emu.add_job("tests\\robots\\vendor\\billing\\close_books")
    result = world.run(config=str(settings), TEST_EXPECTED_GUID=world.emu.robot_guid)
    assert result.returncode == 0, result.stderr
    assert job.history == [IN_PROGRESS, SUCCESS]
    assert (world.tmp / "logs" / "robot_framework.log").exists()  # logs beside settings.txt
    seen = json.loads((world.out / "vendor.json").read_text(encoding="utf-8"))
    assert seen["settings"] == {"guid_matches": True, "host": world.emu.url, "logoff": "0"}
    assert not world.logged_off.exists()


def test_settings_txt_without_logoff_line_logs_off_as_the_vendor_does():
    cfg_dict = rf.vendor_settings(f"{uuid.uuid4()}\nhttps://orchestrator.example\n", "settings.txt")
    assert cfg_dict["session"]["logoff"] == "true"
    assert cfg_dict["robot"]["scripts_dir"] == rf.FRAMEWORK_DIR


@pytest.mark.parametrize(("content", "words"), [
    ("{guid}\nhttps://o.example\n2\n", "line 3 (logoff flag) must be 0"),
    ("{guid}\n", "line 2 (Orchestrator host) is required"),
    ("not-a-guid\nhttps://o.example\n1\n", "line 1 (robot GUID) must be the robot's GUID"),
    ("{guid}\nftp://o.example\n1\n", "line 2 (Orchestrator host) must be an http:// or https:// URL"),
])
def test_bad_settings_txt_is_one_clear_line_and_exit_2(tmp_path, content, words):
    settings = tmp_path / "settings.txt"
    settings.write_text(content.format(guid=uuid.uuid4()), encoding="utf-8")
    result = subprocess.run([sys.executable, FRAMEWORK, "--config", str(settings)], capture_output=True, text=True,
                            timeout=60, stdin=subprocess.DEVNULL, check=False)
    assert result.returncode == 2
    assert words in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_vendor_argument_keeps_four_items():
    job = rf.ConsumedJob(guid="J|1", name="x", job={}, process_version={"GUID": "P\n1"}, task=None)
    files = rf.JobFiles("f", "c", "o", "s", "r", "settings.txt", "tasks.jsonl", "environment.log", "artifacts")
    assert rf.vendor_argument(job, files).split("|") == ["P1", "J1", "", "settings.txt"]


@pytest.mark.skipif(os.name != "nt", reason="SIGBREAK and console control events exist only on Windows")
def test_soft_stop_reaches_a_vendor_robot_waiting_for_sigbreak(world):
    # As the scheduled task runs it: pythonw.exe, no console of its own, so it can attach to the robot's.
    pythonw = pythonw_or_skip()
    job = world.emu.add_job("vendor\\sigbreak_waiter")
    config = world.reconfigure(robot__stop_interrupt="true", robot__stop_timeout=20)
    proc = subprocess.Popen([pythonw, FRAMEWORK, "--config", config, "--no-logoff"], env=world.env(),
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert world.wait_file("ready")
        world.emu.request_stop(job)
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
    if UNDER_WINE and not (world.out / "got-sigbreak").exists():
        pytest.skip("Wine: AttachConsole/GenerateConsoleCtrlEvent to a robot's hidden console is not delivered "
                    f"here ({next((ln for ln in world.log_text().splitlines() if 'interrupt' in ln), 'no log line')})")
    assert (world.out / "got-sigbreak").exists()
    assert wait_until(lambda: job.history == [IN_PROGRESS, STOPPED])


@pytest.mark.skipif(os.name != "nt", reason="the CTRL_BREAK attach exists only on Windows")
def test_processes_still_start_after_a_windows_soft_stop(world):
    # The soft stop attaches to the robot's console and frees it again; after it the framework must still
    # start processes (the next robot, the log-off command), which inherit its standard handles.
    pythonw = pythonw_or_skip()
    first, second = world.emu.add_job("cooperative"), world.emu.add_job("ok")
    config = world.reconfigure(robot__stop_interrupt="true", robot__stop_timeout=20)
    proc = subprocess.Popen([pythonw, FRAMEWORK, "--config", config], env=world.env(),
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert world.wait_file("ready")
        world.emu.request_stop(first)
        assert proc.wait(timeout=90) == 0
    finally:
        proc.kill()
    assert first.history == [IN_PROGRESS, STOPPED]
    assert second.history == [IN_PROGRESS, SUCCESS]  # a robot started after the soft stop
    assert world.logged_off.exists()  # and the log-off command
    assert "WinError 6" not in world.log_text()
