"""Config validation end to end (exit 2, one line, nothing sent) and unit tests of the pure logic."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

import robot_framework as rf
from conftest import REPO, TEST_ROBOTS, run_captured
from orchestrator_emulator import FRAMEWORK


def write(tmp_path, text: str) -> str:
    path = tmp_path / "config.ini"
    path.write_text(text, encoding="utf-8")
    return str(path)


def valid_ini(emu, **replace: str) -> str:
    lines = {
        "host": f"host = {emu.url}",
        "robot_guid": f"robot_guid = {emu.robot_guid}",
        "heartbeat_interval": "heartbeat_interval = 0.2",
        "verify_tls": "verify_tls = true",
        "logoff": "logoff = false",
    }
    lines.update(replace)
    return (f"[orchestrator]\n{lines['host']}\n{lines['robot_guid']}\n{lines['verify_tls']}\n"
            f"[robot]\nscripts_dir = {TEST_ROBOTS}\n{lines['heartbeat_interval']}\n"
            f"[session]\n{lines['logoff']}\n[logging]\nlog_dir = logs\n")


@pytest.mark.parametrize(("replace", "expected"), [
    ({"host": "host ="}, "[orchestrator] host is required"),
    ({"host": "host = ftp://x"}, "[orchestrator] host must be an http:// or https:// URL"),
    ({"robot_guid": "robot_guid = not-a-guid"}, "[orchestrator] robot_guid must be the robot's GUID"),
    ({"robot_guid": "robot_guid = 00000000-0000-0000-0000-000000000000"}, "all-zero placeholder"),
    ({"heartbeat_interval": "heartbeat_interval = 0.01"}, "[robot] heartbeat_interval must be at least 0.1"),
    ({"heartbeat_interval": "heartbeat_interval = soon"}, "[robot] heartbeat_interval must be a number"),
    ({"verify_tls": "verify_tls = missing-ca.pem"}, "[orchestrator] verify_tls must be true, false or the path"),
    ({"logoff": "logoff = maybe"}, "[session] logoff must be true or false"),
    ({"logoff": "logoff = true\nlogoff_command = \"unclosed"}, "[session] logoff_command cannot be split"),
    ({"logoff": "this is not ini"}, "cannot be read as an INI file"),
])
def test_bad_config_exits_2_with_one_line_and_sends_nothing(tmp_path, emu, replace, expected):
    path = write(tmp_path, valid_ini(emu, **replace))
    result = subprocess.run([sys.executable, FRAMEWORK, "--config", path], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert path in lines[0] and expected in lines[0]
    assert emu.calls() == []


def test_missing_config_file(tmp_path):
    result = subprocess.run([sys.executable, FRAMEWORK, "--config", str(tmp_path / "nope.ini")],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "config file not found" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_default_config_is_beside_the_script_not_in_the_working_directory(tmp_path):
    (tmp_path / "config.ini").write_text("[orchestrator]\nhost = http://127.0.0.1:9\n")
    result = subprocess.run([sys.executable, FRAMEWORK], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert result.returncode == 2
    # the shipped example still has the placeholder GUID
    assert os.path.join(REPO, "config.ini") in result.stderr and "placeholder" in result.stderr


def test_unknown_keys_warn_but_run_and_relative_paths_follow_the_config(tmp_path, emu):
    text = valid_ini(emu).replace("[session]", "colour = blue\n[session]") + "[extra]\nx = 1\n"
    path = write(tmp_path, text)
    # Through files: this run opens the framework's hidden window (Windows), and a pipe could be inherited
    # by the desktop process that window starts under Wine (conftest.run_captured).
    result = run_captured([sys.executable, FRAMEWORK, "--config", path], timeout=120, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert "unknown key [robot] colour" in result.stderr and "unknown section [extra]" in result.stderr
    assert (tmp_path / "logs" / "robot_framework.log").exists()


def test_bom_and_percent_signs_are_fine(tmp_path, emu):
    text = valid_ini(emu, logoff="logoff = false\nlogoff_command = cmd /c echo 100%")
    path = tmp_path / "config.ini"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    cfg, _ = rf.load_config(str(path))
    assert cfg.logoff_command == "cmd /c echo 100%"


# --- pure logic -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("value", "expected"), [
    (1, 1), ("1", 1), (" 0 ", 0), (1.0, 1), ("-5", -5), (True, None), (None, None), ("yes", None), (1.5, None),
])
def test_as_int(value, expected):
    assert rf.as_int(value) == expected


def test_parse_consumed_job_accepts_strings_objects_and_spaced_task_key():
    fields = {"Job": json.dumps({"GUID": "g"}), "ProcessVersion": {"Name": " robot "}, " Task ": '{"a": 1}'}
    job = rf.parse_consumed_job(fields)
    assert (job.guid, job.name, job.task, job.problem) == ("g", "robot", {"a": 1}, "")
    assert rf.parse_consumed_job({"Job": {"GUID": "g"}, "ProcessVersion": {}, "Task": ""}).problem
    assert rf.parse_consumed_job({"Job": None}) is None


def test_resolve_robot_script(tmp_path):
    (tmp_path / "a.py").write_text("")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__main__.py").write_text("")
    assert rf.resolve_robot_script(str(tmp_path), "a") == ([str(tmp_path / "a.py")], str(tmp_path))
    assert rf.resolve_robot_script(str(tmp_path), "a.py")[0] == [str(tmp_path / "a.py")]
    assert rf.resolve_robot_script(str(tmp_path), "pkg") == ([str(tmp_path / "pkg")], str(tmp_path / "pkg"))
    for bad in ("../a", "a/b", "a\\b", "C:a", "..", "", "LPT1", "a\tb"):
        with pytest.raises(ValueError):
            rf.resolve_robot_script(str(tmp_path), bad)


def test_split_command_keeps_windows_paths_on_windows():
    if os.name == "nt":
        assert rf.split_command(r'"C:\Program Files\x.exe" /l') == [r"C:\Program Files\x.exe", "/l"]
    else:
        assert rf.split_command('"/opt/my tool" --flag') == ["/opt/my tool", "--flag"]
    assert rf.split_command("shutdown /l") == ["shutdown", "/l"]


def test_clean_strips_control_characters_and_cuts():
    assert rf.clean("a\r\nINFO forged\x1b[31m") == "a INFO forged [31m"
    assert rf.clean("x" * 300) == "x" * 200 + "..."


def test_the_framework_log_rotates_once_it_reaches_its_size(tmp_path, monkeypatch):
    monkeypatch.setattr(rf, "LOG_MAX_BYTES", 2000)
    cfg = SimpleNamespace(log_dir=str(tmp_path), level="INFO")
    monkeypatch.setattr(rf.logger, "handlers", [])
    monkeypatch.setattr(sys, "stderr", None)  # as under pythonw: the file alone
    rf.setup_logging(cfg, verbose=False)
    try:
        for n in range(200):  # ~18 KB: more rotations than backups kept
            rf.logger.info("line %03d %s", n, "x" * 50)
    finally:
        for handler in rf.logger.handlers:
            handler.close()
    current, previous = tmp_path / "robot_framework.log", tmp_path / "robot_framework.log.1"
    assert previous.exists() and 2000 <= previous.stat().st_size < 2100  # cut at the line that crossed the size
    assert "line 199" in current.read_text(encoding="utf-8") and current.stat().st_size < 2100
    assert len(list(tmp_path.glob("robot_framework.log.*"))) == rf.LOG_BACKUPS  # the oldest went


def test_robots_get_python_exe_when_the_framework_runs_under_pythonw(tmp_path, monkeypatch):
    (tmp_path / "python.exe").write_text("")
    (tmp_path / "pythonw.exe").write_text("")
    monkeypatch.setattr(sys, "executable", str(tmp_path / "pythonw.exe"))
    assert rf.default_robot_python() == str(tmp_path / "python.exe")
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python3"))
    assert rf.default_robot_python() == str(tmp_path / "python3")
