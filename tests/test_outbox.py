"""The Outbox (issue 28): the one mechanism under final statuses, task outcomes and log entries.

Unit tests in milliseconds, with a fault injected at each write, fsync, rename and send; several real
processes appending at once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

import robot_framework as rf

FRAMEWORK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def outbox(tmp_path, name: str = "out.jsonl", **options) -> rf.Outbox:
    return rf.Outbox(str(tmp_path / name), **options)


def fresh(box: rf.Outbox) -> rf.Outbox:
    """The same file as a later process sees it (read)."""
    again = rf.Outbox(box.path, done_path=box.done_path)
    again.refresh()
    return again


def test_records_are_pending_in_order_until_marked_and_a_later_reader_agrees(tmp_path):
    box = outbox(tmp_path)
    ids = [box.append({"n": n})["id"] for n in range(5)]
    assert len(set(ids)) == 5
    box.mark(ids[1])
    box.mark(ids[3], "refused")
    assert [r["n"] for r in box.pending()] == [0, 2, 4]
    again = fresh(box)
    assert [r["n"] for r in again.pending()] == [0, 2, 4]
    assert again.done == {ids[1]: "sent", ids[3]: "refused"}


def test_a_write_torn_at_any_byte_loses_only_that_record_and_the_next_append_is_whole(tmp_path):
    good = outbox(tmp_path, "good.jsonl")
    for n in range(3):
        good.append({"n": n})
    kept = open(good.path, "rb").read()
    torn_line = json.dumps({"id": "torn", "at": 1.0, "n": 99}).encode() + b"\n"
    for cut in range(1, len(torn_line)):
        path = tmp_path / f"torn-{cut}.jsonl"
        path.write_bytes(kept + torn_line[:cut])  # the crash (or a full disk) came mid-write
        box = rf.Outbox(str(path))
        assert [r["n"] for r in box.pending()] == [0, 1, 2]  # the torn tail is not read yet
        box.append({"n": 3})
        reread = rf.Outbox(str(path))
        numbers = [r["n"] for r in reread.pending()]
        if cut == len(torn_line) - 1:  # only its newline was missing: the record is whole
            assert numbers == [0, 1, 2, 99, 3] and reread.unreadable == 0
        else:
            assert numbers == [0, 1, 2, 3] and reread.unreadable == 1  # exactly that line skipped


def test_damaged_lines_anywhere_are_skipped_exactly(tmp_path):
    box = outbox(tmp_path)
    box.append({"n": 0})
    with open(box.path, "ab") as f:
        f.write(b"\x00" * 4096 + b"\n")  # a zeroed block after a power loss
        f.write(b"[1, 2]\n{\"no\": \"id\"}\nnot json\n\n")
    box.append({"n": 1})
    reread = fresh(box)
    assert [r["n"] for r in reread.pending()] == [0, 1]
    assert reread.unreadable == 4  # the blank line is not damage


class FaultyFile:
    """The file open_retrying returns, with its write() replaced: a disk that fills up mid-write."""

    def __init__(self, f, write):
        self.f, self.faulty_write = f, write

    def __getattr__(self, name):
        return getattr(self.f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()

    def write(self, data):
        return self.faulty_write(self.f, data)


def writes_failing(monkeypatch, write) -> None:
    real_open = rf.open_retrying
    monkeypatch.setattr(rf, "open_retrying", lambda path, mode: FaultyFile(real_open(path, mode), write))


def test_a_write_that_fails_half_way_reaches_the_caller_and_leaves_one_unreadable_line(tmp_path, monkeypatch):
    box = outbox(tmp_path)
    box.append({"n": 0})

    def half_then_full(f, data):
        f.write(data[: len(data) // 2])
        raise OSError(28, "No space left on device")

    writes_failing(monkeypatch, half_then_full)
    with pytest.raises(OSError):
        box.append({"n": 1})
    monkeypatch.undo()
    box.append({"n": 2})
    reread = fresh(box)
    assert [r["n"] for r in reread.pending()] == [0, 2] and reread.unreadable == 1


def test_a_short_write_is_a_full_disk(tmp_path, monkeypatch):
    box = outbox(tmp_path)
    writes_failing(monkeypatch, lambda f, data: f.write(data[:10]))
    with pytest.raises(OSError) as error:
        box.append({"n": 1})
    assert error.value.errno == 28


def test_a_failing_fsync_reaches_the_caller(tmp_path, monkeypatch):
    box = outbox(tmp_path)

    def no_fsync(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", no_fsync)
    with pytest.raises(OSError):
        box.append({"n": 0})
    box.append({"n": 1}, durable=False)  # not durable: no fsync asked
    monkeypatch.undo()
    box.mark(box.append({"n": 2})["id"], durable=True)


def test_a_new_file_also_fsyncs_its_folder(tmp_path, monkeypatch):
    synced = []
    monkeypatch.setattr(rf, "fsync_folder", synced.append)
    box = outbox(tmp_path)
    box.append({"n": 0})
    box.append({"n": 1})
    assert synced == [str(tmp_path)]  # once: when the name was new


def test_sharing_violations_are_waited_out_not_taken_for_damage(tmp_path, monkeypatch):
    box = outbox(tmp_path)
    box.append({"n": 0})
    real_open = open
    refusals = []

    def held_for_a_moment(path, *args, **kwargs):
        if str(path) == box.path and len(refusals) < 2:
            refusals.append(path)
            raise PermissionError(13, "The process cannot access the file (sharing violation)", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", held_for_a_moment)
    assert [r["n"] for r in fresh(box).pending()] == [0]
    assert len(refusals) == 2


def test_settle_renames_when_nothing_is_pending_and_a_failed_rename_keeps_everything(tmp_path, monkeypatch):
    box = outbox(tmp_path, done_path=str(tmp_path / "done.jsonl"))
    record = box.append({"n": 0})
    assert not box.settle()  # pending
    box.mark(record["id"])

    def still_held(*paths):
        raise PermissionError(13, "held by another process")

    monkeypatch.setattr(os, "replace", still_held)  # the rename is refused through every retry
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    with pytest.raises(OSError):
        box.settle()
    assert fresh(box).pending() == [] and os.path.exists(box.path)
    monkeypatch.undo()
    assert fresh(box).settle()
    assert not os.path.exists(box.path) and os.path.exists(tmp_path / "done.jsonl")


def test_settle_without_a_done_path_empties_the_file_for_reuse(tmp_path):
    box = outbox(tmp_path)
    box.mark(box.append({"n": 0})["id"])
    assert box.settle()
    assert os.path.getsize(box.path) == 0
    box.append({"n": 1})
    assert [r["n"] for r in box.pending()] == [1]


def test_several_processes_append_at_once_and_no_line_is_lost_or_mixed(tmp_path):
    path = tmp_path / "shared.jsonl"
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); import robot_framework as rf\n"
        "box = rf.Outbox(sys.argv[2])\n"
        "for n in range(150):\n"
        "    box.append({'writer': sys.argv[3], 'n': n, 'pad': 'x' * (n * 97 % 9000)})\n"
    )
    writers = [subprocess.Popen([sys.executable, "-c", script, FRAMEWORK_DIR, str(path), str(w)]) for w in range(4)]
    for writer in writers:
        assert writer.wait(timeout=120) == 0
    box = rf.Outbox(str(path))
    records = box.pending()
    assert box.unreadable == 0 and len(records) == 600 and len({r["id"] for r in records}) == 600
    for w in range(4):
        assert [r["n"] for r in records if r["writer"] == str(w)] == list(range(150))  # each writer's order kept


def test_latest_keeps_the_last_record_of_each_key_and_supersedes_the_rest(tmp_path):
    box = outbox(tmp_path)
    box.append({"task": "a", "status": 1})
    box.append({"task": "b", "status": 2})
    box.append({"task": "a", "status": 0})
    assert [(r["task"], r["status"]) for r in box.latest("task")] == [("b", 2), ("a", 0)]
    assert list(fresh(box).done.values()) == ["superseded"]


# --- sending ----------------------------------------------------------------------------------------
def test_send_marks_sent_and_refused_and_a_failure_ends_the_round(tmp_path):
    box = outbox(tmp_path)
    for n in range(4):
        box.append({"job": str(n)})
    answers = {"0": None, "1": rf.RequestRejected("HTTP 400", status=400), "2": rf.OrchestratorError("HTTP 503"),
               "3": None}
    sent = []

    def send(record):
        sent.append(record["job"])
        if answers[record["job"]] is not None:
            raise answers[record["job"]]

    assert not rf.send_pending(box, box.pending(), lambda r: f"job {r['job']}", send, 0)
    assert sent == ["0", "1", "2"]  # 3 waits for the next round
    assert sorted(fresh(box).done.values()) == ["refused", "sent"]
    # Next round: the record that failed goes after the others, so it holds nothing back.
    sent.clear()
    assert not rf.send_pending(box, box.pending(), lambda r: f"job {r['job']}", send, 0)
    assert sent == ["3", "2"]
    answers["2"] = None
    assert rf.send_pending(box, box.pending(), lambda r: f"job {r['job']}", send, 0)
    assert box.pending() == [] and box.settle()


def test_a_record_failing_past_the_give_up_age_is_given_up_and_said(tmp_path, caplog):
    box = outbox(tmp_path)
    box.append({"job": "old"})
    box.append({"job": "new"})
    lines = open(box.path).read().splitlines()
    first = json.loads(lines[0])
    first["at"] -= (rf.OUTBOX_GIVE_UP_DAYS + 1) * 86400
    with open(box.path, "w") as f:
        f.write(json.dumps(first) + "\n" + lines[1] + "\n")
    box = fresh(box)

    def send(record):
        raise rf.OrchestratorError("timed out")

    assert not rf.send_pending(box, box.pending(), lambda r: f"job {r['job']}", send, 0)
    assert [r["job"] for r in box.pending()] == ["new"]
    assert "given up" in caplog.text and "old" in caplog.text


# --- the task ledger's meaning ------------------------------------------------------------------------
def ledger(tmp_path, *steps):
    """A task ledger after `steps`: ("take", guid, acknowledged?) or ("status", guid, n, delivered?)."""
    box = outbox(tmp_path, "tasks.jsonl")
    for step in steps:
        if step[0] == "take":
            record = box.append({"task": step[1], "status": rf.TASK_IN_PROGRESS, "name": step[1]})
            if step[2]:
                box.mark(record["id"], step[2] if isinstance(step[2], str) else "sent")
        else:
            record = box.append({"task": step[1], "status": step[2]})
            if step[3]:
                box.mark(record["id"])
    return fresh(box)


def released(box):
    rf.release_held_tasks(box, "test", None)
    return {r["task"]: r["status"] for r in box.latest("task")}


def test_a_take_never_acknowledged_puts_the_task_back_to_new(tmp_path):
    assert released(ledger(tmp_path, ("take", "t1", False))) == {"t1": rf.TASK_NEW}


def test_a_take_acknowledged_and_no_outcome_is_failed(tmp_path):
    assert released(ledger(tmp_path, ("take", "t1", True))) == {"t1": rf.TASK_FAILED_APPLICATION}


def test_a_task_taken_twice_in_one_job_is_released_after_the_second_take(tmp_path):
    box = ledger(tmp_path, ("take", "t1", True), ("status", "t1", rf.TASK_POSTPONED, True), ("take", "t1", True))
    assert released(box) == {"t1": rf.TASK_FAILED_APPLICATION}


def test_an_outcome_the_robot_set_wins_and_a_refused_take_took_nothing(tmp_path):
    box = ledger(tmp_path, ("take", "t1", True), ("status", "t1", rf.TASK_SUCCESS, False), ("take", "t2", "refused"))
    assert released(box) == {"t1": rf.TASK_SUCCESS}


def test_outcomes_of_several_processes_are_each_delivered_once(tmp_path):
    # One process's "sent" mark names its own record: another's undelivered outcome stays pending.
    box = ledger(tmp_path, ("take", "t1", True), ("take", "t2", True))
    child = fresh(box)
    child.mark(child.append({"task": "t1", "status": rf.TASK_SUCCESS})["id"])
    box.append({"task": "t2", "status": rf.TASK_SUCCESS})  # never delivered
    assert released(fresh(box)) == {"t2": rf.TASK_SUCCESS}


def test_running_state_held_by_another_process_is_not_set_aside(tmp_path, monkeypatch):
    cfg = type("Cfg", (), {"robot_guid": "g", "log_dir": str(tmp_path)})()
    store = rf.RobotFiles(cfg)
    store.save_running({"job_guid": "j"})
    real_open = open

    def held(path, *args, **kwargs):
        if str(path) == store.running:
            raise PermissionError(13, "sharing violation", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", held)
    monkeypatch.setattr(time, "sleep", lambda s: None)
    assert store.load_running() is None
    monkeypatch.undo()
    assert store.load_running() == {"job_guid": "j"}  # still there: not taken for damage
