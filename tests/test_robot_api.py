"""End to end: robots get credentials, assets and queue tasks from `import robot_framework` (issue 12)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys

import pytest

import robot_framework as rf
from conftest import REPO

SUCCESS, FAILED, IN_PROGRESS = 4, 5, 8
PASSWORD = "s3cr3t-Pässword!"
NEW_PASSWORD = "rotated-Pa55word#2"


def all_text_written(world) -> str:
    """Everything the run left on disk or sent as a job log entry."""
    parts = [e["message"] for e in world.emu.logs]
    for path in world.tmp.rglob("*"):
        if path.is_file() and path.name != "config.ini":
            parts.append(path.read_text(encoding="utf-8", errors="replace"))
    return "\n".join(parts)


def test_credentials_and_text_assets_by_name_and_guid_and_updates(world):
    cred = world.emu.add_asset("ERP login", text="robot01", password=PASSWORD)
    text = world.emu.add_asset("Base URL", text="https://erp.example")
    job = world.emu.add_job("api_assets")
    result = world.run("--no-logoff", TEST_PASSWORD_SHA=hashlib.sha256(PASSWORD.encode()).hexdigest(),
                       TEST_CREDENTIAL_GUID=cred["guid"], TEST_NEW_PASSWORD=NEW_PASSWORD)
    assert result.returncode == 0
    assert job.history == [IN_PROGRESS, SUCCESS], all_text_written(world)
    seen = json.loads((world.out / "api.json").read_text(encoding="utf-8"))
    assert seen["login"] == "robot01" and seen["password_ok"] and seen["by_guid_same"]
    assert seen["text"] == "https://erp.example" and seen["type"] == 2
    assert seen["text_after"] == "https://erp.example/v2" == text["text"]
    assert seen["rotated_ok"] and cred["password"] == NEW_PASSWORD
    assert "'Base URL'" in seen["not_credential"] and "not a Credentials asset" in seen["not_credential"]
    # Secrets stay secret: no password in the framework log, the job output, the job log entries.
    written = all_text_written(world)
    assert PASSWORD not in written and NEW_PASSWORD not in written
    assert "careless robot logs the password *** in a message" in written
    assert "password='***'" in written and "'password': '***'" in written  # the masked reprs were printed
    assert "Pässword" not in "".join(c.path for c in world.emu.calls())  # nor in any URL


def test_queue_add_take_and_finish_until_empty(world):
    world.emu.add_queue("invoices")
    small = world.emu.add_task("invoices", "INV-1", {"amount": 100})
    big = world.emu.add_task("invoices", "INV-2", {"amount": 5000})
    job = world.emu.add_job("api_queue", task={"guid": small["guid"], "name": "INV-1",
                                               "parameters": json.dumps({"amount": 100})})
    assert world.run("--no-logoff").returncode == 0
    assert job.history == [IN_PROGRESS, SUCCESS]
    done = json.loads((world.out / "queue.json").read_text(encoding="utf-8"))
    assert done["current_task"]["parameters"] == {"amount": 100} and done["current_task"]["guid"] == small["guid"]
    assert [p[0] for p in done["processed"]] == ["INV-1", "INV-2", "added by the robot"]
    added = world.emu.task(done["added"])
    assert json.loads(added["parameters"]) == {"amount": 5, "note": "naïve ✓"}
    # each task: taken (In progress), then its outcome
    assert small["history"] == [rf.TASK_IN_PROGRESS, rf.TASK_SUCCESS]
    assert big["history"] == [rf.TASK_IN_PROGRESS, rf.TASK_FAILED_BUSINESS]
    assert added["history"] == [rf.TASK_IN_PROGRESS, rf.TASK_SUCCESS]


@pytest.mark.parametrize("empty", ["", "null", "{}", "404"])
def test_every_empty_queue_answer_means_no_task(world, empty):
    world.emu.add_queue("q")
    world.emu.empty_queue_answer = empty
    job = world.emu.add_job("api_queue")
    assert world.run("--no-logoff", TEST_QUEUE="q").returncode == 0
    assert job.history == [IN_PROGRESS, SUCCESS]
    done = json.loads((world.out / "queue.json").read_text(encoding="utf-8"))
    assert [p[0] for p in done["processed"]] == ["added by the robot"]


def test_queue_names_are_url_encoded(world):
    world.emu.add_queue("billing/2026 Q1?x=1")
    world.emu.add_job("api_queue")
    assert world.run("--no-logoff", TEST_QUEUE="billing/2026 Q1?x=1").returncode == 0
    done = json.loads((world.out / "queue.json").read_text(encoding="utf-8"))
    assert [p[0] for p in done["processed"]] == ["added by the robot"]
    assert any(c.path == "/api/queue/lastTask/billing%2F2026%20Q1%3Fx%3D1" for c in world.emu.calls("queue"))


def test_unknown_asset_queue_and_task_raise_the_documented_exception(world):
    world.emu.add_job("api_errors")
    assert world.run("--no-logoff").returncode == 0
    caught = json.loads((world.out / "errors.json").read_text(encoding="utf-8"))
    for what, name in [("asset", "'no such asset'"), ("queue", "'no such queue'"), ("add", "'no such queue'"),
                       ("task", "'00000000-0000-0000-0000-00000000abcd'")]:
        kind, message, is_api_error = caught[what]
        assert kind == "NotFoundError" and is_api_error
        assert name in message and world.emu.url in message and "not found" in message


def test_transient_5xx_is_retried(world):
    world.emu.add_asset("Base URL", text="https://erp.example")
    world.emu.add_fault("asset", "status", times=2, code=503)
    world.emu.add_fault("queue", "status", times=2, code=502)
    world.emu.add_queue("invoices")
    job = world.emu.add_job("api_queue")
    assert world.run("--no-logoff", config=world.reconfigure(orchestrator__retry_seconds=20)).returncode == 0
    assert job.history == [IN_PROGRESS, SUCCESS]
    assert len(world.emu.calls("queue")) >= 3


def test_add_task_is_not_repeated_once_it_may_have_reached_the_server(world):
    world.emu.add_queue("invoices")
    world.emu.add_fault("task", "status", code=500, match={"name": "added by the robot"})
    job = world.emu.add_job("api_queue")
    assert world.run("--no-logoff", config=world.reconfigure(orchestrator__retry_seconds=20)).returncode == 0
    assert job.history == [IN_PROGRESS, FAILED]  # the robot did not catch the RobotApiError
    assert len([c for c in world.emu.calls("task") if c.path == "/api/task/create"]) == 1
    output = next((world.log_dir / "jobs").glob("*/output.log")).read_text(encoding="utf-8")
    assert "RobotApiError" in output and "queue 'invoices': new task 'added by the robot'" in output


def test_api_over_https_with_the_configs_ca_bundle(tls_world, monkeypatch):
    world, ca_file = tls_world
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(world.tmp / "elsewhere.pem"))  # must not win over the config
    (world.tmp / "elsewhere.pem").write_text("")
    world.emu.add_queue("invoices")
    world.emu.add_task("invoices", "INV-9", {"amount": 1})
    job = world.emu.add_job("api_queue")
    assert world.run("--no-logoff", config=world.reconfigure(orchestrator__verify_tls=str(ca_file))).returncode == 0
    assert job.history == [IN_PROGRESS, SUCCESS]
    done = json.loads((world.out / "queue.json").read_text(encoding="utf-8"))
    assert [p[0] for p in done["processed"]] == ["INV-9", "added by the robot"]


def test_api_outside_the_framework_says_what_to_do(tmp_path):
    code = "import robot_framework as rf\ntry:\n    rf.get_asset('x')\nexcept rf.RobotApiError as e:\n    print(e)\n"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROBOT_")}
    env["PYTHONPATH"] = REPO
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False,
                            cwd=str(tmp_path))
    assert "run this robot through robot_framework.py" in result.stdout and "ROBOT_FRAMEWORK_CONFIG" in result.stdout


# --- pure logic -------------------------------------------------------------------------------------
def test_task_status_constants():
    statuses = [rf.TASK_NEW, rf.TASK_IN_PROGRESS, rf.TASK_SUCCESS, rf.TASK_FAILED_APPLICATION,
                rf.TASK_FAILED_BUSINESS, rf.TASK_POSTPONED, rf.TASK_ABANDONED]
    assert statuses == list(range(7))
    assert rf.TASK_STATUS_NAMES[rf.TASK_FAILED_BUSINESS] == "Failed (business exception)"


@pytest.mark.parametrize("bad", [7, -1, "2", True, None])
def test_set_task_status_refuses_unknown_statuses_before_any_call(bad):
    with pytest.raises(ValueError, match="TASK_"):
        rf.set_task_status("guid", bad)


@pytest.mark.parametrize(("task", "parameters"), [
    ({"guid": "g", "parameters": '{"a": 1}'}, {"a": 1}),
    ({"Guid": "g", "Parameters": {"a": 1}}, {"a": 1}),
    ({"GUID": "g", "parameters": "not json"}, {}),
    ({"guid": "g"}, {}),
])
def test_decode_task(task, parameters):
    decoded = rf.decode_task(task)
    assert decoded["guid"] == "g" and decoded["parameters"] == parameters


def test_secrets_are_masked_in_reprs():
    cred = rf.Credential("me", "hunter2")
    login, password = cred
    assert (login, password) == ("me", "hunter2") and cred.password == "hunter2"
    assert "hunter2" not in repr(cred) and "hunter2" not in str(cred) and "hunter2" not in f"{cred}"
    asset = rf.Asset({"guid": "g", "Password": "hunter2", "text": "me"})
    assert asset["Password"] == "hunter2"
    assert "hunter2" not in repr(asset) and "hunter2" not in str(asset) and "'me'" in repr(asset)


def test_names_are_one_url_segment():
    assert rf.url_part("a/b c?d#e") == "a%2Fb%20c%3Fd%23e"
    assert rf.is_guid("3f2504e0-4f89-11d3-9a0c-0305e82c3301") and not rf.is_guid("ERP login")


def test_auth_header_is_never_in_an_api_error(world):
    world.emu.add_job("api_errors")
    assert world.run("--no-logoff").returncode == 0
    token = base64.b64encode(world.emu.robot_guid.encode()).decode()
    text = (world.out / "errors.json").read_text(encoding="utf-8")
    assert token not in text and world.emu.robot_guid not in text
