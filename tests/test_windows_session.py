"""End to end: the Windows session's life (issue 19): robots start through a bootstrap that works under any
Python (an embeddable CPython with its ._pth file included), the single-instance lock, the task XML."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

import robot_framework as rf
from conftest import UNDER_WINE

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


@pytest.mark.skipif(not UNDER_WINE, reason="needs the Windows lane's embeddable CPython (tests/windows/run.sh)")
def test_robot_imports_the_framework_under_the_embeddable_cpython_with_its_pth_file(world):
    # A copy of the lane's interpreter with the ._pth file the official embeddable CPython ships (plus
    # Lib\site-packages, as vendors add it for their packages): it ignores PYTHONPATH.
    source = os.path.dirname(sys.executable)
    copy = world.tmp / "embedded"
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__"))
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
