"""End to end: the Windows session's life (issue 19): robots start through a bootstrap that works under any
Python (an embeddable CPython with its ._pth file included), the single-instance lock, the task XML."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

import robot_framework as rf
from conftest import UNDER_WINE, wait_until

SUCCESS, IN_PROGRESS = 4, 8


def run_imports_api(world, python: str) -> dict:
    job = world.emu.add_job("imports_api")
    result = world.run("--no-logoff", config=world.reconfigure(robot__python=python))
    assert result.returncode == 0, result.stderr
    assert job.history == [IN_PROGRESS, SUCCESS], next((world.log_dir / "jobs").glob("*/output.log")).read_text()
    assert world.emu.wait_for(lambda: any(e["message"] == "imported robot_framework" for e in world.emu.logs))
    return json.loads((world.out / "imports_api.json").read_text(encoding="utf-8"))


@pytest.mark.skipif(os.name == "nt", reason="POSIX stand-in; the Windows lane runs the embeddable CPython itself")
def test_robot_imports_the_framework_under_a_python_that_ignores_pythonpath(world):
    wrapper = world.tmp / "python-ignoring-env"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -E "$@"\n')  # -E: PYTHONPATH is ignored
    wrapper.chmod(0o755)
    seen = run_imports_api(world, str(wrapper))
    assert os.path.samefile(seen["module"], rf.__file__)
    assert os.path.basename(seen["argv"][0]) == "imports_api.py" == os.path.basename(seen["file"])
    assert seen["path0"] == os.path.dirname(seen["file"])  # as `python imports_api.py` would have it


def test_robots_on_the_frameworks_interpreter_start_from_the_bootstraps_bytecode_as_their_script_would(world):
    installed = Path(rf.INSTALLED_BOOTSTRAP)
    installed.unlink(missing_ok=True)  # as where --install-task never ran: the run writes its own
    world.log_dir.mkdir(parents=True, exist_ok=True)
    cached = world.log_dir / rf.BOOTSTRAP_BYTECODE
    cached.write_bytes(b"left damaged by an earlier run")  # never trusted: each run writes its own
    world.emu.add_job("imports_api")  # the run's first robot starts from the source; the bytecode is written
    seen = run_imports_api(world, "")  # meanwhile, and the second robot starts from it
    assert cached.read_bytes()[:4] == importlib.util.MAGIC_NUMBER
    if sys.version_info >= (3, 10):  # sys.orig_argv: the interpreter's own command line
        assert os.path.samefile(seen["command"][1], cached)
    assert os.path.basename(seen["argv"][0]) == "imports_api.py" == os.path.basename(seen["file"])
    assert seen["path0"] == os.path.dirname(seen["file"])  # as `python imports_api.py` would have it
    assert str(world.log_dir) not in seen["path"] and "" in seen["path"]  # as under -c: not the bytecode's folder


def test_the_bootstraps_bytecode_install_task_writes_serves_the_first_robot_too(world):
    assert rf.compile_for_task() is None  # what --install-task does after registering the task
    try:
        seen = run_imports_api(world, "")
        if sys.version_info >= (3, 10):
            assert os.path.samefile(seen["command"][1], rf.INSTALLED_BOOTSTRAP)
        assert not (world.log_dir / rf.BOOTSTRAP_BYTECODE).exists()  # nothing written per run
        assert seen["path0"] == os.path.dirname(seen["file"])
    finally:
        Path(rf.INSTALLED_BOOTSTRAP).unlink(missing_ok=True)  # the other tests run as where it never ran


@pytest.mark.skipif(not UNDER_WINE, reason="needs the Windows lane's embeddable CPython (tests/windows/run.sh)")
def test_robot_imports_the_framework_under_the_embeddable_cpython_with_its_pth_file(world):
    # A copy of the lane's interpreter with the ._pth file the official embeddable CPython ships (plus
    # Lib\site-packages, as vendors add it for their packages): it ignores PYTHONPATH.
    source = os.path.dirname(sys.executable)
    copy = world.tmp / "embedded"
    # copyfile: copy2's CopyFile2 is not implemented by Wine 8
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__"), copy_function=shutil.copyfile)
    version = f"{sys.version_info.major}{sys.version_info.minor}"
    (copy / f"python{version}._pth").write_text(f"python{version}.zip\n.\nLib\\site-packages\n")
    python = str(copy / "python.exe")
    probe = subprocess.run([python, "-c", "import sys; print(sys.flags.ignore_environment, sys.path)"],
                           env=dict(os.environ, PYTHONPATH=str(world.tmp)), capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, check=True)
    assert str(world.tmp) not in probe.stdout  # the ._pth file is in force
    seen = run_imports_api(world, python)
    assert os.path.basename(seen["argv"][0]) == "imports_api.py"


def test_task_xml_runs_robots_at_normal_priority(world):
    cfg, _ = rf.load_config(world.config)
    assert "<Priority>5</Priority>" in rf.task_definition(cfg, "CORP\\robot01")


def test_bootstrap_keeps_the_robots_exit_code_and_traceback(world):
    job = world.emu.add_job("crash")
    assert world.run("--no-logoff").returncode == 0
    assert job.history == [IN_PROGRESS, 5]
    output = next((world.log_dir / "jobs").glob("*/output.log")).read_text(encoding="utf-8")
    assert "crash.py" in output and "RuntimeError: robot crashed on purpose" in output
    assert "exit code 1" in world.log_text()


def start_app(path, **options) -> subprocess.Popen:
    return subprocess.Popen([str(path), "-c", "import time\nwhile True: time.sleep(1)"], stdin=subprocess.DEVNULL,
                            start_new_session=True, **options)


@pytest.mark.skipif(os.name == "nt", reason="the applications are named copies of the interpreter (symlinks); the "
                    "Windows code path differs only in taskkill and the session check")
def test_close_apps_closes_the_jobs_applications_before_and_after_and_nothing_else(world):
    real = os.path.realpath(sys.executable)
    for name in ("fakeapp", "otherapp"):
        os.symlink(real, world.tmp / name)  # the process is named after the link (its comm)
    before = start_app(world.tmp / "fakeapp")  # an application left open before the job
    other = start_app(world.tmp / "otherapp")  # not named in close_apps
    try:
        assert wait_until(lambda: psutil.Process(before.pid).name() == "fakeapp")
        job = world.emu.add_job("app_starter")
        config = world.reconfigure(robot__close_apps="fakeapp, notepad.exe")
        assert world.run("--no-logoff", config=config, TEST_APP=str(world.tmp / "fakeapp")).returncode == 0
        assert job.history == [IN_PROGRESS, SUCCESS]
        assert before.wait(timeout=30) is not None  # closed before the robot started
        started_by_robot = int((world.out / "app.pid").read_text())
        assert wait_until(lambda: not psutil.pid_exists(started_by_robot) or
                          psutil.Process(started_by_robot).status() == psutil.STATUS_ZOMBIE)
        assert other.poll() is None  # another name survives
        log = world.log_text()
        assert "Closed 1 application(s) before the job ([robot] close_apps): fakeapp(" in log
        assert f"Closed 1 application(s) after the job ([robot] close_apps): fakeapp({started_by_robot})" in log
        assert world.emu.wait_for(lambda: any("after the job ([robot] close_apps)" in e["message"]
                                              for e in world.emu.logs))
    finally:
        for proc in (before, other):
            proc.kill()
            proc.wait()


WINDOWS_ONLY = pytest.mark.skipif(os.name != "nt", reason="Job Objects exist only on Windows; on POSIX the marker "
                                  "sweeps are all there is (README: the known gap)")


@WINDOWS_ONLY
def test_a_hidden_child_with_an_empty_environment_is_gone_at_job_end(world):
    job = world.emu.add_job("hider")
    assert world.run("--no-logoff").returncode == 0
    assert job.history == [IN_PROGRESS, SUCCESS]
    hidden = int((world.out / "hidden.pid").read_text())
    try:
        assert wait_until(lambda: not psutil.pid_exists(hidden), timeout=30)
    finally:
        if psutil.pid_exists(hidden):
            psutil.Process(hidden).kill()


@WINDOWS_ONLY
def test_a_killed_framework_takes_its_robot_along(world):
    job = world.emu.add_job("orphan")
    proc = world.start("--no-logoff")
    try:
        assert world.wait_file("ready")
        proc.kill()  # TerminateProcess: no handler of the framework runs
        proc.wait(timeout=30)
    finally:
        proc.kill()
    from conftest import alive_roles

    assert wait_until(lambda: alive_roles(world) == [], timeout=30), alive_roles(world)
    assert job.history == [IN_PROGRESS]


@WINDOWS_ONLY
def test_windows_session_end_kills_the_robot_and_reports_the_job_aborted(world):
    import ctypes
    from ctypes import wintypes

    user32 = ctypes.WinDLL("user32", use_last_error=True)
    user32.FindWindowW.restype = wintypes.HWND
    user32.SendMessageTimeoutW.argtypes = [wintypes.HWND, wintypes.UINT, wintypes.WPARAM, wintypes.LPARAM,
                                           wintypes.UINT, wintypes.UINT, ctypes.POINTER(ctypes.c_size_t)]
    job = world.emu.add_job("tree")
    proc = world.start("--no-logoff")
    try:
        assert world.wait_file("ready")
        assert wait_until(lambda: bool(user32.FindWindowW(rf.SESSION_WINDOW_CLASS, None)))
        hwnd = user32.FindWindowW(rf.SESSION_WINDOW_CLASS, None)
        # What Windows (and `wineboot --end-session`) sends every top-level window at logoff. wineboot itself
        # would then end every process of the prefix, this test runner included, so the test sends them.
        answer = ctypes.c_size_t()
        logoff = 0x80000000  # ENDSESSION_LOGOFF
        assert user32.SendMessageTimeoutW(hwnd, rf.WM_QUERYENDSESSION, 0, logoff, 0x2, 10_000, ctypes.byref(answer))
        assert answer.value == 1  # the session may end
        user32.SendMessageTimeoutW(hwnd, rf.WM_ENDSESSION, 1, logoff, 0x2, 10_000, ctypes.byref(answer))
        # The window procedure returned: the clean-up is done (Windows would now end the process).
        assert job.history == [IN_PROGRESS, 3]
        assert proc.wait(timeout=30) == 130
    finally:
        proc.kill()
    from conftest import alive_roles

    assert alive_roles(world) == []
    assert "finished: Aborted (Windows session ended)" in world.log_text()
