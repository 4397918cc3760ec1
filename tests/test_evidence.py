"""Evidence of a hung or failed robot (issue 29): its stack, its processes, its screen, idle_timeout."""

from __future__ import annotations

import faulthandler
import json
import os
import subprocess
import sys
import time

import pytest

import robot_framework as rf
from conftest import TEST_ROBOTS, UNDER_WINE, alive_roles, process_start_seconds

FAILED, ABORTED, SUCCESS, IN_PROGRESS = 5, 3, 4, 8
POSIX_ONLY = pytest.mark.skipif(os.name == "nt", reason="SIGUSR1 exists on POSIX only")


def messages(world, job) -> list[str]:
    return [e["message"] for e in world.emu.logs if e["job_guid"] == job.guid]


def entry(world, job, start: str) -> str:
    return next((m for m in messages(world, job) if m.startswith(start)), "")


def assert_stack_names_the_robots_function(world, job) -> None:
    stack = entry(world, job, "The robot was here when it was stopped")
    assert 'File "stuck.py", line ' in stack and ", in wait_for_dialog" in stack, messages(world, job)
    output = next((world.log_dir / "jobs").glob("*/output.log")).read_text(encoding="utf-8")
    assert "most recent call first" in output  # the whole dump, every thread, is in the job folder


def assert_processes_entry_names_the_child(world, job) -> None:
    processes = entry(world, job, "The robot's processes when it was stopped:")
    child_pid = world.pids()["stuck-child"][0]
    assert f"(pid {child_pid}," in processes and "└ " in processes, processes
    assert " s CPU, " in processes and " MiB, " in processes and " s old)" in processes


def test_job_timeout_tells_where_the_robot_was_and_what_it_ran(world):
    # A robot and its child are two Python starts: the timeout comes well after both, however slow the lane.
    timeout = round(max(1.5, 10 * process_start_seconds()), 1)
    job = world.emu.add_job("stuck")
    result = world.run("--no-logoff", config=world.reconfigure(robot__job_timeout=timeout), timeout=120 + timeout)
    assert result.returncode == 0
    assert job.history == [IN_PROGRESS, FAILED]
    assert_stack_names_the_robots_function(world, job)
    assert_processes_entry_names_the_child(world, job)
    assert alive_roles(world) == []


def test_stop_past_stop_timeout_tells_where_the_robot_was(world):
    job, code = world.run_until_ready("stuck", lambda job, _: world.emu.request_stop(job),
                                      config=world.reconfigure(robot__stop_timeout=1), timeout=60)
    assert code == 0
    assert job.history == [IN_PROGRESS, ABORTED]
    assert_stack_names_the_robots_function(world, job)
    assert_processes_entry_names_the_child(world, job)
    assert alive_roles(world) == []


@POSIX_ONLY
def test_a_robot_that_ignores_the_stack_request_is_killed_on_time(world):
    timeout = round(max(1.5, 10 * process_start_seconds()), 1)
    job = world.emu.add_job("stuck")
    started = time.monotonic()
    result = world.run("--no-logoff", config=world.reconfigure(robot__job_timeout=timeout), timeout=120 + timeout,
                       TEST_DEAF="1")
    assert result.returncode == 0 and job.history == [IN_PROGRESS, FAILED]
    assert "did not tell where it was within 1 s" in entry(world, job, "The robot did not tell")
    assert time.monotonic() - started < timeout + 30  # the stack wait is bounded (1 s), the kill follows
    assert alive_roles(world) == []


def test_a_silent_robot_is_killed_at_idle_timeout_and_a_chatty_one_is_not(world):
    idle = round(max(2.0, 6 * process_start_seconds()), 1)
    silent, chatty = world.emu.add_job("stuck"), world.emu.add_job("ticker")
    result = world.run("--no-logoff", config=world.reconfigure(robot__idle_timeout=idle), timeout=240,
                       TEST_ROBOT_SECONDS=str(round(2.5 * idle, 1)))
    assert result.returncode == 0
    assert silent.history == [IN_PROGRESS, FAILED] and chatty.history == [IN_PROGRESS, SUCCESS]
    assert entry(world, silent, "Job ended: Failed").startswith(
        f"Job ended: Failed (no progress for {idle:g} s (idle_timeout))")
    assert entry(world, silent, "The robot was here when it was stopped")
    assert alive_roles(world) == []


def test_artifacts_dir_and_screenshot_from_a_robot(world):
    job = world.emu.add_job("evidence_api")
    assert world.run("--no-logoff").returncode == 0
    assert job.history == [IN_PROGRESS, SUCCESS]
    seen = json.loads((world.out / "evidence.json").read_text(encoding="utf-8"))
    folder = next((world.log_dir / "jobs").glob("*"))
    assert seen["artifacts"] == seen["env"] == str(folder / "artifacts")
    assert (folder / "artifacts" / "export.csv").exists()
    if os.name == "nt" and not UNDER_WINE:
        assert seen["screenshot"] == str(folder / "artifacts" / "after_export.png")
    else:  # off Windows, and under Wine's null display driver, there is no desktop to capture
        assert seen["screenshot"] is None
        reason = entry(world, job, "no screenshot 'after_export': ")
        assert ("Windows only" in reason) if os.name != "nt" else ("desktop is not available" in reason), reason


@pytest.mark.skipif(os.name != "nt", reason="screenshots are taken on Windows only")
def test_a_failed_job_says_what_became_of_its_screenshot(world):
    job = world.emu.add_job("fail")
    assert world.run("--no-logoff", config=world.reconfigure(robot__screenshots="on_failure")).returncode == 0
    assert job.history == [IN_PROGRESS, FAILED]
    if UNDER_WINE:  # the null display driver: no desktop, and the job log says so
        assert entry(world, job, "no screenshot: the session's desktop is not available (locked or disconnected)")
    else:
        assert entry(world, job, "Screenshot of the robot's desktop: ")


@pytest.mark.skipif(os.environ.get("ROBOT_FRAMEWORK_X11") != "1",
                    reason="needs a real desktop: the Windows lane runs it under Wine's x11 driver on Xvfb")
def test_screenshots_of_a_real_desktop(world):
    import ctypes
    import struct

    size = (ctypes.windll.user32.GetSystemMetrics(78), ctypes.windll.user32.GetSystemMetrics(79))
    robot, failed = world.emu.add_job("evidence_api"), world.emu.add_job("fail")
    config = world.reconfigure(robot__screenshots="on_failure")
    assert world.run("--no-logoff", config=config, timeout=120).returncode == 0
    assert robot.history == [IN_PROGRESS, SUCCESS] and failed.history == [IN_PROGRESS, FAILED]
    shot = json.loads((world.out / "evidence.json").read_text(encoding="utf-8"))["screenshot"]
    named = entry(world, failed, "Screenshot of the robot's desktop: ").split(": ", 1)[1]
    for path in (shot, named):
        data = open(path, "rb").read()
        assert data.startswith(b"\x89PNG") and struct.unpack(">II", data[16:24]) == size, path


# --- pure logic ---------------------------------------------------------------------------------------
def test_the_main_thread_is_found_in_a_real_faulthandler_dump(tmp_path):
    script = tmp_path / "robot.py"
    script.write_text("import faulthandler, sys, threading, time\n"
                      "def helper():\n    time.sleep(5)\n"
                      "threading.Thread(target=helper, daemon=True).start()\n"
                      "def wait_for_dialog():\n    faulthandler.dump_traceback(sys.stdout, all_threads=True)\n"
                      "wait_for_dialog()\n")
    dump = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True, timeout=60,
                          stdin=subprocess.DEVNULL).stdout
    frames = rf.main_thread_frames("robot output before\n" + dump)
    assert [f[2] for f in frames] == ["wait_for_dialog", "<module>"]
    lines = rf.where_it_was(frames, str(tmp_path))
    assert lines == ['  File "robot.py", line 6, in wait_for_dialog', '  File "robot.py", line 7, in <module>']
    assert faulthandler  # the framework relies on the standard library's format


def test_long_stacks_keep_the_innermost_frames_and_the_robots_own(tmp_path):
    library = [(f"/lib/mod{i}.py", str(i), f"f{i}") for i in range(30)]
    own = [(str(tmp_path / "bot.py"), "42", "wait_for_dialog")]
    lines = rf.where_it_was(library[:5] + own + library[5:], str(tmp_path))
    assert len(lines) == rf.STACK_LINES + 1 and lines[-1].startswith("  ... (")
    assert '  File "bot.py", line 42, in wait_for_dialog' in lines and lines[0].startswith('  File "/lib/mod0.py"')


def test_png_is_a_valid_image():
    import zlib

    data = rf.png(3, 2, bytes(range(18)))
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR"
    idat = data[data.index(b"IDAT") + 4:data.index(b"IEND") - 8]
    assert zlib.decompress(idat) == b"\x00" + bytes(range(9)) + b"\x00" + bytes(range(9, 18))


def test_progress_is_what_the_robot_writes_not_the_framework(tmp_path):
    files = rf.JobFiles(str(tmp_path), *(str(tmp_path / n) for n in (
        "context.json", "output.log", "stop", "robot-log.jsonl", "settings.txt", "tasks.jsonl", "environment.log",
        "artifacts")))
    watch = rf.ProgressWatch(100, files)
    (tmp_path / rf.LOG_OUTBOX).write_text("framework entry\n")
    (tmp_path / rf.LOG_OUTBOX_DONE).write_text("framework entry\n")
    assert watch.look() == watch.mark
    (tmp_path / "artifacts").mkdir()
    (tmp_path / "artifacts" / "download.pdf").write_bytes(b"%PDF")
    assert watch.look() != watch.mark
    assert TEST_ROBOTS
