"""--install-task / --uninstall-task: the Task Scheduler task that starts the framework at logon (issue 13).

The definition is checked structurally everywhere (--dry-run). Registering and deleting with the real
schtasks.exe runs in the Windows lane. What Wine cannot show: Wine's schtasks registers and deletes a
task, but stores its own rewrite of the definition (without our principal and action), never fires
logon or session triggers, has one user (so no other-account or access-denied path), and its /Query
is a stub that always succeeds silently.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import robot_framework as rf
from conftest import FRAMEWORK, REPO, UNDER_WINE, run_captured

NS = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}
WINDOWS_ONLY = pytest.mark.skipif(os.name != "nt", reason="schtasks.exe exists only on Windows (the Windows lane)")


def framework(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run the framework; its output goes through files, not pipes: under Wine the task scheduler service
    that schtasks starts on first use keeps inherited pipe handles open, so a pipe would never end."""
    with tempfile.TemporaryFile("w+", encoding="utf-8") as out, tempfile.TemporaryFile("w+", encoding="utf-8") as err:
        proc = subprocess.run([sys.executable, FRAMEWORK, *args], stdout=out, stderr=err, timeout=timeout,
                              stdin=subprocess.DEVNULL, check=False, env=dict(os.environ, PYTHONIOENCODING="utf-8"))
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out.read(), err.read())


def split_windows_command_line(line: str) -> list[str]:
    """How the program started by the task will see its arguments."""
    if os.name == "nt":
        import ctypes
        from ctypes import wintypes

        shell32 = ctypes.WinDLL("shell32")
        shell32.CommandLineToArgvW.restype = ctypes.POINTER(wintypes.LPWSTR)
        count = ctypes.c_int()
        argv = shell32.CommandLineToArgvW("prog " + line, ctypes.byref(count))
        return [argv[i] for i in range(1, count.value)]
    return shlex.split(line)  # same result for the double-quoted, backslash-free lines built here


@pytest.fixture
def spaced_config(world) -> str:
    folder = world.tmp / "my configs"
    folder.mkdir()
    path = folder / "robot 1.ini"
    shutil.copy(world.config, path)
    return str(path)


@pytest.mark.parametrize("user", ["CORP\\robot01", "CORP\\Jürgen Ølsen", "ロボット"])
def test_dry_run_prints_the_task_definition(spaced_config, user):
    result = framework("--config", spaced_config, "--install-task", "--dry-run", "--user", user)
    assert result.returncode == 0, result.stderr
    assert "was not registered" in result.stderr
    task = ET.fromstring(result.stdout.encode("utf-16"))  # declared UTF-16, as schtasks reads it
    assert task.get("version") == "1.2"
    logon = task.find("t:Triggers/t:LogonTrigger", NS)
    connect = task.find("t:Triggers/t:SessionStateChangeTrigger", NS)
    assert logon.findtext("t:UserId", namespaces=NS) == user and logon.findtext("t:Enabled", namespaces=NS) == "true"
    assert connect.findtext("t:StateChange", namespaces=NS) == "RemoteConnect"
    assert connect.findtext("t:UserId", namespaces=NS) == user
    principal = task.find("t:Principals/t:Principal", NS)
    assert principal.findtext("t:UserId", namespaces=NS) == user
    assert principal.findtext("t:LogonType", namespaces=NS) == "InteractiveToken"  # only when logged on
    assert principal.findtext("t:RunLevel", namespaces=NS) == "LeastPrivilege"
    settings = {child.tag.split("}")[1]: child.text for child in task.find("t:Settings", NS)}
    assert settings["ExecutionTimeLimit"] == "PT0S"
    assert settings["DisallowStartIfOnBatteries"] == settings["StopIfGoingOnBatteries"] == "false"
    assert settings["MultipleInstancesPolicy"] == "IgnoreNew"
    assert settings["StartWhenAvailable"] == "true"
    action = task.find("t:Actions/t:Exec", NS)
    pythonw = os.path.join(os.path.dirname(sys.executable), "pythonw.exe")
    assert action.findtext("t:Command", namespaces=NS).strip('"') == pythonw
    arguments = split_windows_command_line(action.findtext("t:Arguments", namespaces=NS))
    assert arguments == rf.task_arguments(rf.load_config(spaced_config)[0])
    assert arguments[0] == "-c" and arguments[2:] == ["--config", spaced_config]
    assert action.findtext("t:WorkingDirectory", namespaces=NS) == REPO  # "Start in", never quoted
    assert task.findtext("t:RegistrationInfo/t:URI", namespaces=NS) == rf.task_name(user)


def test_task_names_show_the_account_and_stay_valid():
    assert rf.task_name("CORP\\robot01") == "\\robot_framework\\CORP_robot01"
    assert rf.task_name('a/b:c*d?e"f<g>h|i') == "\\robot_framework\\a_b_c_d_e_f_g_h_i"


def test_command_with_spaces_is_quoted_and_start_folder_is_not(world, monkeypatch):
    monkeypatch.setattr(rf, "task_python", lambda: "C:\\Program Files\\Python313\\pythonw.exe")
    monkeypatch.setattr(rf, "FRAMEWORK_DIR", "C:\\robot framework")
    cfg, _ = rf.load_config(world.config)
    task = ET.fromstring(rf.task_definition(cfg, "CORP\\robot01").encode("utf-16"))
    action = task.find("t:Actions/t:Exec", NS)
    assert action.findtext("t:Command", namespaces=NS) == '"C:\\Program Files\\Python313\\pythonw.exe"'
    assert action.findtext("t:WorkingDirectory", namespaces=NS) == "C:\\robot framework"


def test_bad_config_is_refused_before_anything(tmp_path):
    bad = tmp_path / "bad.ini"
    bad.write_text("[orchestrator]\nhost = ftp://nope\n", encoding="utf-8")
    result = framework("--config", str(bad), "--install-task", "--dry-run")
    assert result.returncode == 2
    assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1
    assert "[orchestrator] host" in result.stderr


@pytest.mark.skipif(os.name == "nt", reason="checks the refusal off Windows")
def test_off_windows_install_and_uninstall_refuse_with_one_line(world):
    for args in (["--install-task"], ["--uninstall-task"]):
        result = framework("--config", world.config, *args)
        assert result.returncode == rf.EXIT_TASK
        assert len(result.stderr.strip().splitlines()) == 1 and "not Windows" in result.stderr
    assert world.emu.calls() == []


@WINDOWS_ONLY
def test_install_then_uninstall_with_the_real_schtasks_is_idempotent(world):
    user = "robot_framework_test_account"  # Wine has one user; the name is only the task's label and principal
    name = rf.task_name(user)
    stored = Path(os.environ.get("SYSTEMROOT", "C:\\windows"), "System32", "Tasks", "robot_framework",
                  name.rsplit("\\", 1)[1])
    try:
        first = framework("--config", world.config, "--install-task", "--user", user)
        if first.returncode == rf.EXIT_TASK and "not supported" in first.stderr.lower():
            pytest.skip(f"this schtasks cannot register tasks: {first.stderr.strip()}")
        assert first.returncode == 0, first.stdout + first.stderr
        assert "created" in first.stdout or "replaced" in first.stdout
        assert "heartbeat:" in first.stdout  # the --check ran first, against the emulator
        if UNDER_WINE:  # Wine keeps its own rewrite of the definition here (principal and action dropped)
            assert stored.exists()
        elif stored.exists():  # Windows keeps the XML here (UTF-16; readable by administrators only)
            assert "InteractiveToken" in stored.read_bytes().decode("utf-16", errors="replace")
        again = framework("--config", world.config, "--install-task", "--user", user)
        assert again.returncode == 0, again.stdout + again.stderr
    finally:
        removed = framework("--uninstall-task", "--user", user)
    assert removed.returncode == 0 and "removed" in removed.stdout
    assert not stored.exists()
    nothing = framework("--uninstall-task", "--user", user)
    assert nothing.returncode == 0 and "nothing to remove" in nothing.stdout


@WINDOWS_ONLY
def test_install_is_refused_when_the_check_fails(world):
    world.emu.stop()  # the Orchestrator is unreachable: the task would never work
    result = framework("--config", world.reconfigure(orchestrator__request_timeout=1), "--install-task",
                       "--user", "robot_framework_test_refused")
    assert result.returncode == rf.EXIT_UNREACHABLE
    assert "not installed" in result.stderr


def test_the_task_command_runs_the_framework_from_any_folder(world, tmp_path):
    """What the task runs (python -c 'import robot_framework ...' --config ...) works, wherever it starts."""
    result = framework("--config", world.config, "--install-task", "--dry-run")
    task = ET.fromstring(result.stdout.encode("utf-16"))
    arguments = split_windows_command_line(task.find("t:Actions/t:Exec", NS).findtext("t:Arguments", namespaces=NS))
    job = world.emu.add_job("ok")
    run = run_captured([sys.executable, *arguments, "--once", "--no-logoff"], timeout=120, cwd=tmp_path,
                       env=world.env())
    assert run.returncode == 0, run.stderr
    assert job.history == [8, 4]
