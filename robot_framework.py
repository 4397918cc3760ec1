#!/usr/bin/env python3
"""robot_framework.py: runs Sherpa RPA Orchestrator jobs on an unattended Windows robot account.

Started by a Task Scheduler task at logon, it follows the Orchestrator's framework algorithm:

    Ready heartbeat -> consumeNextJob -> job/update In Progress -> run the robot script while sending
    Working heartbeats (abort on code 10, soft stop on 20) -> job/update final status -> loop;
    when the Orchestrator has no job left, log off Windows.

A robot script may also `import robot_framework` for the robot API (the first section below): its
job context, the stop flag, log entries in the Orchestrator, credentials and assets, queue tasks.
Importing the module does nothing else (no logging set-up, no network, no signal handlers, no thread).

Also: `--install-task` / `--uninstall-task` register the Task Scheduler task that starts it at logon;
`--prepare-envs` builds the robots' environments ahead of their jobs.

The sections, in order: Robot API (the public contract) · Robot API internals (the task ledger, the
queue lock, secrets masked) · Errors · Configuration · Logging · Identity · call deadlines and size
limits · the Orchestrator API · Retries (one Backoff policy) · the Outbox (every call that must survive
a crash, an outage or a full disk: final statuses, task records, log entries) · per-robot files (lock,
running-job state, journal) · killing everything a job started · Robot environments (declared packages,
built once per machine) · Evidence (a hung robot's stack, screen, processes) · Running one job (its
folder; the robot's start, in an interpreter started ahead of the job; supervision; steps 3 to 5) · A
job's end (JobEnd: final status, task outcomes, story; crash recovery) · the main loop · the job's story
in the Orchestrator (log shipping) · the scheduled task · log-off and process plumbing.

Windows is the target platform, Linux is where the test suite runs; comments marked "Windows:" say
where behaviour differs and why.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import datetime
import functools
import getpass
import hashlib
import heapq
import json
import logging
import os
import random
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Callable, ClassVar, NamedTuple, NoReturn, Optional, TypeVar
from urllib.parse import urlsplit

import psutil
import requests
import urllib3
import urllib3.connection
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError
from urllib3.util.retry import Retry

if TYPE_CHECKING:  # imported where used: a robot that imports the API never needs it
    import argparse

IS_WINDOWS = os.name == "nt"
FRAMEWORK_DIR = os.path.dirname(os.path.abspath(__file__))

# --- Protocol numbers (python-framework-algorithm.txt) ------------------------------------------
JOB_TYPE_ORCHESTRATED = 1

ROBOT_STATUS_READY = 2
ROBOT_STATUS_WORKING = 3

HEARTBEAT_NO_ERROR = 0
HEARTBEAT_ROBOT_NOT_FOUND = 101
HEARTBEAT_JOB_ABORTING = 10
HEARTBEAT_JOB_STOPPING = 20

HAS_NEW_JOB_NO_JOB = 0
HAS_NEW_JOB_FOUND = 1

CONSUME_NO_ERROR = 0
CONSUME_ROBOT_NOT_FOUND = 101
CONSUME_NO_JOB = 102

JOB_STATUS_ABORTED = 3
JOB_STATUS_SUCCESS = 4
JOB_STATUS_FAILED = 5
JOB_STATUS_STOPPED = 7
JOB_STATUS_IN_PROGRESS = 8
JOB_STATUS_NAMES = {3: "Aborted", 4: "Success", 5: "Failed", 7: "Stopped", 8: "In Progress"}

# --- Exit codes of this script (README "Exit codes") -------------------------------------------
EXIT_OK = 0  # no job left (or --once done, or --check answered)
EXIT_INTERNAL_ERROR = 1  # a bug: the traceback is in the log file
EXIT_CONFIG = 2  # config.ini missing or invalid; nothing was sent
EXIT_ROBOT_NOT_FOUND = 3  # the Orchestrator does not know (or refuses) this robot GUID
EXIT_UNREACHABLE = 4  # the Orchestrator could not be reached / answered garbage for retry_seconds
EXIT_ALREADY_RUNNING = 5  # another robot_framework.py runs for the same robot GUID
EXIT_TASK = 6  # --install-task / --uninstall-task failed: not Windows, access denied, schtasks error
EXIT_MACHINE_FAULT = 7  # this machine cannot run robots (interpreter, disk, job folder): no further job taken
EXIT_PREPARE_FAILED = 8  # --prepare-envs: some robot's environment could not be built (named in the output)
EXIT_INTERRUPTED = 130  # Ctrl+C, SIGTERM, console close: the job was aborted, no logoff

# --- What a robot script sees -------------------------------------------------------------------
ENV_ROBOT_GUID = "ROBOT_GUID"  # never set for a robot (a credential); removed if the framework inherited it
ENV_ORCHESTRATOR_URL = "ROBOT_ORCHESTRATOR_URL"
ENV_JOB_GUID = "ROBOT_JOB_GUID"  # also the marker that finds every process a job started
ENV_JOB_NAME = "ROBOT_JOB_NAME"
ENV_CONTEXT_FILE = "ROBOT_CONTEXT_FILE"
ENV_STOP_FILE = "ROBOT_STOP_FILE"
ENV_CONFIG_FILE = "ROBOT_FRAMEWORK_CONFIG"  # the robot API reads the framework's config from here
ENV_LOG_FILE = "ROBOT_LOG_FILE"  # log() appends entries here; the framework ships them
ENV_TASKS_FILE = "ROBOT_TASKS_FILE"  # the task ledger: tasks taken and outcomes set (see send_task_outcomes)
ENV_ARTIFACTS_DIR = "ROBOT_ARTIFACTS_DIR"  # the robot's own evidence: artifacts_dir()
ENV_JOB_OBJECT = "ROBOT_JOB_OBJECT"  # Windows: the name of the Job Object the robot's bootstrap joins

# --- Internal limits --------------------------------------------------------------------------
BODY_SNIPPET = 200  # characters of a bad response body quoted in the log
KILL_TIMEOUT = 15.0  # seconds the kill routine may take before it gives up and says so
# Longest single wait of the supervision loop. Windows delivers Ctrl+C (and the console handler's
# interrupt) to the main thread only between waits, never during a lock wait with a timeout; POSIX
# interrupts the wait itself, so there the loop sleeps until it has something to do.
WAIT_SLICE = 0.5 if IS_WINDOWS else 3600.0
WORKER_JOIN_TIMEOUT = 2.0  # seconds a worker thread gets to end once its call is cut
KILL_SETTLE = 0.5  # seconds of empty sweeps, after a kill, before the job counts as clean
LEFTOVER_GRACE = 0.2  # seconds a process of the job gets to end by itself after the robot's exit
MIB = 1024 * 1024
READ_CHUNK = 64 * 1024  # bytes read from an answer at a time, checked against max_response_mb
# Job logs in the Orchestrator (/api/log/create)
LOG_MAX_ENTRIES = 1000  # robot entries shipped per job; the rest are counted in one "dropped" entry
LOG_MESSAGE_MAX = 4000  # characters of one entry
LOG_FLUSH_SECONDS = 5.0  # what is still queued when a job ends gets this long
LOG_POLL_INTERVAL = 1.0  # seconds between two looks at the robot's log file
LOG_READ_CHUNKS = 256  # READ_CHUNKs of the robot's log file read per look (16 MiB), then the thread goes on
ROBOT_LINE_KEEP = 4 * LOG_MESSAGE_MAX + 256  # bytes of one robot log line kept (4 per character, JSON); the rest cut
LOG_OUTBOX = "logs.jsonl"  # in the job folder: the job's entries in order, each on disk before it is sent
LOG_OUTBOX_DONE = "logs-delivered.jsonl"  # the same, once every entry was delivered
ROBOT_LOG = "robot-log.jsonl"  # where the robot's log() appends (ROBOT_LOG_FILE)
LATE_ENTRY_SECONDS = 60.0  # an entry delivered later than this carries its original local time
LOG_BACKLOG_SLICE = 2.0  # seconds a job's shipper, idle, gives earlier jobs' undelivered entries per round
LOG_EXIT_SLICE = 10.0  # seconds the run gives undelivered entries before it exits
TASKS_LEDGER = "tasks.jsonl"  # in the job folder: tasks the robot took and outcomes it set (robot API)
TASKS_LEDGER_SETTLED = "tasks-settled.jsonl"  # the same, once every outcome was delivered
TASK_SETTLE_SECONDS = 5.0  # retries per task outcome at job end (after the final status went out)
OUTPUT_TAIL_LINES = 20  # lines of the robot's output sent with a job that did not succeed
OUTPUT_TAIL_BYTES = 4096
ORCHESTRATOR_LEVELS = {"debug": "Debug", "info": "Info", "warning": "Warning", "error": "Error",
                       "critical": "Critical"}
LOG_MAX_BYTES = 5 * 1024 * 1024
LOG_BACKUPS = 5
MIN_HEARTBEAT_INTERVAL = 0.1
RECOMMENDED_HEARTBEAT_INTERVAL = 10.0
WINDOWS_RESERVED_NAMES = {"CON", "PRN", "AUX", "NUL"} | {f"{p}{i}" for p in ("COM", "LPT") for i in range(1, 10)}

logger = logging.getLogger("robot_framework")
T = TypeVar("T")


# =================================================================================================
# Robot API: what a robot script gets from `import robot_framework`.
#
# A public contract: these names are documented in the README and used by robots in the field.
# Importing the module does nothing else (no logging set-up, no network, no signal handlers); the
# Orchestrator calls below read the framework's own config, whose path the framework hands the robot
# (ROBOT_FRAMEWORK_CONFIG), so a robot never holds a copy of the robot GUID. No password or GUID is
# ever written to a log, an exception message or a repr by these functions.
# =================================================================================================
# Task statuses (PUT /api/task/update)
TASK_NEW = 0
TASK_IN_PROGRESS = 1
TASK_SUCCESS = 2
TASK_FAILED_APPLICATION = 3  # Failed (application exception)
TASK_FAILED_BUSINESS = 4  # Failed (business exception): a person should look at the item
TASK_POSTPONED = 5
TASK_ABANDONED = 6
TASK_STATUS_NAMES = {TASK_NEW: "New", TASK_IN_PROGRESS: "In progress", TASK_SUCCESS: "Success",
                     TASK_FAILED_APPLICATION: "Failed (application exception)",
                     TASK_FAILED_BUSINESS: "Failed (business exception)", TASK_POSTPONED: "Postponed",
                     TASK_ABANDONED: "Abandoned"}
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


class RobotApiError(Exception):
    """An Orchestrator call of the robot API failed; the message says what and where (never a secret)."""


class NotFoundError(RobotApiError):
    """The asset, queue or task named does not exist on the Orchestrator."""


class BusinessError(Exception):
    """Raise inside `with task:` when the item itself is wrong (bad data, a rule says no): the task is set
    Failed (business exception), a person should look at it, and the task loop goes on."""


class ApplicationError(Exception):
    """Raised by tasks() after max_consecutive_failures application failures in a row: the application the
    robot drives is probably broken, so the rest of the queue is left New (the job then fails)."""


class Task(dict):
    """A queue task (guid, name, parameters as a dict, ...). `with task:` sets its outcome when the block
    ends: Success; Failed (business exception) on BusinessError; Failed (application exception) on any
    other Exception; back to New on KeyboardInterrupt / SystemExit (a soft stop), which goes on up.
    A status the robot set itself inside the block is kept."""

    outcome: str = ""  # "success", "business", "application", "stopped" or "own" once the block ended

    def __enter__(self) -> Task:
        _task_reported.discard(self["guid"])
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        guid, name = self["guid"], self.get("name") or self["guid"]
        if exc_type is not None and not issubclass(exc_type, Exception):  # KeyboardInterrupt, SystemExit
            self.outcome = "stopped"
            log(f"Task {name!r}: interrupted ({exc_type.__name__}); put back to New", "warning")
            set_task_status(guid, TASK_NEW)
            return False  # a soft stop ends the loop and the robot
        if guid in _task_reported:
            self.outcome = "own"
        elif exc_type is None:
            self.outcome = "success"
            set_task_status(guid, TASK_SUCCESS)
        elif issubclass(exc_type, BusinessError):
            self.outcome = "business"
            log(f"Task {name!r}: business exception: {exc}", "warning")
            set_task_status(guid, TASK_FAILED_BUSINESS)
        else:
            self.outcome = "application"
            import traceback  # here: it costs every robot start ~5 ms, and only a failed task needs it

            last_lines = "".join(traceback.format_exception(exc_type, exc, tb)).strip().splitlines()[-6:]
            log(f"Task {name!r}: application exception: {exc_type.__name__}: {exc}\n" + "\n".join(last_lines),
                "error")
            set_task_status(guid, TASK_FAILED_APPLICATION)
        return True  # the loop goes on with the next task


class Credential(tuple):
    """(login, password) of a Credentials asset; its repr never shows the password."""

    def __new__(cls, login: str, password: str) -> Credential:
        return super().__new__(cls, (login, password))

    @property
    def login(self) -> str:
        return self[0]

    @property
    def password(self) -> str:
        return self[1]

    def __repr__(self) -> str:
        return f"Credential(login={self.login!r}, password='***')"

    __str__ = __repr__


class Asset(dict):
    """An asset as the Orchestrator returns it (guid, name, type, text, ...); its repr hides `password`."""

    def __repr__(self) -> str:
        return repr({k: ("***" if k.lower() == "password" else v) for k, v in self.items()})

    __str__ = __repr__


def stop_requested() -> bool:
    """True once the Orchestrator asked this job to stop (soft stop): finish up and exit."""
    path = os.environ.get(ENV_STOP_FILE)
    return bool(path) and os.path.exists(path)


def artifacts_dir() -> str:
    """A folder for the robot's own evidence (downloads, exports, screenshots), in the job's folder: kept and
    pruned with it (ROBOT_ARTIFACTS_DIR). Outside the framework: <temp>/robot_framework-artifacts."""
    folder = os.environ.get(ENV_ARTIFACTS_DIR) or os.path.join(tempfile.gettempdir(), "robot_framework-artifacts")
    os.makedirs(folder, exist_ok=True)
    return folder


def screenshot(name: str = "step") -> Optional[str]:
    """The desktop as <artifacts_dir()>/<name>.png (Windows); its path, or None where none can be taken
    (off Windows, a locked or disconnected session), with the reason in the job's log."""
    safe = re.sub(r"[^A-Za-z0-9_-]+", "_", str(name)).strip("_")[:80] or "screenshot"
    folder = artifacts_dir()
    path, n = os.path.join(folder, f"{safe}.png"), 1
    while os.path.exists(path):
        n += 1
        path = os.path.join(folder, f"{safe}-{n}.png")
    try:
        reason = capture_screen(path)
    except Exception as e:  # a robot's evidence must never cost it its run
        reason = f"the capture failed: {clean(e)}"
    if reason:
        log(f"no screenshot {safe!r}: {reason}", "warning")
        return None
    return path


def job_context() -> dict[str, Any]:
    """The consumed job as the Orchestrator sent it: {"job": ..., "process_version": ..., "task": ...}."""
    path = os.environ.get(ENV_CONTEXT_FILE)
    if not path:
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def log(message: Any, level: str = "info") -> None:
    """One entry for this job in the Orchestrator's job log, and a line in the job's output.log.

    level: debug, info, warning, error or critical. Never raises and never waits on the network: the
    entry goes to a file in the job folder, which the framework ships to the Orchestrator.
    """
    with contextlib.suppress(Exception):
        level = str(level).lower() if str(level).lower() in LOG_LEVELS else "info"
        text = redact(str(message))[:LOG_MESSAGE_MAX]
        if sys.stderr is not None:
            print(f"{time.strftime('%H:%M:%S')} {level.upper()} {text}", file=sys.stderr, flush=True)
        path = os.environ.get(ENV_LOG_FILE)
        if path:
            line = json.dumps({"level": level, "message": text}, ensure_ascii=False) + "\n"
            with open(path, "a", encoding="utf-8") as f:  # one write per entry: lines stay whole
                f.write(line)


class OrchestratorLogHandler(logging.Handler):
    """A logging.Handler that sends each record through log(): logging.getLogger().addHandler(...)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            log(self.format(record), level_name(record.levelno))
        except Exception:
            self.handleError(record)


def level_name(levelno: int) -> str:
    """A `logging` level number mapped to the Orchestrator's five levels."""
    if levelno >= logging.CRITICAL:
        return "critical"
    if levelno >= logging.ERROR:
        return "error"
    if levelno >= logging.WARNING:
        return "warning"
    if levelno >= logging.INFO:
        return "info"
    return "debug"


def get_asset(name_or_guid: str) -> Asset:
    """The asset as the Orchestrator returns it: guid, name, type (1 credentials, 2 text, 3 calendar), text, ..."""
    body = robot_call(f"asset {name_or_guid!r}", "GET", f"/api/asset/read/{url_part(name_or_guid)}", secret=True,
                      empty_ok=True)
    if not isinstance(body, dict) or not body:
        raise NotFoundError(f"asset {name_or_guid!r}: not found on {robot_orchestrator().cfg.host}")
    asset = Asset(body)
    for key, value in asset.items():
        if key.lower() == "password" and isinstance(value, str) and value:
            _secrets.add(value)
    return asset


def get_credential(name_or_guid: str) -> Credential:
    """(login, password) of a Credentials asset. Keep the password out of print() and log()."""
    asset = get_asset(name_or_guid)
    fields = {k.lower(): v for k, v in asset.items()}
    password = fields.get("password")
    if not isinstance(password, str):
        raise RobotApiError(f"asset {name_or_guid!r} on {robot_orchestrator().cfg.host} has no password: it is not "
                            f"a Credentials asset (type {clean(fields.get('type'), 20)})")
    return Credential(str(fields.get("text") or fields.get("login") or ""), password)


def set_asset(name_or_guid: str, text: Optional[str] = None, password: Optional[str] = None) -> None:
    """Update a text asset's text, or a credential's login (text) and/or password."""
    if text is None and password is None:
        raise ValueError("set_asset: give text, password or both")
    guid = name_or_guid if is_guid(name_or_guid) else str(get_asset(name_or_guid).get("guid") or name_or_guid)
    fields = {"guid": guid}
    if text is not None:
        fields["text"] = text
    if password is not None:
        _secrets.add(password)
        fields["password"] = password
    robot_call(f"asset {name_or_guid!r} update", "PUT", "/api/asset/update", fields, secret=True, empty_ok=True)


def add_task(queue: str, name: str, parameters: Optional[dict[str, Any]] = None) -> str:
    """Add a New task to a queue (by name or GUID); returns the new task's GUID."""
    encoded = json.dumps(parameters or {}, ensure_ascii=False)
    # Not idempotent: retried only when the request surely never reached the server.
    body = robot_call(f"queue {queue!r}: new task {name!r}", "POST", "/api/task/create",
                      {"queue_guid": queue, "name": name, "parameters": encoded}, idempotent=False)
    guid = field_of(body, "guid") if isinstance(body, dict) else None
    if not isinstance(guid, str) or not guid:
        raise RobotApiError(f"queue {queue!r}: the Orchestrator created task {name!r} but answered no guid: "
                            f"{clean(body)}")
    return guid


def tasks(queue: str, max_consecutive_failures: int = 3) -> Iterator[Task]:
    """The task loop: yields the queue's tasks, each taken (In progress), until the queue is empty or a
    stop is requested. Use each as `with task:` (see Task). After `max_consecutive_failures` application
    failures in a row it raises ApplicationError and leaves the rest of the queue New (0: no limit)."""
    failures = 0
    while not stop_requested():
        task = next_task(queue)
        if task is None:
            return
        yield task
        if task.outcome == "stopped":
            return
        failures = failures + 1 if task.outcome == "application" else 0
        if max_consecutive_failures and failures >= max_consecutive_failures:
            raise ApplicationError(f"queue {queue!r}: {failures} application failures in a row; the rest of the "
                                   f"queue is left New")


def next_task(queue: str) -> Optional[Task]:
    """Take the queue's next New task and mark it In progress; None when the queue is empty.

    The task comes with `parameters` decoded to a dict; a task whose parameters are not a JSON object is
    set Failed (application exception) with the reason in the job log, and the next one is taken.
    Report the outcome with set_task_status(), or use `with task:`. Taking is one robot at a time per
    queue on this machine (a lock shared by every robot account); see the README for several machines.
    """
    while True:
        with queue_lock(queue):
            task = take_task(queue)
        if task is None or task.pop("_bad_parameters", None) is None:
            return task
        log(f"Task {task.get('name')!r} ({task['guid']}): parameters are not a JSON object; marked Failed "
            f"(application exception) and skipped", "error")
        set_task_status(task["guid"], TASK_FAILED_APPLICATION)


def set_task_status(task_guid: str, status: int) -> None:
    """Report a task's outcome: TASK_SUCCESS, TASK_FAILED_BUSINESS, TASK_FAILED_APPLICATION, ...

    The outcome is written to the job's task ledger before it is sent. When the Orchestrator cannot be
    reached within the retry policy, it stays there, a warning is printed, and this returns normally:
    the framework delivers it later (job end, later heartbeats, next start). A rejection (404, other
    4xx) raises as before."""
    if isinstance(status, bool) or status not in TASK_STATUS_NAMES:
        raise ValueError(f"set_task_status: status must be one of the TASK_* constants (0-6), not {status!r}")
    if status != TASK_IN_PROGRESS:
        _task_reported.add(task_guid)
    try:
        rid = ledger_record({"task": task_guid, "status": status})
    except RobotApiError as e:  # a full disk: the outcome is still sent, only without its record
        print(f"robot_framework: {e}; sending the outcome without it", file=sys.stderr, flush=True)
        rid = None
    try:
        send_task_status(task_guid, status)
    except ServerUnavailable as e:
        if rid is None:
            raise  # no ledger to keep it in (outside the framework, or a full disk)
        print(f"robot_framework: {e}; the outcome is kept and the framework delivers it later", file=sys.stderr,
              flush=True)
        return
    except RobotApiError:
        ledger_mark(rid, "refused")
        raise
    ledger_mark(rid)


def send_task_status(task_guid: str, status: int) -> None:
    robot_call(f"task {task_guid!r} -> {TASK_STATUS_NAMES[status]}", "PUT", "/api/task/update",
               {"guid": task_guid, "status": status}, empty_ok=True)


def current_task() -> Optional[dict[str, Any]]:
    """The Task that came with this job from consumeNextJob, decoded; None when the job has none."""
    task = decode_nested(job_context().get("task"))
    if not isinstance(task, dict) or not task:
        return None
    decoded = decode_task(task)
    decoded.pop("_bad_parameters", None)
    return decoded


# =================================================================================================
# Robot API internals (the robot's own process)
# =================================================================================================
class EmptyNotFound(NotFoundError):
    """A 404 with an empty body: for a queue, some servers' way of saying it holds no task."""


_robot_local = threading.local()  # one Orchestrator per robot thread: a requests.Session is not thread-safe
_secrets: set[str] = set()  # passwords this process has seen; log() masks them


def robot_orchestrator() -> Orchestrator:
    orch = getattr(_robot_local, "orch", None)
    if orch is None:
        path = os.environ.get(ENV_CONFIG_FILE)
        if not path:
            raise RobotApiError(f"the robot API needs the framework's config: run this robot through "
                                f"robot_framework.py, or set {ENV_CONFIG_FILE} to its config file")
        try:
            cfg, _warnings = load_config(path)
        except ConfigError as e:
            raise RobotApiError(f"robot API: {e}") from None
        orch = _robot_local.orch = Orchestrator(cfg)
    return orch


def robot_call(what: str, method: str, endpoint: str, fields: Optional[dict[str, Any]] = None, *,
               idempotent: bool = True, secret: bool = False, empty_ok: bool = False) -> Any:
    """One robot API call with the framework's policy: deadline, size limit, retries for idempotent calls."""
    orch = robot_orchestrator()
    where = f"{what} on {orch.cfg.host}"

    def attempt() -> Any:
        try:
            return orch.call(method, endpoint, fields, secret=secret, empty_ok=empty_ok)
        except OrchestratorError as e:
            if not idempotent and not isinstance(e, RequestNotSent):
                e.transient = False  # it may have been done: never send it twice
            raise

    try:
        return with_retries(where, attempt, orch.cfg.retry_seconds)
    except RequestRejected as e:
        if e.status == 404:
            if empty_ok and e.body.strip() in (b"", b"null", b"{}", b"[]"):
                raise EmptyNotFound(f"{what}: not found on {orch.cfg.host} (HTTP 404, empty answer)") from None
            raise NotFoundError(f"{what}: not found on {orch.cfg.host} (HTTP 404)") from None
        raise RobotApiError(f"{where}: {e}") from None
    except Unreachable as e:
        raise ServerUnavailable(f"{where}: {e}") from None
    except OrchestratorError as e:
        raise (ServerUnavailable if e.transient else RobotApiError)(f"{where}: {e}") from None


class ServerUnavailable(RobotApiError):
    """The Orchestrator could not be reached, or kept failing, for retry_seconds (not a rejection)."""


# --- queue tasks: the ledger and the lock ---
_task_reported: set[str] = set()  # tasks whose outcome the robot set itself (`with task:` keeps it)


@functools.cache
def task_ledger(path: str) -> Outbox:
    return Outbox(path)


def ledger_record(record: dict[str, Any]) -> Optional[str]:
    """A task call on disk in the job's task ledger (ROBOT_TASKS_FILE, an Outbox) before it is made.

    Records: {"task": guid, "status": n}, the take (In progress) included. The framework reads the ledger
    when the job ends (send_task_outcomes). Returns the record's id; None outside the framework. Raises
    RobotApiError when the ledger cannot be written (a full disk).
    """
    path = os.environ.get(ENV_TASKS_FILE)
    if not path:
        return None
    try:
        return task_ledger(path).append(record)["id"]
    except OSError as e:
        raise RobotApiError(f"cannot write the job's task ledger {path}: {describe_os_error(e)}") from None


def ledger_mark(rid: Optional[str], how: str = "sent", durable: bool = False) -> None:
    """Settle a ledger record; a mark that cannot be written only means the call is made again at job end."""
    path = os.environ.get(ENV_TASKS_FILE)
    if rid and path:
        with contextlib.suppress(OSError):
            task_ledger(path).mark(rid, how, durable)


def take_task(queue: str) -> Optional[Task]:
    """lastTask, then In progress (the caller holds the queue lock).

    Intent before effect: the take is in the ledger before In progress is sent, and marked once it is
    acknowledged (durably). A take left unmarked (the robot killed or stopped during the call, or the
    server unreachable) may or may not have happened: the job's end puts that task back to New.
    """
    what = f"queue {queue!r}"
    try:
        body = robot_call(what, "GET", f"/api/queue/lastTask/{url_part(queue)}", empty_ok=True)
    except EmptyNotFound:
        return None  # a 404 without a word is how some servers say "nothing queued"
    if not isinstance(body, dict) or not body:
        return None  # empty body, null or {}: the queue is empty
    task = Task(decode_task(body))
    guid = task.get("guid")
    if not isinstance(guid, str) or not guid:
        raise RobotApiError(f"{what}: the Orchestrator answered a task without a guid: {clean(body)}")
    rid = ledger_record({"task": guid, "status": TASK_IN_PROGRESS, "name": task.get("name"), "queue": queue})
    try:
        send_task_status(guid, TASK_IN_PROGRESS)
    except ServerUnavailable:
        raise  # unmarked: it may have reached the server
    except RobotApiError:
        ledger_mark(rid, "refused", durable=True)  # the server said no: nothing was taken
        raise
    ledger_mark(rid, durable=True)  # a lost mark would put a task the robot works on back to New
    return task


QUEUE_LOCK_WAIT = 300.0  # seconds a robot waits for another robot's take (two calls, each with retries)
WAIT_OBJECT_0, WAIT_ABANDONED, WAIT_TIMEOUT = 0, 0x80, 0x102  # WaitForSingleObject's answers


@contextlib.contextmanager
def queue_lock(queue: str) -> Iterator[None]:
    """One robot at a time takes from `queue` on this machine, whatever account it runs as.

    The Orchestrator's take is two calls (lastTask, then In progress): two robots in between would get
    the same task. The lock is per queue reference: robots must name a queue the same way (name or GUID)
    to share it.
    """
    name = "robot_framework-queue-" + hashlib.sha256(str(queue).encode("utf-8")).hexdigest()[:16]
    held = False
    try:
        with machine_lock(name, tempfile.gettempdir(), QUEUE_LOCK_WAIT):
            held = True
            yield
    except LockTimeout:
        raise RobotApiError(f"queue {queue!r}: another robot on this machine held the queue's lock "
                            f"for {QUEUE_LOCK_WAIT:g} s") from None
    except OSError as e:
        if held:
            raise  # the robot's own work under the lock failed, not the lock
        raise RobotApiError(f"queue {queue!r}: cannot take the queue's lock: {describe_os_error(e)}") from None


class LockTimeout(Exception):
    """machine_lock() waited its whole `wait` for another holder, or was cancelled."""



@contextlib.contextmanager
def machine_lock(name: str, folder: str, wait: Optional[float],
                 cancel: Optional[threading.Event] = None) -> Iterator[None]:
    """A lock every account of this machine shares (a queue's take, an environment's build).

    Windows: a named mutex Global\\<name> (the Global namespace is shared by every session of a terminal
    server) with a DACL that lets every account use it. POSIX: a file lock on <folder>/<name>.lock. Both
    are released by the OS when their holder dies. wait: seconds before LockTimeout (None: for ever, or
    until `cancel` is set). Waits in slices, so Ctrl+C or a soft stop still reaches a waiting main thread.
    """
    deadline = None if wait is None else time.monotonic() + wait

    def give_up() -> bool:
        return (deadline is not None and time.monotonic() > deadline) or (cancel is not None and cancel.is_set())

    if IS_WINDOWS:
        with windows_global_mutex(name, give_up):
            yield
        return
    import fcntl

    fd = open_shared_lock_file(os.path.join(folder, name + ".lock"))
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if give_up():
                    raise LockTimeout(f"lock {name} held by another process") from None
                time.sleep(0.02)
        yield
    finally:
        os.close(fd)  # also releases the lock


def open_shared_lock_file(path: str) -> int:
    """POSIX: open (or create) a lock file other accounts can open too.

    An existing file is opened without O_CREAT: in a sticky world-writable folder (/tmp) with
    fs.protected_regular on (the systemd default), O_CREAT on another account's file is refused even
    though plain O_RDWR is allowed.
    """
    while True:
        with contextlib.suppress(FileNotFoundError):
            return os.open(path, os.O_RDWR)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue  # another process created it in between: open theirs
        with contextlib.suppress(OSError):
            os.fchmod(fd, 0o666)  # the umask narrowed the mode: let the other accounts open it too
        return fd


@functools.cache
def windows_api() -> Any:
    """Windows: kernel32, user32, gdi32 and advapi32, loaded once, with every prototype this file relies
    on declared here (one place to check against the Windows headers). Handles are pointer-sized: without
    a declared type ctypes would pass and return them as 32-bit ints, cutting 64-bit handles."""
    import ctypes
    import types
    from ctypes import wintypes

    dlls = types.SimpleNamespace(**{name: ctypes.WinDLL(name, use_last_error=True)
                                    for name in ("kernel32", "user32", "gdi32", "advapi32")})
    handle, pointer, dword = wintypes.HANDLE, ctypes.c_void_p, wintypes.DWORD
    prototypes = {  # "dll.Function": (restype, argtypes); None: left as ctypes' default
        "kernel32.CreateMutexW": (handle, None),
        "kernel32.WaitForSingleObject": (None, [handle, dword]),
        "kernel32.ReleaseMutex": (None, [handle]),
        "kernel32.CloseHandle": (None, [handle]),
        "kernel32.OpenEventW": (handle, None),
        "kernel32.SetEvent": (None, [handle]),
        "kernel32.CreateJobObjectW": (handle, [pointer, wintypes.LPCWSTR]),
        "kernel32.TerminateJobObject": (None, [handle, wintypes.UINT]),
        "kernel32.AssignProcessToJobObject": (None, [handle, handle]),
        "kernel32.SetInformationJobObject": (None, [handle, ctypes.c_int, pointer, dword]),
        "kernel32.QueryInformationJobObject": (None, [handle, ctypes.c_int, pointer, dword, pointer]),
        "kernel32.GetCurrentProcess": (handle, None),
        "kernel32.GetStdHandle": (handle, None),
        "kernel32.SetStdHandle": (None, [dword, handle]),
        "kernel32.GetModuleHandleW": (wintypes.HMODULE, None),
        "user32.DefWindowProcW": (ctypes.c_ssize_t, [wintypes.HWND, wintypes.UINT, wintypes.WPARAM, wintypes.LPARAM]),
        "user32.CreateWindowExW": (wintypes.HWND, [dword, wintypes.LPCWSTR, wintypes.LPCWSTR, dword, ctypes.c_int,
                                                   ctypes.c_int, ctypes.c_int, ctypes.c_int, wintypes.HWND,
                                                   wintypes.HMENU, wintypes.HINSTANCE, wintypes.LPVOID]),
        "user32.GetDC": (pointer, None),
        "user32.ReleaseDC": (None, [pointer, pointer]),
        "gdi32.CreateCompatibleDC": (pointer, [pointer]),
        "gdi32.CreateCompatibleBitmap": (pointer, [pointer, ctypes.c_int, ctypes.c_int]),
        "gdi32.SelectObject": (pointer, [pointer, pointer]),
        "gdi32.DeleteObject": (None, [pointer]),
        "gdi32.DeleteDC": (None, [pointer]),
    }
    for name, (restype, argtypes) in prototypes.items():
        dll, function = name.split(".")
        declared = getattr(getattr(dlls, dll), function)
        if restype is not None:
            declared.restype = restype
        if argtypes is not None:
            declared.argtypes = argtypes
    return dlls


def open_global_mutex(name: str) -> tuple[Any, int]:
    """Windows: (kernel32, handle) of the named mutex Global\\<name>, created with a DACL that lets every
    account open it (the default DACL would admit only its creator). The Global namespace is shared by
    every session of a terminal server, where robot accounts live side by side."""
    import ctypes
    from ctypes import wintypes

    kernel32, advapi32 = windows_api().kernel32, windows_api().advapi32

    class SecurityAttributes(ctypes.Structure):
        _fields_ = [("nLength", wintypes.DWORD), ("lpSecurityDescriptor", ctypes.c_void_p),
                    ("bInheritHandle", wintypes.BOOL)]

    descriptor = ctypes.c_void_p()
    if not advapi32.ConvertStringSecurityDescriptorToSecurityDescriptorW("D:(A;;GA;;;WD)", 1,
                                                                         ctypes.byref(descriptor), None):
        raise OSError(ctypes.get_last_error(), "cannot build the mutex's security descriptor")
    attributes = SecurityAttributes(ctypes.sizeof(SecurityAttributes), descriptor, False)
    handle = kernel32.CreateMutexW(ctypes.byref(attributes), False, "Global\\" + name)
    error = ctypes.get_last_error()
    kernel32.LocalFree(descriptor)
    if not handle:
        raise OSError(error, f"cannot open mutex Global\\{name} (WinError {error})")
    return kernel32, handle


@contextlib.contextmanager
def windows_global_mutex(name: str, give_up: Callable[[], bool]) -> Iterator[None]:
    kernel32, handle = open_global_mutex(name)
    try:
        while True:  # in slices, so Ctrl+C / a soft stop still reaches the waiting main thread
            result = kernel32.WaitForSingleObject(handle, 200)
            if result in (WAIT_OBJECT_0, WAIT_ABANDONED):  # abandoned: its holder died, it is ours now
                break
            if result != WAIT_TIMEOUT:
                raise OSError(f"waiting for mutex Global\\{name} failed (result {result})")
            if give_up():
                raise LockTimeout(f"mutex Global\\{name} held by another process")
        try:
            yield
        finally:
            kernel32.ReleaseMutex(handle)
    finally:
        kernel32.CloseHandle(handle)


def url_part(name: str) -> str:
    """A name or GUID as one URL path segment: names are untrusted and may hold '/', '?', spaces."""
    return urllib.parse.quote(str(name), safe="")


def guid_digits(text: str) -> Optional[str]:
    """A GUID's 32 hex digits, in any form uuid.UUID accepts (hyphens, braces, urn:uuid:), else None. Not the
    uuid module itself: it costs every process that imports the framework a quarter of a MiB."""
    digits = re.sub(r"^(urn:)?(uuid:)?", "", str(text).strip(), flags=re.IGNORECASE).strip("{}").replace("-", "")
    return digits.lower() if re.fullmatch(r"[0-9A-Fa-f]{32}", digits) else None


def is_guid(text: str) -> bool:
    return guid_digits(text) is not None


def field_of(fields: dict[str, Any], name: str) -> Any:
    """A field whatever its casing (the Orchestrator's pages spell guid, Guid and GUID)."""
    for key, value in fields.items():
        if isinstance(key, str) and key.lower() == name.lower():
            return value
    return None


def decode_task(task: dict[str, Any]) -> dict[str, Any]:
    """A task with `guid`, `name`, `status` under their lowercase names and `parameters` decoded to a dict."""
    decoded = dict(task)
    for name in ("guid", "name", "status"):
        if name not in decoded and field_of(task, name) is not None:
            decoded[name] = field_of(task, name)
    parameters = decode_nested(field_of(task, "parameters"))
    decoded["parameters"] = parameters if isinstance(parameters, dict) else {}
    if not isinstance(parameters, dict) and parameters not in (None, ""):
        decoded["_bad_parameters"] = True  # next_task() fails such a task instead of handing it out
    return decoded


def redact(text: str) -> str:
    """Passwords this process has seen, masked in every form they are commonly printed in."""
    return mask_secrets(text, _secrets)


def secret_forms(secret: str) -> set[str]:
    """A secret as it appears printed plainly, inside a printed dict or list (repr: backslashes and quotes
    escaped), JSON-encoded, URL-encoded (a form body or query string), or base64-encoded (Basic auth)."""
    forms = {secret, repr(secret)[1:-1], json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1],
             urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret, safe=""),
             base64.b64encode(secret.encode("utf-8")).decode("ascii")}
    return {form for form in forms if len(form) >= 4}  # a one-letter "password" would mask every word


def mask_secrets(text: str, secrets: Any, ignore_case: bool = False) -> str:
    """Every form (secret_forms) of every secret replaced by ***, longest first."""
    forms = sorted({form for secret in secrets if secret for form in secret_forms(secret)}, key=len, reverse=True)
    if not forms:
        return text
    return re.sub("|".join(map(re.escape, forms)), "***", text, flags=re.IGNORECASE if ignore_case else 0)


# =================================================================================================
# Errors
# =================================================================================================
class ConfigError(Exception):
    """Invalid configuration: the message is the one line the user sees."""


class AlreadyRunning(Exception):
    """Another instance holds this robot's lock."""


class OrchestratorError(Exception):
    """A call that failed; `transient` ones are worth retrying."""

    transient = True

    def __init__(self, message: str, retry_after: Optional[float] = None, status: Optional[int] = None,
                 body: bytes = b"") -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status  # the HTTP status, when there was an answer
        self.body = body


class RequestNotSent(OrchestratorError):
    """The request surely never reached the server (refused, connect timeout, DNS)."""


class Abandoned(OrchestratorError):
    """The call was cut short on purpose (Orchestrator.cancel): its job ended."""

    transient = False


class RequestRejected(OrchestratorError):
    """A 4xx answer that retrying will not change."""

    transient = False


class RobotRefused(OrchestratorError):
    """401/403: the Orchestrator refuses this robot GUID."""

    transient = False


class Unreachable(Exception):
    """Retries ran out; the message says what failed last."""


class Interrupted(Exception):
    """SIGTERM, SIGBREAK or a console close event reached the framework."""


class MachineFault(Exception):
    """This machine cannot run any robot (the interpreter cannot be executed, the job folder cannot be
    written, the disk is full): the job that met it is Failed, and no further job may be taken, or every
    job the Orchestrator hands this robot would be burnt the same way. Carries that job's log shipper."""

    def __init__(self, message: str, shipper: LogShipper) -> None:
        super().__init__(message)
        self.shipper = shipper


# =================================================================================================
# Configuration
# =================================================================================================
class Config(NamedTuple):
    """The loaded config.ini: one attribute per CONFIG_KEYS entry (below), typed here, parsed there.

    NamedTuples here and below, not dataclasses: `dataclasses` imports `inspect` and `ast`, which cost every
    process that imports the framework (robots too) about 6 ms and 0.9 MiB."""

    path: str
    host: str
    robot_guid: str  # a credential: never in a repr (below), a traceback's locals or a log line
    verify_tls: Any  # True, False or a CA bundle path
    request_timeout: float
    retry_seconds: float
    max_response_mb: int  # in bytes, once loaded
    send_logs: bool
    scripts_dir: str
    python: str
    heartbeat_interval: float
    stop_timeout: float
    job_timeout: float
    idle_timeout: float
    screenshots: str  # on_failure or never
    kill_leftovers: bool
    stop_interrupt: str
    new_console: bool
    close_apps: frozenset  # image names closed before and after each job (normalized, see app_key)
    envs_dir: str  # robot environments (Robot environments)
    installer: str  # auto, uv or pip
    index_url: str  # may hold a password: not in the repr either
    find_links: str
    env_build: str  # auto or never
    env_keep_days: float
    logoff: bool
    logoff_command: str
    log_dir: str
    level: str
    keep_jobs: int

    @property
    def secrets(self) -> list[str]:
        """What no log line or job log entry may show: the robot GUID, the package index's password."""
        return [self.robot_guid, url_password(self.index_url)]

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in zip(self._fields, self)
                          if name not in ("robot_guid", "index_url"))
        return f"Config({shown})"


DEFAULT_LOGOFF_COMMAND = "shutdown /l"
class Key(NamedTuple):
    """One config.ini key, declared once: its default (None: required) and how its text becomes the value
    of the Config attribute of the same name (load_config's parsers, by `kind`)."""

    default: Optional[str]
    kind: str = "text"
    minimum: float = 0.0  # number kinds
    choices: tuple[str, ...] = ()  # kind "choice"


CONFIG_KEYS: dict[str, dict[str, Key]] = {
    "orchestrator": {
        "host": Key(None, "url"),
        "robot_guid": Key(None, "guid"),
        "verify_tls": Key("true", "tls"),
        "request_timeout": Key("30", "number", 0.1),
        "retry_seconds": Key("120", "number"),
        "max_response_mb": Key("8", "mib", 0.01),
        "send_logs": Key("true", "boolean"),
    },
    "robot": {
        "scripts_dir": Key("robots", "folder"),
        "python": Key("", "program"),
        "heartbeat_interval": Key("10", "interval", MIN_HEARTBEAT_INTERVAL),
        "stop_timeout": Key("60", "number"),
        "job_timeout": Key("0", "number"),
        "idle_timeout": Key("0", "number"),
        "screenshots": Key("on_failure", "choice", choices=("on_failure", "never")),
        "kill_leftovers": Key("true", "boolean"),
        "stop_interrupt": Key("auto", "auto_or_boolean"),
        "new_console": Key("false", "boolean"),
        "close_apps": Key("", "apps"),
        "envs_dir": Key("", "envs_dir"),
        "installer": Key("auto", "choice", choices=("auto", "uv", "pip")),
        "index_url": Key("", "index_url"),
        "find_links": Key("", "links"),
        "env_build": Key("auto", "choice", choices=("auto", "never")),
        "env_keep_days": Key("30", "number", 1),
    },
    "session": {"logoff": Key("true", "boolean"), "logoff_command": Key(DEFAULT_LOGOFF_COMMAND, "command")},
    "logging": {"log_dir": Key("logs", "folder"), "level": Key("INFO", "level"), "keep_jobs": Key("50", "integer", 1)},
}
TRUE_WORDS = {"true", "yes", "on", "1"}
FALSE_WORDS = {"false", "no", "off", "0"}


def load_config(path: str) -> tuple[Config, list[str]]:
    """Read and validate config.ini (or the vendor framework's settings.txt); returns the config and
    warnings (unknown keys, odd values)."""
    if not os.path.isfile(path):
        raise ConfigError(f"{path}: config file not found; copy config.ini from the framework folder "
                          "or pass --config PATH")
    import configparser  # here, as argparse and logging.handlers below: a robot that only log()s never needs them

    parser = configparser.ConfigParser(interpolation=None)  # '%' in a command must stay literal
    labels: dict[tuple[str, str], str] = {}
    try:
        with open(path, encoding="utf-8-sig") as f:  # -sig: Notepad may save a BOM
            text = f.read()
        if is_vendor_settings(text):
            parser.read_dict(vendor_settings(text, path))
            labels = VENDOR_LABELS
        else:
            parser.read_string(text, source=path)
    except (configparser.Error, UnicodeDecodeError, OSError) as e:
        first_line = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ConfigError(f"{path}: cannot be read as an INI file: {first_line}") from None

    warnings = []
    for section in parser.sections():
        if section not in CONFIG_KEYS:
            warnings.append(f"{path}: unknown section [{section}] is ignored")
            continue
        for key in parser[section]:
            if key not in CONFIG_KEYS[section]:
                warnings.append(f"{path}: unknown key [{section}] {key} is ignored")

    base_dir = os.path.dirname(os.path.abspath(path))

    def raw(section: str, key: str) -> str:
        value = parser.get(section, key, fallback=None)
        if value is None or not value.strip():
            default = CONFIG_KEYS[section][key].default
            if default is None:
                fail(section, key, "is required")
            return default
        return value.strip()

    def fail(section: str, key: str, problem: str) -> NoReturn:
        raise ConfigError(f"{path}: {labels.get((section, key), f'[{section}] {key}')} {problem}")

    def number(section: str, key: str, minimum: float) -> float:
        text = raw(section, key)
        try:
            value = float(text)
        except ValueError:
            fail(section, key, f"must be a number, not {text!r}")
        if not value >= minimum or value == float("inf"):
            fail(section, key, f"must be at least {minimum:g}, not {text!r}")
        return value

    def boolean(section: str, key: str) -> bool:
        text = raw(section, key).lower()
        if text in TRUE_WORDS:
            return True
        if text in FALSE_WORDS:
            return False
        fail(section, key, f"must be true or false, not {text!r}")

    def folder(section: str, key: str) -> str:
        return os.path.normpath(os.path.join(base_dir, os.path.expandvars(raw(section, key))))

    def choice(section: str, key: str, allowed: tuple[str, ...]) -> str:
        text = raw(section, key).lower()
        if text not in allowed:
            fail(section, key, f"must be {', '.join(allowed[:-1])} or {allowed[-1]}, not {text!r}")
        return text

    def url(section: str, key: str) -> str:
        host = raw(section, key).rstrip("/")
        parts = urlsplit(host)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            fail(section, key, f"must be an http:// or https:// URL such as https://orchestrator.example, not {host!r}")
        return host

    def guid(section: str, key: str) -> str:
        text = raw(section, key)
        digits = guid_digits(text)
        if digits is None:
            fail(section, key, "must be the robot's GUID as shown in the Orchestrator "
                               "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)")
        if int(digits, 16) == 0:
            fail(section, key, "is still the all-zero placeholder; paste this robot's GUID from the Orchestrator")
        return text

    def tls(section: str, key: str) -> Any:  # True, False or a CA bundle path
        text = raw(section, key)
        if text.lower() in TRUE_WORDS | FALSE_WORDS:
            return text.lower() in TRUE_WORDS
        bundle = os.path.normpath(os.path.join(base_dir, os.path.expandvars(text)))
        if not os.path.isfile(bundle):
            fail(section, key, f"must be true, false or the path of a CA bundle file; {bundle} does not exist")
        return bundle

    def interval(section: str, key: str) -> float:
        value = number(section, key, MIN_HEARTBEAT_INTERVAL)
        if value < RECOMMENDED_HEARTBEAT_INTERVAL:
            warnings.append(f"{path}: [{section}] {key} {value:g} is below the {RECOMMENDED_HEARTBEAT_INTERVAL:g} s "
                            f"the Orchestrator documentation recommends")
        return value

    def auto_or_boolean(section: str, key: str) -> str:
        text = raw(section, key).lower()
        if text in TRUE_WORDS | FALSE_WORDS:
            return "true" if text in TRUE_WORDS else "false"
        if text != "auto":
            fail(section, key, f"must be auto, true or false, not {text!r}")
        return text

    def index_url(section: str, key: str) -> str:
        text = raw(section, key)
        if text and urlsplit(text).scheme not in ("http", "https"):
            fail(section, key, f"must be an http:// or https:// URL of a package index, not {redact_url(text)!r}")
        return text

    def level(section: str, key: str) -> str:
        text = raw(section, key).upper()
        if text not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            fail(section, key, f"must be DEBUG, INFO, WARNING or ERROR, not {text!r}")
        return text

    def command(section: str, key: str) -> str:
        text = raw(section, key)
        try:
            if not split_command(text):
                raise ValueError("empty")
        except ValueError as e:
            fail(section, key, f"cannot be split into a command line ({e})")
        return text

    def program(section: str, key: str) -> str:
        text = raw(section, key)
        if text and not (shutil.which(text) or os.path.isfile(text)):
            fail(section, key, f"names {text!r}, which is neither a file nor on PATH")
        return text

    parsers: dict[str, Callable[[str, str, Key], Any]] = {
        "text": lambda s, k, _: raw(s, k),
        "number": lambda s, k, spec: number(s, k, spec.minimum),
        "integer": lambda s, k, spec: int(number(s, k, spec.minimum)),
        "mib": lambda s, k, spec: int(number(s, k, spec.minimum) * MIB),
        "boolean": lambda s, k, _: boolean(s, k),
        "folder": lambda s, k, _: folder(s, k),
        "choice": lambda s, k, spec: choice(s, k, spec.choices),
        "apps": lambda s, k, _: frozenset(app_key(name) for name in raw(s, k).split(",") if name.strip()),
        "envs_dir": lambda s, k, _: folder(s, k) if raw(s, k) else default_envs_dir(),
        "links": lambda s, k, _: folder(s, k) if raw(s, k) and "://" not in raw(s, k) else raw(s, k),
    }
    for name, parse in (("url", url), ("guid", guid), ("tls", tls), ("interval", interval), ("level", level),
                        ("auto_or_boolean", auto_or_boolean), ("index_url", index_url), ("command", command),
                        ("program", program)):
        parsers[name] = lambda s, k, _, parse=parse: parse(s, k)
    values = {key: parsers[spec.kind](section, key, spec)
              for section, keys in CONFIG_KEYS.items() for key, spec in keys.items()}
    return Config(path=os.path.abspath(path), **values), warnings


def default_envs_dir() -> str:
    """Windows: %ProgramData%, shared by every robot account of a terminal server; elsewhere the user's cache."""
    if IS_WINDOWS:
        return os.path.join(os.environ.get("PROGRAMDATA") or r"C:\ProgramData", "robot_framework", "envs")
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "robot_framework", "envs")


# The vendor framework's settings.txt: robot GUID, Orchestrator host, logoff flag (0/1, 1 when absent).
VENDOR_LABELS = {("orchestrator", "robot_guid"): "line 1 (robot GUID)",
                 ("orchestrator", "host"): "line 2 (Orchestrator host)"}


def is_vendor_settings(text: str) -> bool:
    """An INI file starts with a [section] (or a comment); the vendor's three-line file never does."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return bool(first) and first[0] not in "[;#"


def vendor_settings(text: str, path: str) -> dict[str, dict[str, str]]:
    """settings.txt as config sections; everything else keeps its default, robots are found relative
    to the framework's folder (the vendor's convention) and logs go to `logs` beside the file."""
    lines = [line.strip() for line in text.splitlines()]
    guid, host, flag = [*lines, "", "", ""][:3]
    flag = flag or "1"
    if flag not in ("0", "1"):
        raise ConfigError(f"{path}: line 3 (logoff flag) must be 0 (stay logged on) or 1 (log off), not {flag!r}")
    return {"orchestrator": {"robot_guid": guid, "host": host},
            "session": {"logoff": "true" if flag == "1" else "false"},
            "robot": {"scripts_dir": FRAMEWORK_DIR},
            "logging": {"log_dir": "logs"}}


def split_command(command: str) -> list[str]:
    """Split a command line into arguments without a shell.

    Windows: POSIX shlex rules would eat the backslashes of C:\\paths, so Windows splits in
    non-POSIX mode and strips the quotes that mode keeps.
    """
    if IS_WINDOWS:
        return [part[1:-1] if len(part) > 1 and part[0] == part[-1] == '"' else part
                for part in shlex.split(command, posix=False)]
    return shlex.split(command)


# =================================================================================================
# Logging
# =================================================================================================
def setup_logging(cfg: Config, verbose: bool) -> None:
    import logging.handlers

    os.makedirs(cfg.log_dir, exist_ok=True)
    fmt = logging.Formatter("%(asctime)s %(levelname)-7s [%(process)d] %(message)s")
    # Windows: rotation renames the file, which fails while another process has it open; robot
    # accounts that share one install therefore need their own log_dir (README).
    file_handler = logging.handlers.RotatingFileHandler(
        os.path.join(cfg.log_dir, "robot_framework.log"), maxBytes=LOG_MAX_BYTES,
        backupCount=LOG_BACKUPS, encoding="utf-8")
    # Rotated once the file has reached maxBytes. The standard check formats every line a second time and
    # looks the file up twice: a third of each line's cost, and a job writes several lines on its path.
    file_handler.shouldRollover = (  # type: ignore[method-assign]
        lambda _record: file_handler.stream is not None and file_handler.stream.tell() >= LOG_MAX_BYTES)
    file_handler.setFormatter(fmt)
    logger.addHandler(file_handler)
    if sys.stderr is not None:  # pythonw.exe has no console: sys.stderr is None there
        console = logging.StreamHandler(sys.stderr)
        console.setFormatter(fmt)
        logger.addHandler(console)
    logger.setLevel(logging.DEBUG if verbose else getattr(logging, cfg.level))
    logger.propagate = False


def report_early_error(message: str, config_path: str) -> None:
    """A config error happens before logging exists; pythonw has no stderr, so keep it in a file."""
    if sys.stderr is not None:
        print(f"robot_framework: {message}", file=sys.stderr)
        return
    with contextlib.suppress(OSError):
        folder = os.path.dirname(os.path.abspath(config_path))
        with open(os.path.join(folder, "robot_framework-error.log"), "a", encoding="utf-8") as f:
            f.write(f"{datetime.datetime.now().isoformat(timespec='seconds')} {message}\n")


def clean(text: Any, limit: int = BODY_SNIPPET) -> str:
    """Untrusted text (names, ErrorText, bodies) made safe for one log line."""
    try:
        text = str(text)
    except RecursionError:  # the repr of a deeply nested answer
        text = f"<{type(text).__name__} nested too deeply to show>"
    text = re.sub(r"[\x00-\x1f\x7f]+", " ", text)
    return text if len(text) <= limit else text[:limit] + "..."


# =================================================================================================
# Identity: Machine, IP, MAC (computed once)
# =================================================================================================
class Identity(NamedTuple):
    machine: str
    ip: str
    mac: str
    user: str = ""


def detect_identity(host_url: str) -> Identity:
    ip = local_ip_towards(host_url)
    try:
        user = getpass.getuser()  # Windows: %USERNAME%
    except Exception:  # no user name in the environment nor the password database
        user = ""
    return Identity(machine=socket.gethostname(), ip=ip, mac=mac_of(ip), user=user)


def local_ip_towards(host_url: str) -> str:
    """The local address of the route to the Orchestrator.

    A UDP connect() only asks the routing table; no packet is sent. gethostbyname(gethostname())
    would give 127.0.1.1 or a virtual adapter's address instead.
    """
    parts = urlsplit(host_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        family, _, _, _, address = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_UDP)[0]
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.connect(address)
            return s.getsockname()[0]
    except OSError as e:
        logger.warning("Cannot tell the local IP address towards %s (%s); sending IP empty", parts.hostname, e)
        return ""


def mac_of(ip: str) -> str:
    """MAC of the interface that holds `ip` (psutil, in-process), else getmac's guess, else empty."""
    try:
        for addresses in psutil.net_if_addrs().values():
            if any(a.address == ip for a in addresses):
                for a in addresses:
                    if a.family == psutil.AF_LINK and a.address:
                        return a.address.replace("-", ":").lower()  # Windows writes AA-BB-..
    except OSError as e:
        logger.debug("psutil.net_if_addrs failed: %s", e)
    if IS_WINDOWS:
        # psutil read the adapters through GetAdaptersAddresses already; getmac's Windows fallbacks start
        # console programs (getmac.exe, ipconfig) without CREATE_NO_WINDOW, and under pythonw.exe each
        # would flash a console window on the desktop the robot drives.
        logger.warning("Cannot tell the MAC address of the interface with IP %r; sending MAC empty", ip)
        return ""
    try:
        import getmac  # imported only here: it is the fallback and costs start-up time

        mac = getmac.get_mac_address()
    except Exception as e:  # getmac probes many OS tools; any failure means "unknown"
        logger.debug("getmac failed: %s", e)
        mac = None
    if not mac:
        logger.warning("Cannot tell the MAC address of the interface with IP %r; sending MAC empty", ip)
        return ""
    return mac.lower()


# =================================================================================================
# Every Orchestrator call has a total deadline and a size limit
# =================================================================================================
# requests' `timeout` bounds each socket read, not the whole call: a server that trickles one byte a
# second would hold a call for ever. Each call therefore gets a CallDeadline, which the watchdog
# thread expires when the time is up (or cancel() does, to abandon the call): that shuts the call's
# socket down, which wakes a read blocked in any phase: headers, body, TLS. Connecting has its own
# timeout, capped at the time left.
_call_local = threading.local()  # the CallDeadline of the call running on this thread, if any


class CallDeadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._done = False
        self._start = time.monotonic()
        self.at = self._start + seconds
        self._connections: list[Any] = []
        self._lock = threading.Lock()

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def __enter__(self) -> CallDeadline:
        _call_local.deadline = self
        WATCHDOG.watch(self)
        return self

    def __exit__(self, *_exc: Any) -> None:
        with self._lock:
            self._done = True  # from now on the connection may be back in the pool: never sever it
        _call_local.deadline = None

    def watch(self, connection: Any) -> None:
        """Called by a connection as it sends this call's request (new or kept-alive alike)."""
        with self._lock:
            self._connections.append(connection)
            if self.expired:
                sever(connection)

    def expire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.expired = True
            for connection in self._connections:
                sever(connection)


class Watchdog:
    """One thread for every call's deadline (a timer thread per call would cost more than the call)."""

    def __init__(self) -> None:
        self._due: list[tuple[float, int, CallDeadline]] = []  # a heap, soonest first
        self._changed = threading.Condition()
        self._thread: Optional[threading.Thread] = None

    def watch(self, deadline: CallDeadline) -> None:
        with self._changed:
            sooner = not self._due or deadline.at < self._due[0][0]
            heapq.heappush(self._due, (deadline.at, id(deadline), deadline))
            if self._thread is None:  # started by the first call, never at import
                self._thread = threading.Thread(target=self._run, name="call-deadlines", daemon=True)
                self._thread.start()
            if sooner:  # otherwise the thread already wakes earlier than this deadline
                self._changed.notify()

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._due or self._due[0][0] > time.monotonic():
                    self._changed.wait(self._due[0][0] - time.monotonic() if self._due else None)
                _, _, deadline = heapq.heappop(self._due)
            deadline.expire()  # a call already done ignores it


WATCHDOG = Watchdog()


def sever(connection: Any) -> None:
    """Wake whatever thread reads this connection: shutdown() makes a blocked recv return at once.

    The base socket's shutdown is used even for TLS (SSLSocket.shutdown would also drop its SSL
    object under the reading thread). Windows: closesocket() is what the Winsock documentation
    promises will cancel a blocking call in another thread, so the socket is closed there as well.
    """
    sock = getattr(connection, "sock", None)
    if sock is None:
        return
    with contextlib.suppress(OSError, TypeError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    if IS_WINDOWS:
        with contextlib.suppress(OSError):
            sock.close()


class _DeadlineAware:
    """Mixed into urllib3's connection classes: registers each request with the call's deadline."""

    def request(self, *args: Any, **kwargs: Any) -> Any:
        deadline = getattr(_call_local, "deadline", None)
        if deadline is not None:
            deadline.watch(self)
        return super().request(*args, **kwargs)  # type: ignore[misc]


class _DeadlineHTTPConnection(_DeadlineAware, urllib3.connection.HTTPConnection):
    pass


class _DeadlineHTTPSConnection(_DeadlineAware, urllib3.connection.HTTPSConnection):
    pass


class _DeadlineHTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _DeadlineHTTPConnection


class _DeadlineHTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _DeadlineHTTPSConnection


class DeadlineAdapter(HTTPAdapter):
    """requests' adapter, with connections that obey the CallDeadline (direct or through a proxy)."""

    POOLS: ClassVar[dict[str, type]] = {"http": _DeadlineHTTPPool, "https": _DeadlineHTTPSPool}

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self.POOLS

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        if type(manager) is urllib3.ProxyManager:  # SOCKS managers bring connection classes of their own
            manager.pool_classes_by_scheme = self.POOLS
        return manager


def read_body(response: requests.Response, limit: int, what: str) -> bytes:
    """The whole body, streamed; an answer larger than `limit` bytes is abandoned unread."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise OrchestratorError(f"{what}: answer of {int(declared):,} bytes (Content-Length) is larger than "
                                f"[orchestrator] max_response_mb ({limit / MIB:g} MiB); not read")
    if declared.isdigit() and not response.headers.get("Content-Encoding"):
        # The usual answer: a small body of a declared length, read at once (iter_content's generators cost
        # a tenth of a call's CPU). A read cut off (the deadline shuts the socket down) returns what came.
        size = int(declared)
        body = response.raw.read(size)
        while len(body) < size:
            more = response.raw.read(size - len(body))  # at the stream's end urllib3 raises IncompleteRead
            if not more:
                raise OrchestratorError(f"{what}: answer cut short ({len(body):,} of {size:,} bytes)")
            body += more
        return body
    body = bytearray()
    for chunk in response.iter_content(READ_CHUNK):
        body += chunk
        if len(body) > limit:
            raise OrchestratorError(f"{what}: answer larger than [orchestrator] max_response_mb "
                                    f"({limit / MIB:g} MiB): {len(body):,} bytes seen, abandoned")
    return bytes(body)


def body_text(body: bytes) -> str:
    return repr(clean(body[:BODY_SNIPPET * 4].decode("utf-8", errors="replace")))


# =================================================================================================
# The Orchestrator API
# =================================================================================================
class Heartbeat(NamedTuple):
    error_code: int
    error_text: str
    has_new_job: bool


class ConsumedJob(NamedTuple):
    guid: str
    name: str  # ProcessVersion["Name"]: the robot script; "" when missing
    job: Any
    process_version: Any
    task: Any
    problem: str = ""  # why this job cannot run (it is then reported Failed)


@functools.cache
def environ_proxies(host: str) -> dict[str, str]:
    """The proxies the environment names for `host`, looked up once per run (it costs milliseconds)."""
    return requests.utils.get_environ_proxies(host)


@functools.lru_cache(maxsize=64)
def prepared_url(url: str) -> str:
    """The URL as requests prepares it (IDNA host, quoted path), once per distinct URL."""
    request = requests.PreparedRequest()
    request.prepare_url(url, None)
    return str(request.url)


def form_field(key: str, value: str) -> str:
    """`key=value` as urllib.parse.urlencode writes it. The short ones repeat call after call (the robot
    GUID, machine, status, job GUID): quoted once. A long one (a log message) is not kept."""
    if len(value) > FORM_FIELD_CACHED:
        return urllib.parse.quote_plus(key) + "=" + urllib.parse.quote_plus(value)
    return _form_field(key, value)


FORM_FIELD_CACHED = 80  # characters: a GUID, a machine or job name


@functools.lru_cache(maxsize=64)
def _form_field(key: str, value: str) -> str:
    return urllib.parse.quote_plus(key) + "=" + urllib.parse.quote_plus(value)


class ServerTraits:
    """What the framework learned about this Orchestrator, shared by every thread's Orchestrator."""

    def __init__(self) -> None:
        self.update_method = "PUT"  # the algorithm's verb; POST once the server answers 405
        self.logs_supported = True  # False once /api/log/create answers 404 or 405
        # A cookie the server set (a load balancer pinning this client to one node) goes back with every
        # thread's calls. The jar locks itself; cookies_set spares the calls of a server that sets none.
        self.cookies = requests.cookies.RequestsCookieJar()
        self.cookies_set = False


class Orchestrator:
    """One requests.Session, the robot's Basic auth, and one attempt per call (retries are the caller's).

    A requests.Session is not thread-safe: every thread that talks to the Orchestrator has its own.
    """

    def __init__(self, cfg: Config, learned: Optional[ServerTraits] = None) -> None:
        self.cfg = cfg
        self.session = requests.Session()
        # The environment (proxies, CA bundle) is read once here instead of on every request: with
        # trust_env, requests re-reads it per call (a few ms each) and a ~/.netrc entry for the host
        # would silently replace the robot's Authorization header.
        self.session.trust_env = False
        self.session.proxies = dict(environ_proxies(cfg.host))
        self.verify = cfg.verify_tls
        if self.verify is True:
            self.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        token = base64.b64encode(cfg.robot_guid.encode("utf-8")).decode("ascii")
        # The GUID is a credential: it lives only in this header, which is never logged.
        self.session.headers["Authorization"] = "Basic " + token
        self.session.headers["User-Agent"] = "robot_framework.py"
        # Uncompressed answers: the size limit then counts what crosses the wire, and a small
        # compressed body can never inflate to gigabytes in memory.
        self.session.headers["Accept-Encoding"] = "identity"
        # No automatic retries at all (consumeNextJob is not idempotent; the callers retry the rest).
        for prefix in ("http://", "https://"):
            self.session.mount(prefix, DeadlineAdapter(max_retries=0))
        # What this run learned about the server, shared by every thread's Orchestrator.
        self.learned = learned if learned is not None else ServerTraits()
        self.session.cookies = self.learned.cookies
        self._active: Optional[CallDeadline] = None
        self._cancelled = False
        self._companions: dict[str, Orchestrator] = {}
        if cfg.verify_tls is False:
            # Said once at start by run(); urllib3 would otherwise repeat it on stderr for every request.
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

    def companion(self, purpose: str) -> Orchestrator:
        """The Orchestrator of a worker thread ("heartbeats", "logs"): its own Session, kept for the run,
        so its kept-alive connection serves every job. Handed out afresh (not cancelled) for each job."""
        companion = self._companions.get(purpose)
        if companion is None:
            companion = self._companions[purpose] = Orchestrator(self.cfg, self.learned)
        companion.reopen()
        return companion

    def reopen(self) -> None:
        """After cancel(): calls go through again (the next worker on this companion)."""
        self._cancelled = False

    def cancel(self) -> None:
        """From another thread: the call in flight, and any later one, fails at once."""
        self._cancelled = True
        active = self._active
        if active is not None:
            active.expire()

    def close(self) -> None:
        self.session.close()

    def call(self, method: str, endpoint: str, fields: Optional[dict[str, Any]] = None,
             timeout: Optional[float] = None, secret: bool = False, empty_ok: bool = False) -> Any:
        """Send form fields, return the decoded JSON body; raise an OrchestratorError subclass.

        At most `timeout` (request_timeout) seconds from start to end, whatever the server does.
        secret: the request or the answer may hold a password, so no body is quoted in errors.
        empty_ok: an empty body is returned as None instead of being an error.
        """
        what = f"{method} {endpoint}"
        seconds = timeout or self.cfg.request_timeout
        with CallDeadline(seconds) as deadline:
            self._active = deadline
            try:
                if self._cancelled:
                    raise Abandoned(f"{what}: abandoned")
                return self._exchange(method, endpoint, fields, deadline, what, secret, empty_ok)
            except requests.exceptions.SSLError as e:
                if deadline.expired:
                    raise self._too_slow(what, seconds) from None
                raise OrchestratorError(f"{what}: TLS error ({clean(e)}); check [orchestrator] verify_tls") from None
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as e:
                # A read timeout is the same event as the deadline when the socket's timer fires first.
                if deadline.expired or isinstance(e, requests.exceptions.ReadTimeout):
                    raise self._too_slow(what, seconds) from None
                error = RequestNotSent if never_sent(e) else OrchestratorError
                raise error(f"{what}: {describe_network_error(e)}") from None
            finally:
                self._active = None
                if deadline.expired:
                    # A severed connection must not be pooled for the next call: start afresh.
                    self.session.close()

    def _too_slow(self, what: str, seconds: float) -> OrchestratorError:
        if self._cancelled:
            return Abandoned(f"{what}: abandoned")
        return OrchestratorError(f"{what}: no complete answer within request_timeout ({seconds:g} s)")

    def _exchange(self, method: str, endpoint: str, fields: Optional[dict[str, Any]], deadline: CallDeadline,
                  what: str, secret: bool, empty_ok: bool) -> Any:
        left = max(deadline.remaining(), 0.001)
        request = self._prepare(method, endpoint, fields)
        # Sent through the session's adapter, as Session.send would, minus what this client never uses
        # (hooks, redirects: following one turns a POST into a GET and drops the form fields).
        # verify= per request: the config's CA path always wins, the environment only fills in "true".
        # stream=True: the body is read below, chunk by chunk, against the size limit.
        adapter = self.session.get_adapter(request.url)
        with adapter.send(request, stream=True, timeout=(left, left), verify=self.verify,
                          proxies=self.session.proxies) as response:
            if "Set-Cookie" in response.headers:  # kept for the next calls, as the Session would
                requests.cookies.extract_cookies_to_jar(self.learned.cookies, request, response.raw)
                self.learned.cookies_set = True
            status = response.status_code
            if status in (401, 403):
                raise RobotRefused(f"{what}: HTTP {status}: the Orchestrator refuses this robot GUID; "
                                   f"check [orchestrator] robot_guid", status=status)
            if 300 <= status < 400:
                raise RequestRejected(f"{what}: HTTP {status} redirect to "
                                      f"{clean(response.headers.get('Location'))!r}; set [orchestrator] host to "
                                      f"the address it redirects to", status=status)
            body = read_body(response, self.cfg.max_response_mb, what)
            shown = "not shown (it may hold a secret)" if secret else body_text(body)
            if status in (408, 429) or status >= 500:
                raise OrchestratorError(f"{what}: HTTP {status}, body {shown}",
                                        retry_after=retry_after_seconds(response), status=status)
            if not 200 <= status < 300:
                raise RequestRejected(f"{what}: HTTP {status}, body {shown}", status=status, body=body)
        if empty_ok and not body.strip():
            return None
        try:
            return parse_json(body)
        except ValueError as e:
            raise OrchestratorError(f"{what}: HTTP {status} but the body is not JSON ({e}): {shown}") from None

    def _prepare(self, method: str, endpoint: str, fields: Optional[dict[str, Any]]) -> requests.PreparedRequest:
        """The request Session.request would prepare, built directly: requests' generic merging of settings
        and its form encoding cost about 40 % of each call's CPU (0.5 ms of 1.2 ms per heartbeat, measured),
        paid at every heartbeat by every framework on a terminal server. Same URL, headers and body."""
        request = requests.PreparedRequest()
        request.method = method
        request.url = prepared_url(self.cfg.host + endpoint)
        request.headers = requests.structures.CaseInsensitiveDict(self.session.headers)
        request.hooks = requests.hooks.default_hooks()
        body = None
        if fields:  # requests' encoding: form fields, UTF-8, a None value left out
            body = "&".join(form_field(k, v if isinstance(v, str) else str(v))
                            for k, v in fields.items() if v is not None).encode("ascii")
            request.headers["Content-Type"] = "application/x-www-form-urlencoded"
        request.body = body
        if body or method not in ("GET", "HEAD"):
            request.headers["Content-Length"] = str(len(body or b""))
        if self.learned.cookies_set:  # only a server that sets cookies pays for them
            request.prepare_cookies(self.learned.cookies)
        return request

    # --- the three endpoints of the algorithm ---
    def heartbeat(self, identity: Identity, status: int, job_guid: str = "", job_name: str = "",
                  timeout: Optional[float] = None) -> Heartbeat:
        body = self.call("POST", "/api/robot/heartbeat", {
            "RobotGUID": self.cfg.robot_guid,
            "Machine": identity.machine,
            "IP": identity.ip,
            "MAC": identity.mac,
            "Status": status,
            "JobGUID": job_guid,
            "JobName": job_name,
            "JobType": JOB_TYPE_ORCHESTRATED,
        }, timeout=timeout)
        fields = expect_object(body, "heartbeat")
        error_code = as_int(fields.get("HeartbeatErrorCode"))
        if error_code is None:
            raise OrchestratorError(f"heartbeat: answer without a numeric HeartbeatErrorCode: {clean(body)}")
        has_new_job = as_int(fields.get("HasNewJob"))
        if has_new_job is None and status == ROBOT_STATUS_READY and error_code == HEARTBEAT_NO_ERROR:
            logger.warning("heartbeat: answer without a numeric HasNewJob (%s); taken as no new job", clean(body))
        return Heartbeat(error_code, clean(fields.get("ErrorText") or ""), has_new_job == HAS_NEW_JOB_FOUND)

    def consume_next_job(self) -> tuple[int, str, Optional[ConsumedJob]]:
        body = self.call("POST", "/api/robot/consumeNextJob",
                         {"RobotGUID": self.cfg.robot_guid, "Status": ROBOT_STATUS_READY})
        fields = expect_object(body, "consumeNextJob")
        code = as_int(fields.get("ConsumeJobErrorCode"))
        if code is None:
            raise OrchestratorError(f"consumeNextJob: answer without a numeric ConsumeJobErrorCode: {clean(body)}")
        text = clean(fields.get("ErrorText") or "")
        if code != CONSUME_NO_ERROR:
            return code, text, None
        return code, text, parse_consumed_job(fields)

    def update_job(self, job_guid: str, status: int) -> None:
        fields = {"guid": job_guid, "status": status}
        try:
            self.call(self.learned.update_method, "/api/job/update", fields)
        except RequestRejected as e:
            if self.learned.update_method != "PUT" or e.status != 405:
                raise
            # The Orchestrator's API reference lists POST for this path; switch once, for good.
            logger.info("job/update: the server does not allow PUT (405); using POST from now on")
            self.learned.update_method = "POST"
            self.call("POST", "/api/job/update", fields)


def never_sent(error: requests.RequestException) -> bool:
    """True when the request surely did not reach the server: refused, DNS failure, connect timeout."""
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return True
    reason = error.args[0] if error.args else None
    reason = getattr(reason, "reason", reason)  # MaxRetryError wraps the cause
    return isinstance(reason, NewConnectionError)


def describe_network_error(error: requests.RequestException) -> str:
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return "connect timed out"
    if never_sent(error):
        return "cannot connect (refused or unknown host)"
    return f"connection failed ({clean(error, 120)})"


def retry_after_seconds(response: requests.Response) -> Optional[float]:
    header = response.headers.get("Retry-After")
    if not header:
        return None
    try:
        return Retry(0).parse_retry_after(header)  # seconds or an HTTP date
    except Exception:
        return None


def parse_json(text: Any) -> Any:
    """json.loads for text nobody here wrote (answers, robot log lines, files on disk).

    Any failure to decode is a ValueError: deep nesting raises RecursionError inside json, which
    would otherwise escape every `except ValueError` and take a thread or the run down.
    bytes: json detects UTF-8/16/32 and skips a BOM.
    """
    try:
        return json.loads(text)
    except ValueError:
        raise
    except RecursionError:
        raise ValueError("nested too deeply") from None
    except Exception as e:  # e.g. TypeError, UnicodeDecodeError's siblings: never a crash
        raise ValueError(f"undecodable ({type(e).__name__})") from None


def expect_object(body: Any, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise OrchestratorError(f"{what}: expected a JSON object, got {type(body).__name__}: {clean(body)}")
    return body


def as_int(value: Any) -> Optional[int]:
    """1, "1", 1.0 -> 1; anything else (None, "yes", True) -> None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    return None


def decode_nested(value: Any) -> Any:
    """Job/ProcessVersion/Task arrive as JSON-encoded strings (as the document parses them) or objects."""
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            return parse_json(value)
        except ValueError:
            return value
    return value


def parse_consumed_job(fields: dict[str, Any]) -> Optional[ConsumedJob]:
    job = decode_nested(fields.get("Job"))
    version = decode_nested(fields.get("ProcessVersion"))
    # The document's example reads the key ' Task ' with spaces: match ignoring surrounding space.
    task = next((decode_nested(v) for k, v in fields.items() if isinstance(k, str) and k.strip() == "Task"), None)
    guid = job.get("GUID") if isinstance(job, dict) else None
    if not isinstance(guid, str) or not guid.strip():
        logger.error("consumeNextJob: the job has no GUID, so it cannot be run or reported; skipped. Job: %s",
                  clean(fields.get("Job")))
        return None
    name = version.get("Name") if isinstance(version, dict) else None
    if not isinstance(name, str) or not name.strip():
        return ConsumedJob(guid.strip(), "", job, version, task,
                           problem=f"ProcessVersion has no Name, so no robot script can be chosen: {clean(version)}")
    return ConsumedJob(guid.strip(), name.strip(), job, version, task)


# =================================================================================================
# Retries (heartbeat and job/update are idempotent; consumeNextJob is retried by its adapter only)
# =================================================================================================
class Backoff(NamedTuple):
    """The retry policy: exponential backoff with jitter, a server's Retry-After honoured."""

    first: float  # seconds before the first retry; doubles each attempt...
    most: float  # ...up to this

    def pause(self, failures: int, retry_after: Optional[float] = None) -> float:
        """Seconds to wait after the `failures`-th failure in a row."""
        pause = random.uniform(0.5, 1.0) * min(self.most, self.first * 2 ** (failures - 1))
        return max(pause, retry_after or 0.0)


CALL_BACKOFF = Backoff(0.5, 15.0)  # heartbeats, job/update, the robot API
# Log entries: one small request a second is no burden, and the backlog keeps moving.
LOG_BACKOFF = Backoff(0.1, 1.0)


def with_retries(what: str, attempt: Callable[[], T], seconds: float,
                 stop: Optional[threading.Event] = None) -> T:
    """Repeat `attempt` on transient errors with exponential backoff and jitter for up to `seconds`.

    stop: an event that ends the retrying early (a worker thread whose job ended).
    """
    deadline = time.monotonic() + seconds
    failures = 0
    while True:
        try:
            return attempt()
        except OrchestratorError as e:
            if not e.transient:
                raise
            failures += 1
            pause = CALL_BACKOFF.pause(failures, e.retry_after)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Unreachable(f"{what} failed for {seconds:g} s; last error: {e}") from None
            pause = min(pause, remaining)
            logger.warning("%s failed (attempt %d): %s; retrying in %.1f s", what, failures, e, pause)
            if stop is None:
                time.sleep(pause)
            elif stop.wait(pause):
                raise Unreachable(f"{what}: abandoned, the job ended") from None


# =================================================================================================
# The outbox: outgoing calls that must survive (final statuses, task outcomes, log entries)
# =================================================================================================
OUTBOX_GIVE_UP_DAYS = 7.0  # a record still failing this long after it was written is given up (counted, said)
OUTBOX_LOCK_BYTE = 1 << 40  # Windows: the byte locked while appending, far past any real end of file
OUTBOX_LOCK_WAIT = 10.0  # seconds an append waits for another process's append before it gives up


class Outbox:
    """Outgoing calls that must survive a crash, an outage or a full disk, in one append-only JSON-lines file.

    A record is one call to make (a job's final status, a task's outcome, a log entry). It carries an `id`
    (random, so several processes append to one file without sharing a counter) and `at` (when it was
    written). A mark {"done": id, "how": ...} settles a record: sent, refused (a 4xx: retrying cannot
    help), superseded (a later record of the same thing replaces it) or given up. Pending: every record
    without a mark, in file order. The file is the only truth; nothing beside it can disagree with it.

    - append() writes one whole line per write, under an OS file lock (appends of several processes never
      interleave), after closing a torn tail (a crash or a full disk mid-write) with a newline: the torn
      line stays exactly one unreadable line, the new record is whole. Durable: fsynced before it
      returns (the folder too when the file is new: POSIX makes a new name durable only that way).
    - Reading takes whole lines added since the last look and skips exactly the lines it cannot parse,
      counted in `unreadable`. Windows: a sharing violation (antivirus, the indexer) is retried, never
      taken for damage.
    - in_send_order(): records that failed before go after the others, so one record the server chokes
      on holds no other back; expired(): past OUTBOX_GIVE_UP_DAYS the sender marks it given up and says so.
    - settle(): nothing pending: renamed to `done_path` (kept for the operator) or emptied.
    """

    def __init__(self, path: str, durable: bool = True, done_path: Optional[str] = None) -> None:
        self.path, self.durable, self.done_path = path, durable, done_path
        self.records: dict[str, dict[str, Any]] = {}  # id -> record, in file order
        self.done: dict[str, str] = {}  # id -> how it was settled
        self.unreadable = 0  # lines skipped: torn by a crash, or damaged
        self._offset = 0  # how far the file was read: always just after a newline
        self.failures: dict[str, int] = {}  # id -> failed sends in this process
        self._lock = threading.Lock()  # a robot's threads append too

    # --- writing ---
    def append(self, record: dict[str, Any], durable: Optional[bool] = None) -> dict[str, Any]:
        """Write one record; returns it as written (with its id). OSError (a full disk) goes to the caller."""
        written = {"id": os.urandom(8).hex(), "at": round(time.time(), 3), **record}
        self._write(json.dumps(written, ensure_ascii=False), self.durable if durable is None else durable)
        return written

    def mark(self, rid: str, how: str = "sent", durable: bool = False) -> None:
        """Settle a record. Not fsynced unless asked: a mark lost to a power loss sends a record again,
        which every call the outbox makes tolerates (at least once)."""
        self._write(json.dumps({"done": rid, "how": how}), durable)
        self.done[rid] = how

    def _write(self, line: str, durable: bool) -> None:
        data = (line + "\n").encode("utf-8")
        new = durable and not os.path.exists(self.path)
        with self._lock, open_retrying(self.path, "a+b") as f, appending_lock(f):
            end = f.seek(0, os.SEEK_END)
            if end:
                f.seek(end - 1)
                if f.read(1) != b"\n":
                    data = b"\n" + data  # a torn tail: closed, so it stays one unreadable line of its own
            if f.write(data) != len(data):  # unbuffered: a short write is a full disk
                raise OSError(28, "No space left on device (short write)", self.path)
            if durable:
                os.fsync(f.fileno())
        if new:
            fsync_folder(os.path.dirname(self.path) or ".")

    # --- reading ---
    def empty(self) -> bool:
        """Nothing in the file (never written, or emptied by settle()): one stat, no read, for a look between
        jobs. An error other than a missing file says "maybe not": the caller reads it."""
        try:
            return os.stat(self.path).st_size == 0
        except FileNotFoundError:
            return True
        except OSError:
            return False

    def pending(self) -> list[dict[str, Any]]:
        """Records not settled yet, in the order they were written (the file read up to date first)."""
        self.refresh()
        return [record for rid, record in self.records.items() if rid not in self.done]

    def refresh(self) -> None:
        """Read whole lines appended since the last look (a line still being written waits for the next)."""
        with self._lock:
            try:
                with open_retrying(self.path, "rb") as f:
                    f.seek(self._offset)
                    data = f.read()
            except FileNotFoundError:
                return
            end = data.rfind(b"\n") + 1
            for line in data[:end].splitlines():
                self._take(line)
            self._offset += end

    def _take(self, line: bytes) -> None:
        try:
            record = parse_json(line)
        except ValueError:
            record = None
        if isinstance(record, dict) and isinstance(record.get("done"), str):
            self.done[record["done"]] = str(record.get("how") or "sent")
        elif isinstance(record, dict) and isinstance(record.get("id"), str):
            self.records[record["id"]] = record
        elif line.strip():
            self.unreadable += 1

    def latest(self, key: str) -> list[dict[str, Any]]:
        """Pending records, only the last one of each `key` value: for calls that set a state (a job's
        status, a task's), only the last counts; the earlier ones are marked superseded."""
        pending = self.pending()
        last = {record.get(key): record["id"] for record in pending}
        for record in pending:
            if last[record.get(key)] != record["id"]:
                self.mark(record["id"], "superseded")
        return [record for record in pending if last[record.get(key)] == record["id"]]

    # --- the sender's bookkeeping ---
    def in_send_order(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Records that never failed first, in file order; then those that failed, fewest failures first."""
        return sorted(records, key=lambda record: self.failures.get(record["id"], 0))

    @staticmethod
    def expired(record: dict[str, Any]) -> bool:
        at = record.get("at")
        return isinstance(at, (int, float)) and time.time() - at > OUTBOX_GIVE_UP_DAYS * 86400

    def settle(self, force: bool = False) -> bool:
        """Nothing pending: the file is renamed to done_path, or emptied (then reused). True when settled.
        force: settled with what is pending (it can never be sent: the server has no such endpoint)."""
        if self.pending() and not force:
            return False
        with self._lock:
            if self.done_path:
                with contextlib.suppress(FileNotFoundError):
                    retry_while_held(os.replace, self.path, self.done_path)
                    if self.durable:  # else a rename lost to a power loss only has the file read once more
                        fsync_folder(os.path.dirname(self.path) or ".")
            else:
                with contextlib.suppress(FileNotFoundError), open_retrying(self.path, "r+b") as f:
                    if f.seek(0, os.SEEK_END):
                        f.truncate(0)  # not removed: the name stays, so the next append needs no folder fsync
            self.records, self.done, self._offset, self.failures = {}, {}, 0, {}
        return True


def send_pending(outbox: Outbox, records: list[dict[str, Any]], what: Callable[[dict[str, Any]], str],
                 send: Callable[[dict[str, Any]], Any], seconds: float) -> bool:
    """Send records of an outbox in order, each retried for `seconds`, and mark each one settled.

    For records independent of each other (statuses of different jobs or tasks). A 4xx marks the record
    refused (retrying cannot change it). Any other failure gives it up if it is older than
    OUTBOX_GIVE_UP_DAYS, else ends the round (the server is probably away): the rest waits for the next
    round, where records that failed go last, so one the server chokes on holds no other back. True when
    all of `records` went out.
    """
    for record in outbox.in_send_order(records):
        try:
            with_retries(what(record), lambda r=record: send(r), seconds)
            logger.info("%s delivered", what(record))
            how = "sent"
        except RequestRejected as e:
            logger.error("%s rejected by the Orchestrator (%s); not retried", what(record), e)
            how = "refused"
        except (Unreachable, OrchestratorError) as e:
            if not outbox.expired(record):
                outbox.failures[record["id"]] = outbox.failures.get(record["id"], 0) + 1
                logger.warning("%s not delivered (%s); kept in %s for a later round", what(record), e, outbox.path)
                return False
            logger.error("%s still not delivered %g days after it was written (%s); given up (it stays in %s)",
                         what(record), OUTBOX_GIVE_UP_DAYS, e, outbox.path)
            how = "given up"
        if record["id"]:  # "": the record could not be written (a full disk), so there is nothing to mark
            outbox.mark(record["id"], how)
    return True


def open_retrying(path: str, mode: str) -> Any:
    """open(), unbuffered (one write is one system call), a sharing violation waited out (retry_while_held)."""
    return retry_while_held(open, path, mode, 0)


def fsync_folder(folder: str) -> None:
    """POSIX: a rename is durable once its folder is fsynced. Windows (NTFS) journals it; no folder handle."""
    if IS_WINDOWS:
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def appending_lock(f: Any) -> Iterator[None]:
    """An exclusive OS lock on an open file for one append, between processes.

    POSIX: flock. Windows: a byte range lock (msvcrt.locking) on one byte far past the end of the file,
    so readers are never blocked (a Windows range lock is mandatory for the bytes it covers); Windows'
    O_APPEND is a seek then a write, so without it two processes' lines could overwrite each other."""
    if not IS_WINDOWS:
        import fcntl

        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
        return
    import msvcrt

    deadline = time.monotonic() + OUTBOX_LOCK_WAIT
    while True:
        f.seek(OUTBOX_LOCK_BYTE)
        try:
            msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)
    try:
        yield
    finally:
        f.seek(OUTBOX_LOCK_BYTE)
        msvcrt.locking(f.fileno(), msvcrt.LK_UNLCK, 1)


# =================================================================================================
# Per-robot files: single-instance lock, running-job state, journal of undelivered final statuses
# =================================================================================================
class RobotFiles:
    """Files keyed by a hash of the robot GUID (the GUID itself is a credential, not a file name)."""

    def __init__(self, cfg: Config) -> None:
        self.key = robot_key(cfg.robot_guid)
        # Final statuses, each on disk before it is sent (an Outbox: emptied once all are delivered).
        self.journal = Outbox(os.path.join(cfg.log_dir, f"journal-{self.key}.jsonl"))
        # True: every status in the journal is known delivered (this run sent them all): the look between
        # jobs is skipped, and the journal is emptied while the next robot boots (settle_journal).
        self.journal_delivered = False
        self.running = os.path.join(cfg.log_dir, f"running-{self.key}.json")
        # The lock lives in the temp folder, not log_dir, so two configs naming the same GUID with
        # different log_dirs still exclude each other. Windows: %TEMP% is per user, and a robot
        # GUID belongs to one user account.
        self.lock_path = os.path.join(tempfile.gettempdir(), f"robot_framework-{self.key}.lock")
        self._lock_file: Optional[Any] = None

    def acquire_lock(self) -> None:
        """Hold an OS lock for this GUID while the process lives; the OS drops it when we die.

        Windows: a named mutex Global\\robot_framework-<hash>, held by the main thread until the process
        ends (then it is "abandoned", which the next holder accepts). %TEMP% is per session on Remote
        Desktop hosts, so a file lock there would not see the same robot started in another session.
        Elsewhere: a file lock in the temp folder.
        """
        if IS_WINDOWS:
            try:
                kernel32, handle = open_global_mutex(f"robot_framework-{self.key}")
            except OSError as e:
                raise AlreadyRunning(f"cannot take this robot's lock ({e}); exiting without contacting the "
                                     f"Orchestrator") from None
            if kernel32.WaitForSingleObject(handle, 0) not in (WAIT_OBJECT_0, WAIT_ABANDONED):
                kernel32.CloseHandle(handle)
                raise AlreadyRunning(f"another robot_framework.py is already running for this robot GUID (mutex "
                                     f"Global\\robot_framework-{self.key}); this one exits without contacting the "
                                     f"Orchestrator")
            self._lock_file = handle  # never released: the process's end releases it
            return
        import fcntl

        f = open(self.lock_path, "a+")  # held open for the life of the process
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            raise AlreadyRunning(f"another robot_framework.py is already running for this robot GUID (lock "
                                 f"{self.lock_path}); this one exits without contacting the Orchestrator") from None
        self._lock_file = f  # file descriptors are not inherited by the robot (PEP 446)

    def settle_journal(self) -> None:
        """Empty the journal once all it holds is delivered; off the path between two jobs (the next robot
        is booting). Outbox.settle reads it first and empties nothing that is still pending."""
        if self.journal_delivered:
            try:
                self.journal.settle()
            except OSError as e:  # emptied at the next look instead
                logger.warning("Journal %s: %s", self.journal.path, describe_os_error(e))
                self.journal_delivered = False

    # --- running-job state (crash recovery) ---
    def save_running(self, state: dict[str, Any], durable: bool = True) -> None:
        write_json_atomically(self.running, state, durable)

    def clear_running(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            retry_while_held(os.remove, self.running)

    def load_running(self) -> Optional[dict[str, Any]]:
        return self._load(self.running, dict)

    def journaled(self, job_guid: str) -> Optional[dict[str, Any]]:
        """The job's final status in the journal (sent or not), if it is there: its true outcome is known."""
        try:
            self.journal.refresh()
        except OSError as e:
            logger.error("Journal %s cannot be read (%s)", self.journal.path, describe_os_error(e))
        return next((r for r in reversed(self.journal.records.values()) if r.get("job") == job_guid), None)

    def migrate_journal(self) -> None:
        """A journal left by a version before the outbox (a JSON array): its entries join the outbox."""
        old = self.journal.path[:-len("l")]
        entries = self._load(old, list) if os.path.exists(old) else None
        try:
            for entry in entries or []:
                if isinstance(entry, dict) and isinstance(entry.get("guid"), str) and as_int(entry.get("status")):
                    self.journal.append({"job": entry["guid"], "status": as_int(entry["status"]),
                                         "reason": str(entry.get("reason") or "")})
            if entries is not None:
                os.remove(old)
        except OSError as e:
            logger.error("Journal %s: cannot move it into %s (%s); tried again at the next start", old,
                         self.journal.path, describe_os_error(e))

    def _load(self, path: str, kind: type) -> Any:
        try:
            with open_retrying(path, "rb") as f:
                data = parse_json(f.read())
            if not isinstance(data, kind):
                raise ValueError(f"expected a JSON {kind.__name__}")
            return data
        except FileNotFoundError:
            return None
        except PermissionError as e:  # Windows: still held by another process after the retries; not damage
            logger.error("%s cannot be read now (%s); left as it is", path, describe_os_error(e))
            return None
        except (OSError, ValueError) as e:
            aside = f"{path}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}"
            with contextlib.suppress(OSError):
                os.replace(path, aside)
            logger.error("%s is unreadable (%s); set aside as %s", path, clean(e), aside)
            return None


def robot_key(robot_guid: str) -> str:
    return hashlib.sha256(robot_guid.lower().encode()).hexdigest()[:16]


def load_json_or_none(path: str) -> Any:
    """A small JSON file of ours, or None when it is missing or unreadable (it is then rebuilt)."""
    try:
        with open(path, "rb") as f:
            return parse_json(f.read())
    except (OSError, ValueError):
        return None


def write_json_atomically(path: str, data: Any, durable: bool = True) -> None:
    # One C-encoded string: json.dump (or an indent) runs the pure-Python encoder.
    write_atomically(path, json.dumps(data).encode("utf-8"), durable)


def write_atomically(path: str, data: bytes, durable: bool = True, temporary: Optional[str] = None) -> None:
    """Write-then-rename, so a crash leaves the old file or the new one, never half of one.

    durable: fsync before the rename, so the content also survives a power loss or a Windows crash
    (the journal and the running-job state); a few ms, so not for files a crash makes worthless.
    temporary: where it is written first (default `<path>.tmp`; one per process where several write it).
    """
    tmp = temporary or f"{path}.tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        retry_while_held(os.replace, tmp, path)  # atomic on NTFS and POSIX file systems alike
    except OSError:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    if durable:
        fsync_folder(os.path.dirname(path) or ".")  # POSIX: the rename itself is durable once its folder is


def retry_while_held(action: Callable[..., T], *args: Any) -> T:
    """Open, rename or remove a file, retried for about a second on PermissionError; returns what it returns.

    Windows: antivirus and the search indexer open new files for a moment, and opening, renaming or
    deleting a file another process holds open fails with "access denied" (a sharing violation) until
    they let go: never taken for damage. POSIX never does this, so there the first PermissionError is
    final in practice, after the same short wait.
    """
    for pause in (0.05, 0.1, 0.2, 0.25, 0.4):
        try:
            return action(*args)
        except PermissionError:
            time.sleep(pause)
    return action(*args)


# =================================================================================================
# Killing everything a job started
# =================================================================================================
# psutil raises psutil.Error subclasses, but on Windows some native calls surface as a bare OSError
# (seen under Wine: WinError 87 from NtQuerySystemInformation in name()); the kill code survives both.
PROCESS_ERRORS = (psutil.Error, OSError)


@functools.cache  # an account lookup (POSIX: the password database) at every job's sweep otherwise
def current_username() -> str:
    try:
        return psutil.Process().username()
    except PROCESS_ERRORS:
        return ""


def process_label(proc: psutil.Process) -> str:
    return f"{process_name(proc)}({proc.pid})"


def process_name(proc: psutil.Process) -> str:
    """The image name; from its path or command line where the name itself is refused (seen under Wine)."""
    for name in (proc.name, proc.exe, lambda: proc.cmdline()[0]):
        with contextlib.suppress(*PROCESS_ERRORS, IndexError):
            found = os.path.basename(name())
            if found:
                return clean(found, 60)
    return "?"


def find_job_processes(marker: str, root: Optional[psutil.Process]) -> list[psutil.Process]:
    """The robot's live tree plus every process of this user whose environment carries the job marker.

    The tree walk misses a grandchild whose parent already exited (Windows never re-parents, POSIX
    re-parents to init); the marker, inherited by every descendant, finds those. Processes of other
    users and of other jobs never match. Only processes created after the robot (when it is known) can
    carry its job's marker: the others' environments are not read (each read is a system call or more,
    and a terminal server runs thousands of processes).
    """
    found: dict[int, psutil.Process] = {}
    me = os.getpid()
    since = 0.0
    if root is not None:
        with contextlib.suppress(*PROCESS_ERRORS):
            since = root.create_time() - 1.0  # the clock's granularity, with room to spare
            if root.is_running():  # also false when the PID was recycled (create time differs)
                found[root.pid] = root
                for child in root.children(recursive=True):
                    found[child.pid] = child
    if marker:
        user = current_username()
        try:
            # try/except rather than contextlib.suppress: this loop runs once per process on the machine.
            for proc in psutil.process_iter():
                if proc.pid == me or proc.pid in found:
                    continue
                try:
                    if proc.create_time() < since:  # cached by psutil: no new system call
                        continue
                except PROCESS_ERRORS:
                    pass  # its age unknown: its environment says
                # Other users' processes refuse environ() (AccessDenied) on both platforms, cheaply; the
                # user check (a name lookup) runs only for a match, which also keeps an admin account
                # from touching other users' processes.
                try:
                    if proc.environ().get(ENV_JOB_GUID) == marker and proc.username() == user:
                        found[proc.pid] = proc
                except PROCESS_ERRORS:
                    pass
        except PROCESS_ERRORS as e:  # the process list itself failed: the tree walk still counts
            logger.warning("Listing processes for job %s failed: %s", clean(marker, 60), e)
    alive = []
    for proc in found.values():
        with contextlib.suppress(*PROCESS_ERRORS):
            if proc.pid != me and proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc)
    return alive


def kill_job_processes(marker: str, root: Optional[psutil.Process], why: str, grace: float = 0.0) -> list[str]:
    """The one kill routine: abort, stop escalation, job timeout, job end, crash recovery, interrupt.

    Each pass suspends what it found (so nothing spawns mid-kill) and kills it deepest first. Passes
    repeat until none finds anything for KILL_SETTLE seconds: a process created in the instant its
    parent was killed may not show its environment yet (Windows answers AccessDenied while a new
    process initialises), so one empty pass is not proof. Bounded by KILL_TIMEOUT.

    grace: what the first pass finds gets this long to end by itself (after a robot's own exit: its
    console host, conhost.exe, ends a moment after it, and is no leftover).
    """
    deadline = time.monotonic() + KILL_TIMEOUT
    killed: dict[int, str] = {}
    quiet_since: Optional[float] = None
    while time.monotonic() < deadline:
        victims = find_job_processes(marker, root)
        if victims and grace:
            with contextlib.suppress(*PROCESS_ERRORS):
                psutil.wait_procs(victims, timeout=grace)
            grace = 0.0
            continue
        if not victims:
            if not killed:
                break  # nothing was running: no settle wait, so a clean job end costs one sweep
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= KILL_SETTLE:
                break
            time.sleep(KILL_SETTLE / 10)
            continue
        quiet_since = None
        for proc in victims:
            killed.setdefault(proc.pid, process_label(proc))
            with contextlib.suppress(*PROCESS_ERRORS):
                proc.suspend()
        for proc in reversed(victims):
            kill_one(proc)
        with contextlib.suppress(*PROCESS_ERRORS):
            psutil.wait_procs(victims, timeout=1.0)
    else:
        logger.error("Could not kill every process of job %s within %g s (%s); some may still run",
                  clean(marker, 60), KILL_TIMEOUT, why)
    names = list(killed.values())
    if names:
        logger.info("Killed %d process(es) of job %s (%s): %s", len(names), clean(marker, 60), why, ", ".join(names))
    return names


CLOSE_APPS_GRACE = 5.0  # seconds an application asked to close gets before it is killed


def app_key(name: str) -> str:
    """An image name as [robot] close_apps compares it: Windows ignores case and an `.exe` ending."""
    name = name.strip()
    if IS_WINDOWS:
        name = name.lower()
        return name[:-4] if name.endswith(".exe") else name
    return name


def session_of(pid: int) -> Optional[int]:
    """Windows: the Remote Desktop session a process runs in (ProcessIdToSessionId), None if unknown."""
    import ctypes
    from ctypes import wintypes

    session = wintypes.DWORD()
    if windows_api().kernel32.ProcessIdToSessionId(wintypes.DWORD(pid), ctypes.byref(session)):
        return session.value
    return None


def close_apps(cfg: Config, when: str, shipper: Optional[LogShipper]) -> list[str]:
    """[robot] close_apps: the applications a job drives, closed before its robot starts and after it ended.

    Applications started through COM (Excel by Dispatch("Excel.Application")) are children of the COM
    launcher, not of the robot, so no sweep of the robot's processes finds them. Only processes of this
    user, and on Windows of this session, are touched: never another account's or another session's.
    Each is asked to close first (Windows: taskkill without /F sends its windows WM_CLOSE; POSIX: SIGTERM),
    then killed after CLOSE_APPS_GRACE seconds. Each is named in the log and the job's log.
    """
    if not cfg.close_apps:
        return []
    user, me = current_username(), os.getpid()
    my_session = session_of(me) if IS_WINDOWS else None
    found = []
    for proc in psutil.process_iter():
        with contextlib.suppress(*PROCESS_ERRORS):
            if proc.pid != me and app_key(proc.name()) in cfg.close_apps and still_running(proc) and (
                    proc.username() == user and (not IS_WINDOWS or session_of(proc.pid) == my_session)):
                found.append(proc)
    if not found:
        return []
    names = [process_label(proc) for proc in found]
    for proc in found:
        with contextlib.suppress(*PROCESS_ERRORS):
            if IS_WINDOWS:
                run_tool(["taskkill", "/PID", str(proc.pid)], timeout=CLOSE_APPS_GRACE)
            else:
                proc.terminate()
    deadline = time.monotonic() + CLOSE_APPS_GRACE
    while time.monotonic() < deadline and any(still_running(proc) for proc in found):
        time.sleep(0.05)
    for proc in found:
        if still_running(proc):
            kill_one(proc)
    message = f"Closed {len(names)} application(s) {when} ([robot] close_apps): {', '.join(names)}"
    logger.info("%s", message)
    if shipper is not None:
        shipper.add("info", message)
    return names


def still_running(proc: psutil.Process) -> bool:
    """Running and not a zombie (a dead child its parent has not reaped yet counts as gone)."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except PROCESS_ERRORS:
        return False


class JobObject:
    """Windows: a Job Object (kernel32), the one thing that holds every process a robot starts, however
    it starts it (detached, with an empty environment) and wherever its parent went.

    kill_on_close: every process in it dies when its last handle closes, also when the framework is
    killed (TerminateProcess, a crash): the framework puts itself in one at start, so no robot runs on
    alone. Each robot joins a named one of its own (its bootstrap's first instructions, before it can
    start a child), which the framework terminates at Abort, Stop escalation, job_timeout, job end
    (kill_leftovers) and interruption, after the sweeps (which name what they kill, and are all there
    is on POSIX). Nested jobs need Windows 8 / Server 2012. Any failure is logged, never fatal.
    """

    JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE = 0x2000
    JOB_OBJECT_EXTENDED_LIMIT_INFORMATION = 9
    JOB_OBJECT_BASIC_ACCOUNTING_INFORMATION = 1

    def __init__(self, name: Optional[str] = None, kill_on_close: bool = False) -> None:
        import ctypes

        self._ctypes = ctypes
        self.kernel32 = windows_api().kernel32
        self.name = name
        self.handle = self.kernel32.CreateJobObjectW(None, name)
        if not self.handle:
            raise OSError(ctypes.get_last_error(), "CreateJobObjectW failed")
        if kill_on_close:
            self._set_kill_on_close()

    def _set_kill_on_close(self, on: bool = True) -> None:
        ctypes = self._ctypes

        # JOBOBJECT_BASIC_LIMIT_INFORMATION and JOBOBJECT_EXTENDED_LIMIT_INFORMATION (winnt.h)
        class Basic(ctypes.Structure):
            _fields_ = (("PerProcessUserTimeLimit", ctypes.c_int64), ("PerJobUserTimeLimit", ctypes.c_int64),
                        ("LimitFlags", ctypes.c_uint32), ("MinimumWorkingSetSize", ctypes.c_size_t),
                        ("MaximumWorkingSetSize", ctypes.c_size_t), ("ActiveProcessLimit", ctypes.c_uint32),
                        ("Affinity", ctypes.c_size_t), ("PriorityClass", ctypes.c_uint32),
                        ("SchedulingClass", ctypes.c_uint32))

        class Extended(ctypes.Structure):
            _fields_ = (("BasicLimitInformation", Basic), ("IoInfo", ctypes.c_uint64 * 6),
                        ("ProcessMemoryLimit", ctypes.c_size_t), ("JobMemoryLimit", ctypes.c_size_t),
                        ("PeakProcessMemoryUsed", ctypes.c_size_t), ("PeakJobMemoryUsed", ctypes.c_size_t))

        info = Extended()
        info.BasicLimitInformation.LimitFlags = self.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE if on else 0
        if not self.kernel32.SetInformationJobObject(self.handle, self.JOB_OBJECT_EXTENDED_LIMIT_INFORMATION,
                                                     ctypes.byref(info), ctypes.sizeof(info)):
            raise OSError(ctypes.get_last_error(), "SetInformationJobObject failed")

    def emptied(self) -> bool:
        """The robot joined, and every process that ever was in the job has ended: nothing can be left over,
        so the job end needs no sweep of the process table (thousands of processes on a terminal server).
        False when unsure (the query failed, or the bootstrap could not join: the sweeps then look)."""
        ctypes = self._ctypes

        class Accounting(ctypes.Structure):  # JOBOBJECT_BASIC_ACCOUNTING_INFORMATION (winnt.h)
            _fields_ = (("TotalUserTime", ctypes.c_int64), ("TotalKernelTime", ctypes.c_int64),
                        ("ThisPeriodTotalUserTime", ctypes.c_int64), ("ThisPeriodTotalKernelTime", ctypes.c_int64),
                        ("TotalPageFaultCount", ctypes.c_uint32), ("TotalProcesses", ctypes.c_uint32),
                        ("ActiveProcesses", ctypes.c_uint32), ("TotalTerminatedProcesses", ctypes.c_uint32))

        info = Accounting()
        if not self.handle or not self.kernel32.QueryInformationJobObject(
                self.handle, self.JOB_OBJECT_BASIC_ACCOUNTING_INFORMATION, ctypes.byref(info), ctypes.sizeof(info),
                None):
            return False
        return info.TotalProcesses > 0 and info.ActiveProcesses == 0

    def assign_self(self) -> None:
        if not self.kernel32.AssignProcessToJobObject(self.handle, self.kernel32.GetCurrentProcess()):
            raise OSError(self._ctypes.get_last_error(), "AssignProcessToJobObject failed")

    def terminate(self) -> None:
        if self.handle and not self.kernel32.TerminateJobObject(self.handle, 1):
            logger.debug("TerminateJobObject %s failed: WinError %d", self.name, self._ctypes.get_last_error())

    def close(self) -> None:
        if self.handle:
            self.kernel32.CloseHandle(self.handle)
            self.handle = None


_framework_job: list[JobObject] = []  # held for the life of the process: its handle closes when we die


def contain_framework() -> None:
    """Windows: the framework in a kill-on-close Job Object, so a killed framework takes its robots along."""
    if not IS_WINDOWS:
        return  # POSIX: crash recovery at the next start kills what is left (marker sweep)
    try:
        job = JobObject(kill_on_close=True)
        job.assign_self()
        _framework_job.append(job)
    except OSError as e:
        logger.warning("Cannot put the framework in a Job Object (%s): if it is killed, its robot runs on until "
                       "the next start cleans up", e)


def release_framework_job() -> None:
    """At a normal exit every robot has already ended or been killed by the framework: what still runs
    in the Job Object was left on purpose (kill_leftovers = false) or is the log-off command, so the
    kill-on-close limit is lifted. Only a framework that dies without getting here takes them along."""
    for job in _framework_job:
        with contextlib.suppress(OSError):
            job._set_kill_on_close(False)


def robot_job_object(job: ConsumedJob) -> Optional[JobObject]:
    """Windows: the named Job Object the robot's bootstrap joins (ROBOT_JOB_OBJECT), or None."""
    if not IS_WINDOWS:
        return None
    try:
        return JobObject(f"robot_framework-{os.getpid()}-{re.sub(r'[^A-Za-z0-9-]', '_', job.guid)[:64]}")
    except OSError as e:
        logger.warning("Job %s: cannot create a Job Object for the robot (%s); the sweeps alone find its "
                       "processes", job.guid, e)
        return None


def kill_one(proc: psutil.Process) -> None:
    try:
        proc.kill()
    except psutil.NoSuchProcess:
        pass
    except (psutil.AccessDenied, OSError):
        if IS_WINDOWS:
            # Windows: psutil's TerminateProcess can be refused where taskkill (which also walks
            # the tree by parent PID) still succeeds.
            run_tool(["taskkill", "/T", "/F", "/PID", str(proc.pid)], timeout=KILL_TIMEOUT)
        else:
            logger.warning("Not allowed to kill process %d", proc.pid)


# =================================================================================================
# Robot environments: the packages a robot declares, installed once per machine
# =================================================================================================
# A robot that declares dependencies runs with a folder of packages of its own, built by pip or uv
# (`install --target`) when a job first needs it and shared by every robot, account and job of the
# machine that declares the same set for the same interpreter. The bootstrap puts that folder right
# after the robot's own folder on sys.path (its .pth files processed), so the robot's versions win over
# the base interpreter's. Why --target and not a venv: the embeddable CPython has no venv module, and
# a folder of packages works with any interpreter the robot runs with.
ENV_MARKER = ".robot-env.json"  # written into a build before it is renamed into place: present = complete
ENV_REQUIREMENTS = ".robot-env-requirements.txt"  # what was asked for, kept in the environment
ENV_BUILD_LOG = "environment.log"  # in the job folder: the installer's output
ENV_PACKAGES = "ROBOT_PACKAGES_DIR"  # the robot's environment, read by the bootstrap
ENV_INSTALLERS = CONFIG_KEYS["robot"]["installer"].choices
ENV_STALE_BUILD_DAYS = 1  # an abandoned build folder older than this is removed at start
PEP723_BLOCK = re.compile(r"(?m)^# /// (?P<type>[a-zA-Z0-9-]+)$\s(?P<content>(^#(| .*)$\s)+)^# ///$")
# What names an interpreter's environments: an expression of sys and os only (no sysconfig import at each
# job start); the platform as sysconfig.get_platform() spells it on Windows and Linux.
INTERPRETER_FACTS = ("{'implementation': sys.implementation.name, 'version': '%d.%d.%d' % sys.version_info[:3], "
                     "'platform': (('win-arm64' if '(arm64)' in sys.version.lower() else 'win-amd64' if 'amd64' in "
                     "sys.version.lower() else 'win32') if os.name == 'nt' else sys.platform + '-' "
                     "+ os.uname().machine), 'abiflags': getattr(sys, 'abiflags', '')}")
_interpreters: dict[str, dict[str, Any]] = {}  # robot interpreter -> its facts, asked once per run


class EnvBuildError(Exception):
    """An environment could not be built; the message names the cause, `tail` is the installer's last lines."""

    def __init__(self, message: str, tail: str = "") -> None:
        super().__init__(message)
        self.tail = tail


class RobotEnvironment(NamedTuple):
    """The packages one robot declares, and the folder on this machine that holds them (built or not)."""

    robot: str  # the robot's name, for messages
    declared_in: str  # where: requirements.txt, pyproject.toml, the PEP 723 block of a file
    requirements: list[str]  # normalised, sorted
    python: str  # the robot's interpreter
    facts: dict[str, Any]  # its implementation, version, platform (and whether it has pip)
    path: str  # <envs_dir>/<key>

    @property
    def key(self) -> str:
        return os.path.basename(self.path)

    @classmethod
    def for_robot(cls, cfg: Config, robot: str, target: str) -> Optional[RobotEnvironment]:
        """The environment the robot at `target` (its file or folder) declares, or None.

        Raises ValueError (the job fails with it) for a declaration that cannot be read, one made in
        two places, or a requires-python the robot's interpreter does not meet.
        """
        declared = read_declaration(target)
        if declared is None:
            return None
        source, requirements, requires_python = declared
        python = cfg.python or default_robot_python()
        facts = interpreter_facts(python)
        if requires_python and not python_satisfies(facts["version"], requires_python):
            raise ValueError(f"robot {robot!r} requires Python {requires_python} ({source}), but its interpreter "
                             f"{python} is Python {facts['version']}")
        if not requirements:
            return None  # requires-python alone: checked, nothing to install
        identity = {"requirements": requirements, "implementation": facts["implementation"],
                    "python": ".".join(facts["version"].split(".")[:2]), "platform": facts["platform"],
                    "abiflags": facts["abiflags"]}
        key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode("utf-8")).hexdigest()[:20]
        return cls(robot, source, requirements, python, facts, os.path.join(cfg.envs_dir, key))

    @property
    def marker(self) -> str:
        return os.path.join(self.path, ENV_MARKER)

    def ready(self) -> Optional[dict[str, Any]]:
        """The marker of a complete, undamaged environment, or None: what a build wrote is all still there."""
        marker = load_json_or_none(self.marker)
        if not isinstance(marker, dict) or marker.get("requirements") != self.requirements:
            return None
        try:
            present = set(os.listdir(self.path))
        except OSError:
            return None
        entries = marker.get("entries")
        if not isinstance(entries, list) or not set(entries) <= present:
            return None  # a package folder deleted or quarantined (antivirus): built again
        return marker

    def mark_used(self) -> None:
        """The marker's time is the last use: housekeeping removes what stays unused for env_keep_days."""
        with contextlib.suppress(OSError):
            os.utime(self.marker)

    def describe(self, marker: dict[str, Any], built_by: str) -> str:
        """One job log line: built by this job, or reused."""
        count = marker.get("packages", "?")
        packages = f"{count} package{'' if count == 1 else 's'}"
        if marker.get("built_by") == built_by:
            return (f"Environment for {self.robot!r} built in {marker.get('seconds', 0):.1f} s "
                    f"({marker.get('installer', '?')}, {packages})")
        return f"Environment for {self.robot!r} reused ({packages}, {self.path})"


def read_declaration(target: str) -> Optional[tuple[str, list[str], Optional[str]]]:
    """(where, requirements, requires-python) that the robot at `target` declares, or None.

    A folder robot: requirements.txt, [project] dependencies of pyproject.toml, or a PEP 723 block in
    __main__.py; a single-file robot: a PEP 723 block. Dependencies in two places are an error.
    """
    found: list[tuple[str, Optional[list[str]], Optional[str]]] = []
    if os.path.isdir(target):
        requirements_txt = os.path.join(target, "requirements.txt")
        if os.path.isfile(requirements_txt):
            found.append(("requirements.txt", parse_requirements_file(read_text(requirements_txt),
                                                                      "requirements.txt"), None))
        pyproject = os.path.join(target, "pyproject.toml")
        if os.path.isfile(pyproject):
            project = load_toml(read_text(pyproject), "pyproject.toml").get("project")
            if isinstance(project, dict):
                found.append(("pyproject.toml", *project_dependencies(project, "pyproject.toml [project]")))
        script = os.path.join(target, "__main__.py")
    else:
        script = target
    block = pep723_block(script)
    if block is not None:
        where = f"the '# /// script' block of {os.path.basename(script)}"
        found.append((where, *project_dependencies(block, where)))
    declaring = [where for where, requirements, _ in found if requirements is not None]
    if len(declaring) > 1:
        raise ValueError(f"dependencies are declared in {' and in '.join(declaring)}; declare them in one place")
    pythons = {spec for _, _, spec in found if spec}
    if len(pythons) > 1:
        raise ValueError(f"requires-python is declared twice, differently: {' and '.join(sorted(pythons))}")
    if not declaring and not pythons:
        return None
    requirements = next((r for _, r, _ in found if r is not None), [])
    return (declaring[0] if declaring else "requires-python"), requirements, next(iter(pythons), None)


def read_text(path: str) -> str:
    with open(path, encoding="utf-8-sig") as f:  # -sig: Notepad may save a BOM
        return f.read().replace("\r\n", "\n")


def pep723_block(script: str) -> Optional[dict[str, Any]]:
    """The script's `# /// script` metadata (PEP 723), or None. Cheap for a robot without one."""
    try:
        with open(script, "rb") as f:
            data = f.read()
    except OSError:
        return None
    if b"# /// script" not in data:
        return None
    text = data.decode("utf-8-sig", errors="replace").replace("\r\n", "\n")
    blocks = [m for m in PEP723_BLOCK.finditer(text) if m.group("type") == "script"]
    if len(blocks) > 1:
        raise ValueError(f"{os.path.basename(script)} has more than one '# /// script' block")
    if not blocks:
        return None
    content = "".join(line[2:] if line.startswith("# ") else line[1:]
                      for line in blocks[0].group("content").splitlines(keepends=True))
    return load_toml(content, f"the '# /// script' block of {os.path.basename(script)}")


def load_toml(text: str, where: str) -> dict[str, Any]:
    """TOML with the standard library's tomllib (Python 3.11+), or tomli before it (requirements.txt)."""
    try:
        import tomllib
    except ImportError:
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ImportError:
            raise ValueError(f"{where}: reading TOML needs Python 3.11 or the tomli package "
                             f"(pip install -r requirements.txt installs it)") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"{where} is not valid TOML: {e}") from None


def project_dependencies(table: dict[str, Any], where: str) -> tuple[Optional[list[str]], Optional[str]]:
    """(dependencies or None when absent, requires-python or None) of a [project] table or PEP 723 block."""
    dependencies = table.get("dependencies")
    requires_python = table.get("requires-python")
    if dependencies is not None and (not isinstance(dependencies, list)
                                     or not all(isinstance(d, str) for d in dependencies)):
        raise ValueError(f"{where}: dependencies must be a list of strings")
    if requires_python is not None and not isinstance(requires_python, str):
        raise ValueError(f"{where}: requires-python must be a string")
    if dependencies is None:
        return None, requires_python
    return sorted({normalize_requirement(d, where) for d in dependencies}), requires_python


def parse_requirements_file(text: str, where: str) -> list[str]:
    """Requirement lines of a requirements file; option lines (-r, --index-url, -e) are refused: the
    machine's sources are the framework's ([robot] index_url, find_links). `--hash` on a line is kept."""
    requirements = set()
    for number, raw in enumerate(text.replace("\\\n", "").splitlines(), 1):
        line = re.sub(r"(^|\s)#.*", "", raw).strip()
        if not line:
            continue
        if line.startswith("-"):
            raise ValueError(f"{where} line {number}: {clean(line, 60)!r}: option lines are not supported; the "
                             f"package sources are [robot] index_url and find_links of the framework's config")
        requirements.add(normalize_requirement(line, where))
    return sorted(requirements)


def normalize_requirement(text: str, where: str) -> str:
    """One PEP 508 requirement, spelled one way: white space folded, the project name normalised (PEP 503)."""
    text = " ".join(str(text).split())
    name = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", text)
    if not name:
        raise ValueError(f"{where}: {clean(text, 60)!r} is not a requirement (name[extras][version][; marker])")
    return re.sub(r"[-_.]+", "-", name.group(0)).lower() + text[name.end():]


def python_satisfies(version: str, specifier: str) -> bool:
    """Whether a Python version (3.11.7) meets a requires-python specifier (>=3.10,<4 and the like)."""
    have = version_numbers(version)
    for clause in filter(None, (c.strip() for c in specifier.split(","))):
        match = re.fullmatch(r"(~=|===|==|!=|<=|>=|<|>)\s*(\d+(?:\.\d+)*)(\.\*)?", clause)
        if not match:
            raise ValueError(f"requires-python {specifier!r}: cannot read {clause!r}")
        op, wanted, wildcard = match.groups()
        want = version_numbers(wanted)
        if wildcard:
            if op not in ("==", "!="):
                raise ValueError(f"requires-python {specifier!r}: {clause!r} is not a valid specifier")
            ok = (have[:len(want)] == want) == (op == "==")
        else:
            width = max(len(have), len(want))
            h, w = have + (0,) * (width - len(have)), want + (0,) * (width - len(want))
            ok = {"==": h == w, "===": h == w, "!=": h != w, "<=": h <= w, ">=": h >= w, "<": h < w, ">": h > w,
                  "~=": h >= w and have[:len(want) - 1] == want[:len(want) - 1]}[op]
        if not ok:
            return False
    return True


def version_numbers(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text.split("+", maxsplit=1)[0])[:3])


def interpreter_facts(python: str) -> dict[str, Any]:
    """Implementation, version and platform of the robot's interpreter: this one's without a process
    start; another's asked once per run (the environment's name depends on them)."""
    if python in _interpreters:
        return _interpreters[python]
    if os.path.realpath(python) in (os.path.realpath(sys.executable), os.path.realpath(default_robot_python())):
        facts = eval(INTERPRETER_FACTS, {"sys": sys, "os": os})  # whether it has pip: asked when building
    else:
        probe = (f"import importlib.util, json, os, sys; f = {INTERPRETER_FACTS}; "
                 f"f['pip'] = importlib.util.find_spec('pip') is not None; print(json.dumps(f))")
        code, output = run_tool([python, "-c", probe], timeout=60)
        try:
            facts = parse_json(output)
            assert isinstance(facts, dict) and isinstance(facts.get("version"), str)
        except (ValueError, AssertionError):
            raise OSError(f"cannot ask the robot interpreter {python} for its version (exit code {code}: "
                          f"{clean(output, 200)})") from None
    _interpreters[python] = facts
    return facts


# --- building -------------------------------------------------------------------------------------
def build_environment(cfg: Config, env: RobotEnvironment, log: Any, job: str,
                      cancel: Optional[threading.Event] = None) -> dict[str, Any]:
    """Build `env` unless it is ready; returns its marker. Machine-wide, one build per environment.

    Waits for another process building the same environment (then reuses it). The build goes into a
    folder beside the final one, renamed into place only when complete, with the marker inside: a build
    killed at any point leaves a folder that is never used and is removed by the next build.
    Raises EnvBuildError when the installer fails, LockTimeout when `cancel` was set while it waited.
    `log`: the installer's output (a binary file); `job`: the job GUID (the installer's kill marker), or
    a label.
    """
    create_envs_dir(cfg.envs_dir)
    with machine_lock(f"robot_framework-env-{env.key}", cfg.envs_dir, None, cancel):
        marker = env.ready()
        if marker is not None:
            return marker
        remove_leftovers(env)
        build = f"{env.path}.build-{os.getpid()}"
        os.makedirs(build)
        requirements = os.path.join(build, ENV_REQUIREMENTS)
        with open(requirements, "w", encoding="utf-8") as f:
            f.write("".join(r + "\n" for r in env.requirements))
        installer, command, extra = installer_command(cfg, env, build, requirements)
        started = time.monotonic()
        log.write(f"robot_framework: building {env.path} for {env.robot!r} with {installer}: "
                  f"{' '.join(command)}\n".encode())
        log.flush()
        code = run_installer(command, {**extra, ENV_JOB_GUID: job}, log)
        if code != 0:
            shutil.rmtree(build, ignore_errors=True)
            raise EnvBuildError(f"{installer} exited with code {code}")
        marker = {"requirements": env.requirements, "installer": installer, "python": env.facts,
                  "seconds": round(time.monotonic() - started, 1), "built_by": job,
                  "built_at": datetime.datetime.now().isoformat(timespec="seconds"),
                  "packages": sum(name.endswith(".dist-info") for name in os.listdir(build)),
                  "entries": sorted(os.listdir(build))}
        write_json_atomically(os.path.join(build, ENV_MARKER), marker)
        retry_while_held(os.rename, build, env.path)  # the commit: the final name only ever holds a whole build
        fsync_folder(cfg.envs_dir)
        return marker


def create_envs_dir(folder: str) -> None:
    """Windows: the default %ProgramData% folder is shared by every robot account of the machine, but
    a folder made there belongs to its creator; the other accounts are given modify rights on it (and
    what it will hold), so any of them can build, reuse and remove environments. An envs_dir that
    exists already is left as its administrator set it."""
    if os.path.isdir(folder):
        return
    os.makedirs(folder, exist_ok=True)
    if IS_WINDOWS:
        code, output = run_tool(["icacls", folder, "/grant", "*S-1-5-32-545:(OI)(CI)M"])  # BUILTIN\Users
        if code != 0:
            logger.warning("Could not let other accounts use %s (icacls: %s)", folder, output)


def remove_leftovers(env: RobotEnvironment) -> None:
    """Under the environment's lock: a damaged folder and builds killed half-way go (none is in use)."""
    parent, key = os.path.split(env.path)
    for name in os.listdir(parent):
        if name.startswith(f"{key}.build-") or name.startswith(f"{key}.trash-"):
            shutil.rmtree(os.path.join(parent, name), ignore_errors=True)
    if os.path.lexists(env.path):
        discard_folder(env.path)


def discard_folder(path: str) -> None:
    """Renamed aside (<path>.trash-<pid>), then deleted: a half-deleted folder is never seen under its own
    name. Windows refuses the rename while a robot has a file of it open: OSError, and it stays."""
    aside = path if ".trash-" in os.path.basename(path) else f"{path}.trash-{os.getpid()}"
    if aside != path:
        retry_while_held(os.rename, path, aside)
    shutil.rmtree(aside, ignore_errors=True)


def installer_command(cfg: Config, env: RobotEnvironment, target: str,
                      requirements: str) -> tuple[str, list[str], dict[str, str]]:
    """(installer name, command, environment additions) that installs `requirements` into `target`.

    index_url goes through the environment, not the command line: it may hold a password, and every
    account of a terminal server can read every process's command line.
    """
    uv = find_uv() if cfg.installer in ("auto", "uv") else None
    if cfg.installer == "uv" and uv is None:
        raise EnvBuildError("[robot] installer = uv, but uv is neither on PATH nor installed beside the "
                                "framework (pip install uv)")
    sources: list[str] = []
    if cfg.find_links:
        sources += ["--find-links", cfg.find_links]
        if not cfg.index_url:
            sources.append("--no-index")  # an offline machine: the folder of wheels is all there is
    if uv is not None:
        extra = {"UV_DEFAULT_INDEX": cfg.index_url} if cfg.index_url else {}
        return "uv", [uv, "pip", "install", "--target", target, "--python", env.python, "--no-progress",
                      *sources, "-r", requirements], extra
    # pip: the robot interpreter's own, else the framework's, run for the robot's interpreter (pip --python;
    # the embeddable CPython has no pip of its own).
    if env.facts["pip"] if "pip" in env.facts else importlib_spec("pip"):
        pip = [env.python, "-m", "pip"]
    elif importlib_spec("pip"):
        pip = [default_robot_python(), "-m", "pip", "--python", env.python]
    else:
        raise EnvBuildError(f"no installer: neither the robot interpreter {env.python} nor the framework's "
                                f"{sys.executable} has pip, and uv is not installed")
    extra = {"PIP_INDEX_URL": cfg.index_url} if cfg.index_url else {}
    return "pip", [*pip, "install", "--target", target, "--no-input", "--disable-pip-version-check",
                   "--no-warn-script-location", "--progress-bar", "off", *sources, "-r", requirements], extra


def importlib_spec(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def find_uv() -> Optional[str]:
    """The uv executable: on PATH, or installed beside the framework (the uv package's scripts folder)."""
    found = shutil.which("uv")
    if found:
        return found
    import sysconfig

    candidate = os.path.join(sysconfig.get_path("scripts"), "uv.exe" if IS_WINDOWS else "uv")
    return candidate if os.path.isfile(candidate) else None


def installer_name(cfg: Config) -> str:
    return "uv" if cfg.installer == "uv" or (cfg.installer == "auto" and find_uv()) else "pip"


def run_installer(command: list[str], extra: dict[str, str], log: Any) -> int:
    """The installer, its output into `log`; no window, no stdin, no robot GUID. It carries the job's
    marker (in `extra`), so the job's kill routine finds its whole tree."""
    options: dict[str, Any] = ({"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.CREATE_NO_WINDOW}
                               if IS_WINDOWS else {"start_new_session": True})
    env = {**os.environ, **extra}
    env.pop(ENV_ROBOT_GUID, None)
    try:
        return subprocess.call(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                env=env, **options)
    except OSError as e:
        raise EnvBuildError(f"cannot run the installer {command[0]}: {describe_os_error(e)}") from None


def installer_tail(path: str) -> tuple[str, str]:
    """(the installer's error line, its last lines) from the job's environment.log."""
    tail = output_tail(path)
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    errors = [line for line in lines if re.match(r"(ERROR|error)\b", line)]
    return (errors or lines or ["no output"])[-1], tail


def url_password(url: str) -> str:
    """The password of a URL (https://user:password@host/...), or ''."""
    try:
        return urlsplit(url).password or ""
    except ValueError:
        return ""


def redact_url(url: str) -> str:
    password = url_password(url)
    return url.replace(f":{password}@", ":****@") if password else url


# --- a job's build, --prepare-envs, housekeeping ----------------------------------------------------
class EnvironmentBuild:
    """A job's environment build, on a thread of its own ("env-build"), so supervision never waits on it.

    Shaped like the robot's Popen for the supervision loop (poll, wait, returncode: 0 ready, 1 not), so
    heartbeats go on and Abort, Stop and job_timeout apply as to a robot: the installer carries the
    job's marker, so the job's kill routine kills its whole tree; cancel() ends a wait for another
    account's build of the same environment. The installer's output goes to the job's environment.log.
    """

    def __init__(self, cfg: Config, env: RobotEnvironment, log_path: str, job_guid: str) -> None:
        self.cfg, self.env, self.log_path, self.job_guid = cfg, env, log_path, job_guid
        self.returncode: Optional[int] = None
        self.marker: Optional[dict[str, Any]] = None  # the environment's, once it is ready
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"env-build-{env.key}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            with open(self.log_path, "ab") as log:
                try:
                    self.marker = build_environment(self.cfg, self.env, log, self.job_guid, self._cancel)
                    self.returncode = 0
                except (EnvBuildError, OSError, LockTimeout) as e:
                    if not isinstance(e, LockTimeout):  # cancelled: the job ended while another account built
                        log.write(f"robot_framework: the environment could not be built: {clean(e, 500)}\n".encode())
        except Exception:  # a bug here must fail the job, never hang it
            logger.exception("Building the environment %s failed unexpectedly", self.env.path)
        finally:
            mask_file(self.log_path, self.cfg.secrets)
            if self.returncode is None:
                self.returncode = 1

    def poll(self) -> Optional[int]:
        return self.returncode

    def wait(self, timeout: Optional[float] = None) -> Optional[int]:
        self._thread.join(timeout)
        return self.returncode

    def cancel(self) -> None:
        self._cancel.set()


def mask_file(path: str, secrets: list[str]) -> None:
    """The installer's output, with a password it may have printed masked (pip and uv mask their own)."""
    secrets = [s for s in secrets if s]
    if not secrets:
        return
    with contextlib.suppress(OSError):
        text = read_text(path)
        masked = mask_secrets(text, secrets)
        if masked != text:
            with open(path, "w", encoding="utf-8") as f:
                f.write(masked)


def prepare_envs(cfg: Config, names: list[str]) -> int:
    """--prepare-envs [NAME ...]: build every declared environment (or the named robots'), one line each."""
    robots = names or sorted(declaring_robots(cfg.scripts_dir))
    if not robots:
        print(f"no robot in {cfg.scripts_dir} declares dependencies")
        return EXIT_OK
    failed = []
    log_path = os.path.join(cfg.log_dir, "prepare-envs.log")
    os.makedirs(cfg.log_dir, exist_ok=True)
    for name in robots:
        started = time.monotonic()
        try:
            script_args, _ = resolve_robot_script(cfg.scripts_dir, name)
            env = RobotEnvironment.for_robot(cfg, name, script_args[0])
            if env is None:
                print(f"{name}: declares no dependencies; runs with {cfg.python or default_robot_python()}")
                continue
            already = env.ready() is not None
            with open(log_path, "ab") as log:
                marker = build_environment(cfg, env, log, "--prepare-envs")
            mask_file(log_path, cfg.secrets)
            what = "ready (already built)" if already else f"built in {time.monotonic() - started:.1f} s"
            print(f"{name}: {what} ({marker.get('installer')}, {marker.get('packages')} package(s)) in {env.path}",
                  flush=True)
        except (ValueError, OSError, EnvBuildError) as e:
            mask_file(log_path, cfg.secrets)
            reason = installer_tail(log_path)[0] if isinstance(e, EnvBuildError) else ""
            print(f"{name}: FAILED: {clean(e, 300)}{f': {reason}' if reason else ''} (see {log_path})", flush=True)
            failed.append(name)
    if failed:
        print(f"{len(failed)} of {len(robots)} environment(s) not built: {', '.join(failed)}")
        return EXIT_PREPARE_FAILED
    return EXIT_OK


def declaring_robots(scripts_dir: str) -> Iterator[str]:
    """Names of the robots in scripts_dir that declare something (folder robots and PEP 723 scripts)."""
    for folder, subfolders, names in os.walk(scripts_dir):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith((".", "_")))
        relative = os.path.relpath(folder, scripts_dir)
        if "__main__.py" in names and relative != ".":
            with contextlib.suppress(ValueError, OSError):
                if read_declaration(folder) is not None:
                    yield relative.replace(os.sep, "/")
            subfolders[:] = []
            continue
        for name in sorted(n for n in names if n.endswith(".py") and not n.startswith("_")):
            if pep723_block(os.path.join(folder, name)) is not None:
                yield os.path.join(relative, name[:-3]).replace(os.sep, "/").removeprefix("./")


def prune_environments(cfg: Config) -> None:
    """At start: environments unused for env_keep_days go, and builds abandoned for a day.

    Never one being built (its lock is held) nor, on Windows, one in use (its folder cannot be renamed
    while a robot has a file of it open); a robot's job start marks its environment used.
    """
    try:
        entries = list(os.scandir(cfg.envs_dir))
    except OSError:
        return  # no environment yet: nothing to do, and no cost
    now = time.time()
    for entry in entries:
        key, _, rest = entry.name.partition(".")
        kind = rest.split("-")[0] if rest else "environment"  # environment, build, trash (or a lock file)
        with contextlib.suppress(OSError, LockTimeout):
            if kind not in ("environment", "build", "trash") or not entry.is_dir():
                continue
            dated = os.path.join(entry.path, ENV_MARKER) if kind == "environment" else entry.path
            age_days = (now - os.stat(dated).st_mtime) / 86400
            if kind != "trash" and age_days <= (cfg.env_keep_days if kind == "environment" else ENV_STALE_BUILD_DAYS):
                continue
            with machine_lock(f"robot_framework-env-{key}", cfg.envs_dir, 0):
                discard_folder(entry.path)
            if kind == "environment":
                logger.info("Removed the environment %s (unused for %d days)", entry.path, age_days)


def describe_environments(cfg: Config) -> list[str]:
    """--check: one line per environment present (its size, its requirements, its last use)."""
    lines = []
    with contextlib.suppress(OSError):
        for entry in sorted(os.scandir(cfg.envs_dir), key=lambda e: e.name):
            marker = load_json_or_none(os.path.join(entry.path, ENV_MARKER)) if entry.is_dir() else None
            if not isinstance(marker, dict):
                continue
            size = sum(os.path.getsize(os.path.join(folder, name)) for folder, _, names in os.walk(entry.path)
                       for name in names)
            used = time.strftime("%Y-%m-%d", time.localtime(os.path.getmtime(os.path.join(entry.path, ENV_MARKER))))
            requirements = ", ".join(marker.get("requirements") or [])
            lines.append(f"{entry.name}  {size / MIB:.1f} MiB  last used {used}  {clean(requirements, 120)}")
    return lines


# =================================================================================================
# Evidence: where a hung robot was, what was on the screen, what it had running
# =================================================================================================
# Before a robot is killed for job_timeout, idle_timeout or a Stop past stop_timeout, the framework asks
# it for the Python stack of every thread (the bootstrap set that up: POSIX, a faulthandler on SIGUSR1;
# Windows, a thread blocked on a named event, which then dumps through faulthandler), captures the
# desktop (Windows) and lists the robot's processes; each goes into the job's log. A job that ends Failed
# gets the screenshot too. Abort kills at once: no evidence is waited for.
SCREENSHOT_FILE = "screenshot.png"  # in the job folder: the desktop before the kill, or when the job failed
ARTIFACTS_DIR = "artifacts"  # in the job folder: the robot's own evidence (rf.artifacts_dir(), rf.screenshot())
STACK_WAIT = 1.0  # seconds a robot gets to write its stack before it is killed anyway
STACK_LINES = 15  # frames of the main thread in the job log entry
FRAMEWORK_JOB_FILES = {LOG_OUTBOX, LOG_OUTBOX_DONE, "context.json", "settings.txt", "stop",
                       ENV_BUILD_LOG, SCREENSHOT_FILE}  # not the robot's progress (ProgressWatch)


def collect_evidence(cfg: Config, job: ConsumedJob, proc: subprocess.Popen, root: Optional[psutil.Process],
                     files: JobFiles, shipper: LogShipper, stack: bool) -> None:
    """The job's evidence, in its log: the stack and processes of a robot about to be killed (stack=True),
    and a screenshot when the config asks for them. Never raises: evidence must not cost the job its end."""
    try:
        if stack:
            shipper.add("error", robot_stack_entry(proc, files, cfg.scripts_dir))
        if cfg.screenshots == "on_failure" and IS_WINDOWS:
            reason = capture_screen(os.path.join(files.folder, SCREENSHOT_FILE))
            shipper.add("warning", f"no screenshot: {reason}" if reason else
                        f"Screenshot of the robot's desktop: {os.path.join(files.folder, SCREENSHOT_FILE)}")
        if stack:
            shipper.add("error", process_tree_entry(find_job_processes(job.guid, root)))
    except Exception:  # a bug here must not keep the robot alive or the status unsent
        logger.exception("Job %s: collecting the evidence failed", job.guid)


def robot_stack_entry(proc: subprocess.Popen, files: JobFiles, scripts_dir: str) -> str:
    """Ask the robot for its stack (at most STACK_WAIT seconds) and tell where its main thread was.

    The dump (faulthandler's: every thread, the oldest, the main thread, last) goes to the robot's output.
    """
    try:
        before = os.path.getsize(files.output)
    except OSError:
        before = 0
    try:
        if IS_WINDOWS:
            set_named_event(f"robot_framework-stack-{proc.pid}")
        else:
            os.kill(proc.pid, signal.SIGUSR1)  # the robot alone, not its children (they have no handler)
    except OSError as e:
        return f"The robot's stack could not be asked for: {describe_os_error(e)}"
    deadline, text, quiet = time.monotonic() + STACK_WAIT, "", 0
    while time.monotonic() < deadline and quiet < 3:  # complete once it stops growing
        time.sleep(0.02)
        grown = read_from(files.output, before)
        quiet = quiet + 1 if grown == text and "(most recent call first):" in grown else 0
        text = grown
    frames = main_thread_frames(text)
    if not frames:
        return (f"The robot did not tell where it was within {STACK_WAIT:g} s (it may be stuck outside Python, "
                f"or it replaced the framework's handler); it was killed anyway")
    return (f"The robot was here when it was stopped (innermost first; every thread in {files.output}):\n"
            + "\n".join(where_it_was(frames, scripts_dir)))


def read_from(path: str, offset: int, limit: int = MIB) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read(limit).decode("utf-8", errors="replace")
    except OSError:
        return ""


def main_thread_frames(dump: str) -> list[tuple[str, str, str]]:
    """(file, line, function) of the main thread, innermost first, from faulthandler's dump: it lists
    threads newest first (`Thread 0x… (most recent call first):`, then `  File "…", line N in name`), so
    the main thread is the last block."""
    blocks = re.split(r"^(?:Current thread|Thread) 0x[0-9a-f]+ \(most recent call first\):$", dump, flags=re.MULTILINE)
    if len(blocks) < 2:
        return []
    return re.findall(r'^  File "(.*)", line (\d+) in (.*)$', blocks[-1], re.MULTILINE)


def where_it_was(frames: list[tuple[str, str, str]], scripts_dir: str) -> list[str]:
    """At most STACK_LINES frames, the robot's own files first kept: the innermost library frames say what
    it waited on, the robot's frames say which line of it did."""
    root = os.path.realpath(scripts_dir)
    own = [i for i, (path, _, _) in enumerate(frames) if os.path.realpath(path).startswith(root + os.sep)]
    keep = set(range(min(3, len(frames))))  # what it waited on
    for i in [*own, *range(len(frames))]:
        if len(keep) < STACK_LINES:
            keep.add(i)
    lines = []
    for i in sorted(keep):
        path, line, function = frames[i]
        shown = os.path.relpath(path, root) if i in own else path
        lines.append(f'  File "{shown}", line {line}, in {function}')
    if len(frames) > len(lines):
        lines.append(f"  ... ({len(frames) - len(lines)} more frames in the file)")
    return lines


def set_named_event(name: str) -> None:
    """Windows: signal the event a robot's bootstrap thread waits on (it then dumps the robot's stack)."""
    import ctypes

    kernel32 = windows_api().kernel32
    handle = kernel32.OpenEventW(0x0002, False, name)  # EVENT_MODIFY_STATE
    if not handle:
        raise OSError(ctypes.get_last_error(), f"the robot has no event {name} (it has not started the "
                                               f"framework's bootstrap, or is not a Python robot)")
    try:
        kernel32.SetEvent(handle)
    finally:
        kernel32.CloseHandle(handle)


def process_tree_entry(procs: list[psutil.Process]) -> str:
    """The robot's processes as a tree: name, pid, CPU seconds, memory, age; so a hung child shows."""
    now = time.time()
    info: dict[int, tuple[int, str]] = {}
    for proc in procs:
        with contextlib.suppress(*PROCESS_ERRORS):
            cpu = sum(proc.cpu_times()[:2])
            rss = proc.memory_info().rss / MIB
            line = (f"{process_name(proc)} (pid {proc.pid}, {cpu:.1f} s CPU, {rss:.0f} MiB, "
                    f"{now - proc.create_time():.0f} s old)")
            info[proc.pid] = (proc.ppid(), line)
    if not info:
        return "The robot's processes when it was stopped: none left"
    lines: list[str] = []

    def add(pid: int, depth: int) -> None:
        lines.append("  " * depth + ("└ " if depth else "") + info[pid][1])
        for child in sorted(p for p, (parent, _) in info.items() if parent == pid and p != pid):
            add(child, depth + 1)

    for pid in sorted(p for p, (parent, _) in info.items() if parent not in info or parent == p):
        add(pid, 0)
    return "The robot's processes when it was stopped:\n" + "\n".join(lines)


def capture_screen(path: str) -> Optional[str]:
    """Windows: the whole (virtual) desktop as a PNG at `path`, through GDI; None when written, else why not.

    A locked or disconnected session, a service without a desktop, or a capture that comes out uniformly
    black all mean the same to an operator: the desktop was not there to be seen."""
    if not IS_WINDOWS:
        return "screenshots are taken on Windows only"
    import ctypes
    from ctypes import wintypes

    user32, gdi32 = windows_api().user32, windows_api().gdi32
    x, y = user32.GetSystemMetrics(76), user32.GetSystemMetrics(77)  # SM_XVIRTUALSCREEN, SM_YVIRTUALSCREEN
    width, height = user32.GetSystemMetrics(78), user32.GetSystemMetrics(79)  # SM_CXVIRTUALSCREEN, ...CY...
    unavailable = "the session's desktop is not available (locked or disconnected)"
    if width <= 0 or height <= 0:
        return unavailable
    screen = user32.GetDC(None)
    if not screen:
        return unavailable
    memory = gdi32.CreateCompatibleDC(screen)
    bitmap = gdi32.CreateCompatibleBitmap(screen, width, height)
    try:
        if not memory or not bitmap:
            return unavailable
        gdi32.SelectObject(memory, bitmap)
        if not gdi32.BitBlt(ctypes.c_void_p(memory), 0, 0, width, height, ctypes.c_void_p(screen), x, y,
                            0x00CC0020 | 0x40000000):  # SRCCOPY | CAPTUREBLT
            return unavailable

        class BitmapInfoHeader(ctypes.Structure):
            _fields_ = [("biSize", wintypes.DWORD), ("biWidth", wintypes.LONG), ("biHeight", wintypes.LONG),
                        ("biPlanes", wintypes.WORD), ("biBitCount", wintypes.WORD),
                        ("biCompression", wintypes.DWORD), ("biSizeImage", wintypes.DWORD),
                        ("biXPelsPerMeter", wintypes.LONG), ("biYPelsPerMeter", wintypes.LONG),
                        ("biClrUsed", wintypes.DWORD), ("biClrImportant", wintypes.DWORD)]

        header = BitmapInfoHeader(ctypes.sizeof(BitmapInfoHeader), width, -height, 1, 32, 0, 0, 0, 0, 0, 0)
        pixels = ctypes.create_string_buffer(width * height * 4)  # top-down BGRA rows
        if gdi32.GetDIBits(ctypes.c_void_p(memory), ctypes.c_void_p(bitmap), 0, height, pixels,
                           ctypes.byref(header), 0) != height:
            return unavailable
    finally:
        if bitmap:
            gdi32.DeleteObject(bitmap)
        if memory:
            gdi32.DeleteDC(memory)
        user32.ReleaseDC(None, screen)
    bgra = pixels.raw
    rgb = bytearray(width * height * 3)
    rgb[0::3], rgb[1::3], rgb[2::3] = bgra[2::4], bgra[1::4], bgra[0::4]
    if not bytes(rgb).strip(b"\x00"):
        return f"{unavailable}: the capture came out black"
    try:
        with open(path, "wb") as f:
            f.write(png(width, height, bytes(rgb)))
    except OSError as e:
        return f"the screenshot could not be written: {describe_os_error(e)}"
    return None


def png(width: int, height: int, rgb: bytes) -> bytes:
    """An 8-bit RGB PNG of `rgb` (rows top-down), with zlib: no imaging library needed."""
    import struct
    import zlib

    row = width * 3
    raw = b"".join(b"\x00" + rgb[i:i + row] for i in range(0, len(rgb), row))  # filter type 0 per row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


# =================================================================================================
# Running one job: its folder, and the robot's start
# =================================================================================================
class JobFiles(NamedTuple):
    folder: str
    context: str
    output: str
    stop: str
    robot_log: str  # log() entries waiting to be shipped to the Orchestrator
    settings: str  # the vendor framework's three-line settings file, for robots written for it
    tasks: str  # the task ledger (TASKS_LEDGER)
    env_log: str  # the installer's output (ENV_BUILD_LOG)
    artifacts: str  # the robot's own evidence (ARTIFACTS_DIR), made when the robot first asks for it


def resolve_robot_script(scripts_dir: str, name: str) -> tuple[list[str], str]:
    """Map the untrusted ProcessVersion name to (arguments after python, working folder).

    A name may hold subfolders, `\\` or `/` separated (the vendor framework's convention:
    `billing\\monthly\\close_books`); every part is checked on its own. Raises ValueError with the reason
    when the name is unsafe or names nothing.
    """
    if not name or name != name.strip():
        raise ValueError(f"robot name {clean(name)!r} is empty or has surrounding spaces")
    parts = re.split(r"[\\/]", name)
    for part in parts:
        check_name_part(name, part)
    root = os.path.realpath(scripts_dir)
    *folders, last = parts
    file_name = last if last.lower().endswith(".py") else last + ".py"
    candidates = [os.path.join(root, *folders, file_name), os.path.join(root, *folders, last, "__main__.py")]
    for candidate in candidates:
        real = os.path.realpath(candidate)
        # A symlink or junction inside scripts_dir must not lead out of it.
        if os.path.commonpath([root, real]) != root:
            raise ValueError(f"robot {clean(name)!r} resolves outside scripts_dir")
        if os.path.isfile(real):
            if os.path.basename(real) == "__main__.py":
                folder = os.path.dirname(real)
                return [folder], folder  # python runs a folder's __main__.py
            return [real], os.path.dirname(real)
    shown = os.path.join(*folders, file_name)
    raise ValueError(f"robot script {clean(name)!r} not found: neither {shown} nor "
                     f"{os.path.join(*folders, last, '__main__.py')} in {root}")


def check_name_part(name: str, part: str) -> None:
    """One folder or file name of a robot name: plain, relative, not a device."""
    if not part:
        raise ValueError(f"robot name {clean(name)!r} is absolute or has an empty path part")
    if re.search(r"[\x00-\x1f\x7f:*?\"<>|]", part):
        raise ValueError(f"robot name {clean(name)!r} contains a drive, wildcard or control character")
    if part in (".", "..") or part.startswith(".") or part.endswith(".") or part != part.strip():
        raise ValueError(f"robot name {clean(name)!r} has a part that is not a plain file name: {clean(part)!r}")
    if part.split(".", maxsplit=1)[0].upper() in WINDOWS_RESERVED_NAMES:
        raise ValueError(f"robot name {clean(name)!r} names a Windows device ({clean(part)!r})")


def job_folder_path(cfg: Config, job: ConsumedJob) -> str:
    """<log_dir>/jobs/<time>_<job GUID>: sorted by name is sorted by age (pruning, backlog order)."""
    safe_guid = re.sub(r"[^A-Za-z0-9-]", "_", job.guid)[:64]
    return os.path.join(cfg.log_dir, "jobs", f"{time.strftime('%Y%m%d-%H%M%S')}_{safe_guid}")


def prepare_job_folder(cfg: Config, job: ConsumedJob, folder: str) -> JobFiles:
    os.makedirs(folder, exist_ok=True)
    files = JobFiles(folder, os.path.join(folder, "context.json"), os.path.join(folder, "output.log"),
                     os.path.join(folder, "stop"), os.path.join(folder, ROBOT_LOG),
                     os.path.join(folder, "settings.txt"), os.path.join(folder, TASKS_LEDGER),
                     os.path.join(folder, ENV_BUILD_LOG), os.path.join(folder, ARTIFACTS_DIR))
    with contextlib.suppress(FileNotFoundError):
        os.remove(files.stop)
    # Written in place: only the robot reads it, once it is started, and a crash makes the job folder history.
    with open(files.context, "w", encoding="utf-8") as f:
        f.write(json.dumps({"job": job.job, "process_version": job.process_version, "task": job.task}))
    # Vendor robots read the robot GUID, host and logoff flag from this file. It holds the GUID, as
    # config.ini does, so it lives only while the job runs (removed by remove_vendor_settings).
    with open(files.settings, "w", encoding="utf-8") as f:
        f.write(f"{cfg.robot_guid}\n{cfg.host}\n{int(cfg.logoff)}\n")
    return files


def vendor_argument(job: ConsumedJob, files: JobFiles) -> str:
    """sys.argv[1] as the vendor's framework passes it: process version GUID|job GUID|task GUID|settings file.

    The third item is undocumented by the vendor; we pass the GUID of the job's Task (empty without one).
    '|' and control characters are taken out of the Orchestrator's values, so the split stays four items.
    """
    version = job.process_version if isinstance(job.process_version, dict) else {}
    task = job.task if isinstance(job.task, dict) else {}
    items = [field_of(version, "guid"), job.guid, field_of(task, "guid"), files.settings]
    return "|".join(re.sub(r"[|\x00-\x1f\x7f]", "", str(item or "")) for item in items)


def remove_vendor_settings(files: Optional[JobFiles]) -> None:
    if files is not None:
        with contextlib.suppress(OSError):
            os.remove(files.settings)


def remove_stale_vendor_settings(cfg: Config) -> None:
    """At start no robot runs: a settings file (it holds the GUID) left by a crash mid-job goes now."""
    for path in files_in_job_folders(cfg, "settings.txt"):
        with contextlib.suppress(OSError):
            os.remove(path)


def files_in_job_folders(cfg: Config, name: str) -> list[str]:
    """<log_dir>/jobs/*/<name> that exist, oldest job first (folder names start with the time).

    The job folders are listed once per run and name: later only this run's job folders can add such a
    file (the single-instance lock keeps every other framework out of this log_dir), so between jobs
    finding what earlier jobs left undelivered costs a stat per folder that held one at the last look or
    is newer (note_job_folder), not a directory scan, and nothing when nothing is left undelivered.
    """
    with _job_folders_lock:  # the log shipper's thread looks too
        if name not in _job_folder_files:
            jobs_dir = os.path.join(cfg.log_dir, "jobs")
            try:
                _job_folder_files[name] = {entry.path for entry in os.scandir(jobs_dir) if entry.is_dir()}
            except OSError:
                _job_folder_files[name] = set()
        candidates = set(_job_folder_files[name])
    found = sorted(folder for folder in candidates if os.path.exists(os.path.join(folder, name)))
    with _job_folders_lock:  # a folder noted meanwhile stays
        _job_folder_files[name] = (_job_folder_files[name] - candidates) | set(found)
    return [os.path.join(folder, name) for folder in found]


def note_job_folder(folder: str) -> None:
    """A new job folder: where later looks for what its job leaves undelivered must go."""
    with _job_folders_lock:
        for folders in _job_folder_files.values():
            folders.add(folder)


_job_folder_files: dict[str, set[str]] = {}  # name -> job folders that held it at the last look, or are newer
_job_folders_lock = threading.Lock()


def is_cleartext(host: str) -> bool:
    """http:// to anything but this machine (loopback: the local emulator, a local proxy)."""
    parts = urlsplit(host)
    hostname = parts.hostname or ""
    return parts.scheme == "http" and not (hostname in ("localhost", "::1") or hostname.startswith("127."))


def prune_job_folders(folder: str, keep: int) -> None:
    """Keep the newest `keep` job folders, the running job's (`folder`) always among them (names sort by
    the second, not within one); a folder whose task ledger or log outbox still has records to deliver
    stays. Run while the job's robot boots: a folder's removal costs the time between two jobs nothing."""
    jobs_dir, running = os.path.split(folder)
    with os.scandir(jobs_dir) as entries:  # the entries' types come with the listing: no stat per folder
        older = sorted(entry.name for entry in entries if entry.is_dir() and entry.name != running)
    for old in older[:max(0, len(older) - (keep - 1))]:
        if os.path.exists(os.path.join(jobs_dir, old, TASKS_LEDGER)):
            continue  # task outcomes still to deliver
        outbox = os.path.join(jobs_dir, old, LOG_OUTBOX)
        with contextlib.suppress(OSError):
            if time.time() - os.path.getmtime(outbox) < OUTBOX_GIVE_UP_DAYS * 86400:
                continue  # log entries still to deliver (an older outbox is dropped by the backlog round)
        shutil.rmtree(os.path.join(jobs_dir, old), ignore_errors=True)


# The job's own variables in a robot's environment (robot_variables adds them to what every robot has).
JOB_VARIABLES = (ENV_JOB_GUID, ENV_JOB_NAME, ENV_CONTEXT_FILE, ENV_STOP_FILE, ENV_TASKS_FILE, ENV_ARTIFACTS_DIR,
                 ENV_LOG_FILE, ENV_PACKAGES, ENV_JOB_OBJECT)


def robot_variables(cfg: Config, job_values: Optional[dict[str, str]] = None) -> dict[str, str]:
    """A robot's environment: the framework's, less what must not reach a robot, plus the robot API's
    variables; job_values are the job's own (JOB_VARIABLES), none for a spare interpreter."""
    env = dict(os.environ)
    # No robot GUID in the environment: a robot that prints its environment (a common debugging step)
    # would put a credential in its output, and from there in the Orchestrator's job log. The robot API
    # reads the framework's config; vendor robots read the per-job settings file. Nor another job's values
    # the framework may have inherited: a spare interpreter must carry no job's marker.
    for name in (ENV_ROBOT_GUID, *JOB_VARIABLES):
        env.pop(name, None)
    env.update({
        ENV_ORCHESTRATOR_URL: cfg.host,
        ENV_CONFIG_FILE: cfg.path,
        "PYTHONUNBUFFERED": "1",  # output reaches output.log as it is printed
        "PYTHONIOENCODING": "utf-8",  # Windows: a cp1252 file would make print() of non-Latin text crash
    })
    # `import robot_framework` in a robot finds this file.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (FRAMEWORK_DIR, env.get("PYTHONPATH", "")) if p)
    env.update(job_values or {})
    return env


def job_variables(cfg: Config, job: ConsumedJob, files: JobFiles, job_object: Optional[JobObject],
                  packages: Optional[str]) -> dict[str, str]:
    """packages: the robot's environment (a folder of packages the bootstrap puts on sys.path), if it has one."""
    values = {ENV_JOB_GUID: job.guid, ENV_JOB_NAME: job.name, ENV_CONTEXT_FILE: files.context,
              ENV_STOP_FILE: files.stop, ENV_TASKS_FILE: files.tasks, ENV_ARTIFACTS_DIR: files.artifacts}
    if cfg.send_logs:
        values[ENV_LOG_FILE] = files.robot_log
    if packages:
        values[ENV_PACKAGES] = packages
    if job_object is not None and job_object.name:
        values[ENV_JOB_OBJECT] = job_object.name  # the bootstrap joins it and takes it out of the environment
    return values


SPARE_END_WAIT = 5.0  # seconds a spare without a job gets to end by itself (its start-up) before it is killed
SPARE_DURING_JOB = 1.0  # seconds a spare started at a robot's start may wait for the next job during this one


class RobotStarter:
    """Starts each job's robot, from an interpreter started ahead of the job where it can.

    A robot's interpreter takes 15 - 20 ms to start here (Python's own start-up, its standard modules,
    the bootstrap), and a job waits for it. So the robot's interpreter is started before its job is
    known: once a Ready heartbeat says a job is waiting (the run's first job), and, while the run goes on
    (`ahead`), as soon as a robot has started (the next job's: it boots while this robot works, on the
    other core). It then waits in its bootstrap, reading stdin. hand_over() writes the job to it (working
    folder, output file, arguments, the job's variables) and closes the pipe; from there it is the robot,
    exactly as if started with them (the same sys.argv, environment, working folder, standard streams,
    exit code), and it is supervised, stopped and killed as any. A job that outlasts SPARE_DURING_JOB
    lets the spare go (let_idle_spare_go: a terminal server's fifty accounts hold no idle interpreter
    while their robots work), and the next starts right after its final status is delivered, during the
    Ready heartbeat and consumeNextJob. So only back-to-back short jobs find their robot booted; a long
    job pays one interpreter start more, against its length nothing. One left without a job
    (consumeNextJob gave none, the run ends: one interpreter start a run, not a job) has its stdin
    closed and ends by itself, as one the framework leaves behind (killed itself) does. The one
    difference a person sees: the robot's command line in Task Manager or `ps` names the bootstrap
    without the script.

    Where the spare cannot serve (it died, failed to start, the job would not fit in its pipe's buffer),
    the robot starts as before, `python <bootstrap> <script> <vendor argument>`, at the moment of its job.
    """

    HANDOVER_LIMIT = 4000  # bytes: within any pipe's buffer (Windows' is 4 KiB), so hand_over never blocks

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.python = cfg.python or default_robot_python()
        self.spare: Optional[subprocess.Popen] = None
        self.spare_variables: dict[str, str] = {}
        self._starting: Optional[threading.Thread] = None  # the spare's start, under way
        # The run goes on after this job (not --once, the server answers): the next robot's interpreter
        # starts with this one's, and is let go at spare_until if the job still runs.
        self.ahead = False
        self.spare_until: Optional[float] = None
        self._leaving: Optional[subprocess.Popen] = None  # one let go during a job: reaped at the next start

    def start_spare(self) -> None:
        """The next robot's interpreter, if none is waiting or starting: started on a thread (spare-start),
        so that the call the run makes next (the Ready heartbeat, consumeNextJob) goes out meanwhile
        (subprocess.Popen holds its caller 2 - 4 ms here, until the child's exec has gone through). A
        failure is quiet: the robot starts as before (and the same failure, if it is the machine's, is
        reported then)."""
        if self._starting is not None and self._starting.is_alive():
            return
        if self._leaving is not None:
            self._end(self._leaving)  # long gone: its stdin was closed a job ago
            self._leaving = None
        spare = self.spare_started()
        if spare is not None:
            if spare.poll() is None:
                return
            self.discard()  # it ended (killed by someone): its pipe closed, its exit status collected
        self._starting = threading.Thread(target=self._start_spare, name="spare-start", daemon=True)
        self._starting.start()

    def _start_spare(self) -> None:
        variables = robot_variables(self.cfg)
        try:
            spare = self._popen([], FRAMEWORK_DIR, variables, subprocess.DEVNULL, stdin=subprocess.PIPE, bufsize=0)
        except Exception as e:  # OSError above all; never a reason for the job not to run
            logger.debug("Cannot start a spare interpreter (%s); the next robot starts at its job", e)
            return
        self.spare_variables, self.spare = variables, spare
        logger.debug("Spare interpreter started for the next robot, pid %d", spare.pid)

    def spare_started(self) -> Optional[subprocess.Popen]:
        """The spare, its start (if one is under way) waited for."""
        if self._starting is not None:
            self._starting.join()
            self._starting = None
        return self.spare

    def spare_process(self) -> Optional[psutil.Process]:
        """The spare, which the next start() makes the robot (crash recovery needs its PID before then)."""
        spare = self.spare_started()
        return process_or_none(spare.pid) if spare is not None else None

    def start(self, job: ConsumedJob, files: JobFiles, args: list[str], cwd: str,
              job_object: Optional[JobObject] = None, packages: Optional[str] = None) -> subprocess.Popen:
        """The job's robot: `python <bootstrap> <script or folder> <vendor argument>` in cwd, its output (stdout
        and stderr) appended to files.output."""
        env = robot_variables(self.cfg, job_variables(self.cfg, job, files, job_object, packages))
        args = [*args, vendor_argument(job, files)]
        proc = self.hand_over(args, cwd, files.output, env)
        if proc is None:
            with open(files.output, "ab") as output:  # a file, not a pipe: a chatty robot can never block
                proc = self._popen(args, cwd, env, output)
        self.spare_until = None  # this job's: none left from a job before
        if self.ahead:  # the next job's interpreter boots while this robot works
            write_bootstrap_bytecode(self.cfg)  # once per run: the next robots start from it
            self.start_spare()
            self.spare_until = time.monotonic() + SPARE_DURING_JOB
        return proc

    def let_idle_spare_go(self, now: float) -> None:
        """The job outlasted SPARE_DURING_JOB: its stdin closed, the spare ends by itself (it is reaped at
        the next start_spare; supervision never waits for it). The next starts after the final status."""
        if self.spare_until is None or now < self.spare_until:
            return
        self.spare_until = None
        proc, self.spare = self.spare_started(), None
        if proc is not None:
            logger.debug("Spare interpreter pid %d let go: the job runs on", proc.pid)
            self._end(proc, wait=False)
            self._leaving = proc

    def hand_over(self, args: list[str], cwd: str, output: str, env: dict[str, str]) -> Optional[subprocess.Popen]:
        """The spare becomes the job's robot: its job written to its stdin (ROBOT_BOOTSTRAP reads it), or None."""
        proc, self.spare = self.spare_started(), None
        if proc is None:
            return None
        # NUL-separated (no path, argument or variable can hold one): the working folder, the output file,
        # the number of arguments, the arguments, then the variables that differ (NAME=value; NAME alone is
        # removed). Lone surrogates pass as they are (a POSIX file name in bytes that are not UTF-8).
        changed = [f"{k}={v}" for k, v in env.items() if self.spare_variables.get(k) != v]
        changed += [k for k in self.spare_variables if k not in env]
        job = "\0".join([cwd, output, str(len(args)), *args, *changed]).encode("utf-8", "surrogatepass")
        written = False
        try:
            if len(job) > self.HANDOVER_LIMIT or proc.poll() is not None:
                raise OSError("the spare interpreter ended, or the job does not fit in its pipe")
            assert proc.stdin is not None
            written = True
            if proc.stdin.write(job) != len(job):
                raise OSError("the job was written in part")
            proc.stdin.close()
        except OSError as e:  # it ended meanwhile (BrokenPipeError), or cannot be used: the robot starts anew
            logger.debug("The spare interpreter (pid %d) cannot take the job (%s); starting the robot anew",
                         proc.pid, e)
            if written:  # a part of the job may have reached it: it must not run on that
                with contextlib.suppress(OSError):
                    proc.kill()
            self._end(proc)
            return None
        return proc

    def discard(self) -> None:
        """No job for the spare: its stdin is closed, and it ends by itself once booted."""
        proc, self.spare, self.spare_until = self.spare_started(), None, None
        for ended in (proc, self._leaving):
            if ended is not None:
                self._end(ended)
        self._leaving = None

    @staticmethod
    def _end(proc: subprocess.Popen, wait: bool = True) -> None:
        """The end of its stdin ends a spare that is booting or waiting (the bootstrap exits at once); killed
        only if it does not end within SPARE_END_WAIT. (Killed in the middle of its start-up, a console
        process leaves Wine's conhost.exe running for ever: the Windows lane saw it.) wait=False: its stdin
        closed, nothing waited for (a later _end reaps it)."""
        with contextlib.suppress(OSError):
            if proc.stdin is not None:
                proc.stdin.close()
        if not wait:
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=SPARE_END_WAIT)
            return
        with contextlib.suppress(OSError):
            proc.kill()
        reap(proc)

    def _popen(self, args: list[str], cwd: str, env: dict[str, str], output: Any, **more: Any) -> subprocess.Popen:
        if IS_WINDOWS:
            # Own process group: a Ctrl+C meant for the framework's console does not reach the robot,
            # and CTRL_BREAK_EVENT can target the robot alone. No console window by default: the robot's
            # output goes to output.log, and a window would sit on the desktop the robot automates.
            flags = subprocess.CREATE_NEW_PROCESS_GROUP
            flags |= subprocess.CREATE_NEW_CONSOLE if self.cfg.new_console else subprocess.CREATE_NO_WINDOW
            more["creationflags"] = flags
        else:
            more["start_new_session"] = True  # own process group: SIGINT on Stop reaches the whole group
        more.setdefault("stdin", subprocess.DEVNULL)
        return subprocess.Popen([self.python, *bootstrap_arguments(self.cfg, self.python), *args], cwd=cwd, env=env,
                                stdout=output, stderr=subprocess.STDOUT, **more)


# How a robot starts: `python <bootstrap> <script or folder> <vendor argument>`, the bootstrap being its
# cached bytecode or `-c ROBOT_BOOTSTRAP` (bootstrap_arguments). Standard library
# only, a few ms, and any Python 3 (a robot's `[robot] python` may be older than ours). It puts the
# framework's folder at the end of sys.path (it shadows nothing), so `import robot_framework` works also
# under an embeddable CPython, whose pythonXY._pth file makes it ignore PYTHONPATH; then it runs the
# robot as __main__ exactly as `python <script> <argument>` would: the same sys.argv, __file__,
# sys.path[0], working folder and exit code; a traceback shows the robot's own lines (below one frame
# of the bootstrap). A robot with an environment (ROBOT_PACKAGES_DIR) gets that folder, and what its
# .pth files add (pywin32's DLL folders), right after its own folder: its packages win over the
# interpreter's, as with PYTHONPATH; `site` is imported for that only (free where it was imported already).
ROBOT_BOOTSTRAP = (
    "import os, sys\n"
    # No script named: a spare interpreter (RobotStarter), started before its job was known. It waits for
    # the job on stdin, then becomes the robot: its arguments, working folder and variables set, its
    # output file as its stdout and stderr (Windows: dup2 also makes them the process's standard handles,
    # which its children inherit), stdin emptied as for any robot. No job (the framework is gone, or found
    # none): it ends without a word.
    "if len(sys.argv) == 1:\n"
    "    def _robot_job(read=os.read):\n"
    "        b = []\n"
    "        while True:\n"
    "            c = read(0, 65536)\n"
    "            if not c:\n"
    "                break\n"
    "            b.append(c)\n"
    "        if not b:\n"
    "            os._exit(0)\n"
    "        b = b''.join(b).decode('utf-8', 'surrogatepass').split('\\0')\n"
    "        c = os.open(b[1], os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, 'O_BINARY', 0), 0o666)\n"
    "        os.dup2(c, 1)\n"
    "        os.dup2(c, 2)\n"
    "        os.close(c)\n"
    "        c = os.open(os.devnull, os.O_RDONLY | getattr(os, 'O_BINARY', 0))\n"
    "        os.dup2(c, 0)\n"
    "        os.close(c)\n"
    "        n = int(b[2])\n"
    "        sys.argv += b[3:3 + n]\n"
    "        for c in b[3 + n:]:\n"
    "            i = c.find('=', 1)\n"
    "            if i < 0:\n"
    "                os.environ.pop(c, None)\n"
    "            else:\n"
    "                os.environ[c[:i]] = c[i + 1:]\n"
    "        os.chdir(b[0])\n"
    "    _robot_job()\n"
    "    del _robot_job\n"
    # Run from its bytecode, Python put that file's folder (log_dir, or the framework's __pycache__) first on
    # sys.path; under -c it puts the working folder there (''): the robot finds the same modules either way.
    "if sys.argv[0] != '-c' and not getattr(sys.flags, 'safe_path', 0):\n"
    "    sys.path[0] = ''\n"
    f"sys.path.append({FRAMEWORK_DIR!r})\n"
    "sys.argv = sys.argv[1:]\n"
    "__file__ = os.path.join(sys.argv[0], '__main__.py') if os.path.isdir(sys.argv[0]) else sys.argv[0]\n"
    "p = os.environ.get('ROBOT_PACKAGES_DIR')\n"
    "if p:\n"
    "    import site\n"
    "    n = len(sys.path)\n"
    "    site.addsitedir(p)\n"
    "    new = sys.path[n:]\n"
    "    del sys.path[n:]\n"
    "    sys.path[0:0] = new\n"
    "    del site, n, new\n"
    "del p\n"
    # Evidence: the robot's stack on request, into its output (where Python's own tracebacks go), at no cost
    # until then. POSIX: faulthandler on SIGUSR1. Windows (no SIGUSR1): a thread blocked on a named event.
    "if sys.__stderr__ is not None:\n"
    "    import faulthandler\n"
    "    if os.name != 'nt':\n"
    "        import _signal\n"  # not `signal`: its enum import would cost every robot start ~5 ms
    "        faulthandler.register(_signal.SIGUSR1, sys.__stderr__, all_threads=True)\n"
    "        del _signal\n"
    "    else:\n"
    "        import _thread\n"
    "        def _robot_stack_dump(err=sys.__stderr__, pid=os.getpid(), dump=faulthandler.dump_traceback):\n"
    "            import ctypes\n"
    "            k = ctypes.WinDLL('kernel32')\n"
    "            k.CreateEventW.restype = ctypes.c_void_p\n"
    "            h = k.CreateEventW(None, False, False, 'robot_framework-stack-%d' % pid)\n"
    "            while h and k.WaitForSingleObject(ctypes.c_void_p(h), 0xFFFFFFFF) == 0:\n"
    "                err.flush()\n"
    "                dump(err, all_threads=True)\n"
    "        _thread.start_new_thread(_robot_stack_dump, ())\n"
    "        del _thread, _robot_stack_dump\n"
    "    del faulthandler\n"
    "sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))\n"
    "if os.name == 'nt' and os.environ.get('ROBOT_JOB_OBJECT'):\n"  # join the job's Job Object first
    "    try:\n"
    "        import ctypes\n"
    "        k = ctypes.WinDLL('kernel32')\n"
    "        k.OpenJobObjectW.restype = ctypes.c_void_p\n"
    "        h = k.OpenJobObjectW(0x1F001F, 0, os.environ.pop('ROBOT_JOB_OBJECT'))\n"
    "        if h:\n"
    "            k.AssignProcessToJobObject(ctypes.c_void_p(h), ctypes.c_void_p(-1))\n"
    "            k.CloseHandle(ctypes.c_void_p(h))\n"
    "        del ctypes, k, h\n"
    "    except Exception:\n"
    "        pass\n"  # the framework's sweeps remain
    # The robot's code from its cached bytecode (__pycache__, as for any imported module; compiled again when
    # the script changes, not written where its folder is read-only). compile() would cost every start ~2 ms
    # more (its first call builds the ast module's types) and a large robot its whole compile. The loader is
    # the one importlib.machinery exports, taken where CPython keeps it loaded (that import costs ~1.5 ms).
    "__loader__ = (sys.modules.get('_frozen_importlib_external')\n"
    "              or __import__('importlib.machinery').machinery).SourceFileLoader('__main__', __file__)\n"
    "del os, sys\n"
    # Run in this very __main__ module, as `python <script>` does (runpy would cost ~10 ms of imports).
    "exec(__loader__.get_code('__main__'))\n"
)


BOOTSTRAP_BYTECODE = (f"robot_bootstrap-{hashlib.sha256(ROBOT_BOOTSTRAP.encode()).hexdigest()[:12]}."
                      f"{sys.implementation.cache_tag}.pyc")


def bootstrap_arguments(cfg: Config, python: str) -> list[str]:
    """The bootstrap's place in a robot's command line: its bytecode when the robot runs on this very
    interpreter, else `-c` and its source ([robot] python may be another Python version).

    Python compiles `-c` source at every start: about 1 ms of every robot's start. A .pyc named as the
    script runs as it is (CPython checks its magic number and reads nothing else of the header). The one
    --install-task wrote beside the framework's own (INSTALLED_BOOTSTRAP) serves every run; else the run's
    own in log_dir, from its second robot on (write_bootstrap_bytecode)."""
    if python == default_robot_python():
        if os.path.isfile(INSTALLED_BOOTSTRAP):
            return [INSTALLED_BOOTSTRAP]
        path = os.path.join(cfg.log_dir, BOOTSTRAP_BYTECODE)
        if _bootstraps_written.get(path) and os.path.isfile(path):
            return [path]
    return ["-c", ROBOT_BOOTSTRAP]


# Written by compile_for_task (--install-task) where the framework's own bytecode goes: as trusted as the
# script beside it, and named after the bootstrap text (which names the framework's folder), so a moved or
# updated framework never runs another version's.
INSTALLED_BOOTSTRAP = os.path.join(FRAMEWORK_DIR, "__pycache__", BOOTSTRAP_BYTECODE)
_bootstraps_written: dict[str, bool] = {}  # log_dir's path -> written by this run (False: it could not be)


def write_bootstrap_bytecode(cfg: Config) -> None:
    """The bootstrap's bytecode in log_dir, written once the run's first robot has started, before the
    next one's interpreter (that one starts from the source, so the compile is never between the
    Orchestrator's answer and a robot's start; a --once run, with no next robot, writes none), and again
    if removed; not where --install-task wrote one.

    log_dir is restricted to the robot account like the journal, and a file there is never read back: one
    an earlier run left, or damaged since, is not trusted, only replaced. Frameworks of other versions
    sharing a log_dir keep their own (the name); one of the same version writes the same bytes."""
    path = os.path.join(cfg.log_dir, BOOTSTRAP_BYTECODE)
    done = _bootstraps_written.get(path)
    if (cfg.python or sys.implementation.cache_tag is None or done is False or (done and os.path.isfile(path))
            or os.path.isfile(INSTALLED_BOOTSTRAP)):
        return
    try:
        write_bootstrap_to(path, durable=False)
        _bootstraps_written[path] = True
    except OSError as e:
        logger.warning("Cannot write %s (%s); robots start from the bootstrap's source, ~1 ms more each", path,
                       describe_os_error(e))
        _bootstraps_written[path] = False


def write_bootstrap_to(path: str, durable: bool) -> None:
    """The bootstrap's bytecode (a robot starting meanwhile reads the old file or the new one). durable
    (--install-task): a file found there later is whole."""
    import importlib.util  # loaded already by the standard library's start-up; named here for its constant
    import marshal

    # Header: magic number, then flags, source time and size, which running a .pyc directly ignores.
    data = importlib.util.MAGIC_NUMBER + bytes(12) + marshal.dumps(compile(ROBOT_BOOTSTRAP, "<string>", "exec"))
    # Its own temporary file: frameworks sharing a log_dir may write it at the same time.
    write_atomically(path, data, durable, temporary=f"{path}.{os.getpid()}.tmp")


def default_robot_python() -> str:
    """The interpreter running the framework, but python.exe rather than pythonw.exe.

    Windows: a scheduled task typically runs the framework with pythonw.exe; robots get python.exe
    from the same folder (CREATE_NO_WINDOW keeps it windowless) so they have ordinary std streams.
    """
    folder, name = os.path.split(sys.executable)
    if name.lower() == "pythonw.exe" and os.path.isfile(os.path.join(folder, "python.exe")):
        return os.path.join(folder, "python.exe")
    return sys.executable


def request_soft_stop(cfg: Config, proc: subprocess.Popen, files: JobFiles) -> None:
    """Stop file always; plus a polite interrupt where the platform has one a Python robot can handle."""
    with open(files.stop, "w", encoding="utf-8") as f:
        f.write("stop requested by the Orchestrator\n")
    if cfg.stop_interrupt == "false":
        return
    try:
        if not IS_WINDOWS:
            os.killpg(proc.pid, signal.SIGINT)  # KeyboardInterrupt in the robot lets `finally` run
        elif cfg.stop_interrupt == "true":
            # Windows: CTRL_BREAK_EVENT kills a Python child outright unless it handles SIGBREAK
            # (vendor robots do), so it is sent only when stop_interrupt = true.
            send_ctrl_break(proc.pid)
    except OSError as e:
        logger.warning("Could not interrupt the robot (pid %d): %s; it still has the stop file", proc.pid, e)


def send_ctrl_break(pid: int) -> None:
    """Windows: CTRL_BREAK_EVENT to the robot's process group (it was created as a group of its own).

    A console control event reaches only processes on the sender's console, and the robot has a
    console of its own (CREATE_NO_WINDOW gives a hidden one, CREATE_NEW_CONSOLE a visible one). A
    framework without a console, as under pythonw.exe in the scheduled task, attaches to the robot's
    console for the moment of the call. A framework in a console window cannot (AttachConsole refuses
    a process that has one): OSError, and the robot still has the stop file.
    """
    import ctypes
    from ctypes import wintypes

    kernel32 = windows_api().kernel32
    # AttachConsole replaces this process's standard handles with the console's, and FreeConsole leaves
    # them pointing at a console that is gone: the next subprocess that inherits them (the log-off
    # command, taskkill) fails with WinError 6. They are put back as they were, and so are the console
    # control handlers, which attaching and freeing reset.
    std_ids = (-10, -11, -12)  # STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE (as DWORDs below)
    saved = [kernel32.GetStdHandle(wintypes.DWORD(std_id & 0xFFFFFFFF)) for std_id in std_ids]
    if not kernel32.AttachConsole(pid):
        error = ctypes.get_last_error()
        raise OSError(error, f"cannot attach to the robot's console (WinError {error}); CTRL_BREAK_EVENT reaches "
                             f"a robot only when the framework runs without a console (pythonw.exe)")
    try:
        if not kernel32.GenerateConsoleCtrlEvent(signal.CTRL_BREAK_EVENT, pid):
            error = ctypes.get_last_error()
            raise OSError(error, f"GenerateConsoleCtrlEvent failed (WinError {error})")
    finally:
        kernel32.FreeConsole()
        for std_id, handle in zip(std_ids, saved):
            kernel32.SetStdHandle(std_id & 0xFFFFFFFF, handle)
        for handler in _console_handlers:
            kernel32.SetConsoleCtrlHandler(handler, True)


# =================================================================================================
# Running one job: supervision (heartbeats, Abort, Stop, timeouts, the robot's exit)
# =================================================================================================
class HeartbeatWorker:
    """The one thread that talks to the Orchestrator while a robot runs, so supervision never waits on it.

    It has its own Orchestrator (a requests.Session is not thread-safe), kept for the run, so its
    kept-alive connection serves every job; a call cut off drops it. It first makes the job's running
    state durable (`first`: the fsync is off the supervision's path, and no In Progress goes out that a
    machine crash could leave without a record to recover the job from), then reports In Progress
    (retried through an outage), then sends a Working heartbeat each time send() asks, at most one
    in flight, and leaves each answer for the supervision loop, which it wakes. close() abandons
    a heartbeat in flight at once; it lets an In Progress attempt in flight finish (within
    request_timeout), so the Orchestrator never sees In Progress after the final status.
    """

    def __init__(self, cfg: Config, orch: Orchestrator, identity: Identity, job: ConsumedJob,
                 wake: threading.Event, first: Callable[[], None]) -> None:
        self.cfg, self.identity, self.job, self.wake, self.first = cfg, identity, job, wake, first
        self.orch = orch.companion("heartbeats")
        self._closing = threading.Event()
        self._asked = threading.Event()
        self._lock = threading.Lock()
        self._busy = True  # reporting In Progress
        self._first_done = threading.Event()  # close() waits for it: the job's end must not race its write
        self._in_progress_sent = False
        self._answer: Optional[int] = None
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{clean(job.guid, 40)}", daemon=True)

    def __enter__(self) -> HeartbeatWorker:
        self._thread.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.close()

    def send(self) -> bool:
        """Ask for one Working heartbeat; False (and nothing sent) while the previous one is in flight."""
        with self._lock:
            if self._busy:
                return False
            self._busy = True
        self._asked.set()
        return True

    def take_answer(self) -> Optional[int]:
        """The HeartbeatErrorCode of the last answer not yet taken, or None."""
        with self._lock:
            answer, self._answer = self._answer, None
        return answer

    def close(self) -> None:
        self._closing.set()
        self._asked.set()
        self._first_done.wait()  # a local write (the final status's own journal write waits on the same disk)
        if not self._in_progress_sent:
            self._thread.join(self.cfg.request_timeout + 1)
        with self._lock:
            idle = not self._busy
        if idle:  # no call in flight: it wakes to _closing and ends without another; not waited for
            return
        self.orch.cancel()
        self._thread.join(WORKER_JOIN_TIMEOUT)
        if self._thread.is_alive():
            logger.warning("Job %s: the heartbeat thread did not end within %g s", self.job.guid, WORKER_JOIN_TIMEOUT)

    def _run(self) -> None:
        try:
            self.first()
        except Exception:  # a bug here must not go unseen, nor keep In Progress from going out
            logger.exception("Job %s: saving the running state failed", self.job.guid)
        finally:
            self._first_done.set()
        try:
            self._report_in_progress()
        except Exception:  # a bug here must not go unseen, nor end the heartbeats
            logger.exception("Job %s: reporting In Progress failed", self.job.guid)
        while True:
            self._asked.wait()
            self._asked.clear()
            if self._closing.is_set():
                return
            code = None
            try:
                code = send_working_heartbeat(self.cfg, self.orch, self.identity, self.job)
            except Exception:  # a bug (or an answer nobody foresaw) costs one heartbeat, never the thread
                logger.exception("Job %s: Working heartbeat failed unexpectedly; the next one is sent as usual",
                                 self.job.guid)
            with self._lock:
                if code is not None:
                    self._answer = code
                self._busy = False
            self.wake.set()

    def _report_in_progress(self) -> None:
        try:
            send_in_progress(self.cfg, self.orch, self.job, stop=self._closing)
        finally:
            self._in_progress_sent = True
            with self._lock:
                self._busy = False


def supervise_robot(cfg: Config, proc: subprocess.Popen, files: JobFiles, heartbeats: HeartbeatWorker,
                    job_deadline: Optional[float],
                    soft_stop: bool = True, starter: Optional[RobotStarter] = None) -> tuple[int, str, bool]:
    """Wait for the robot while the heartbeat worker talks to the Orchestrator.

    Returns (final status, reason, hung): hung when the robot still runs and is to be killed for
    job_timeout, idle_timeout or a Stop past stop_timeout (the job's evidence is taken first), not for an
    Abort (killed at once). This loop never waits on the network: it wakes when the robot exits (exit
    watcher thread), when a heartbeat answer arrives (heartbeat worker), or when a deadline of its own
    comes (job_deadline: the job's start plus job_timeout). soft_stop=False (an environment build): a Stop
    ends it at once, and idle_timeout does not apply. starter: the next job's spare interpreter, let go
    when the job outlasts SPARE_DURING_JOB.
    """
    job = heartbeats.job
    next_heartbeat = time.monotonic() + cfg.heartbeat_interval
    stop_deadline: Optional[float] = None
    idle = ProgressWatch(cfg.idle_timeout, files) if cfg.idle_timeout and soft_stop else None
    wake = heartbeats.wake  # set by the heartbeat worker (an answer) and by the exit watcher
    watch_exit(proc, wake)
    while True:
        wake.clear()
        exit_code = proc.returncode  # set by the exit watcher
        if exit_code is not None:
            if stop_deadline is not None:
                return JOB_STATUS_STOPPED, f"stopped on request, {describe_exit(exit_code)}", False
            if exit_code == 0:
                return JOB_STATUS_SUCCESS, "exit code 0", False
            return JOB_STATUS_FAILED, describe_exit(exit_code), False
        code = heartbeats.take_answer()
        if code == HEARTBEAT_JOB_ABORTING:
            logger.info("Job %s: the Orchestrator requested Abort", job.guid)
            return JOB_STATUS_ABORTED, "aborted on request", False
        if code == HEARTBEAT_JOB_STOPPING and not soft_stop:
            logger.info("Job %s: the Orchestrator requested Stop", job.guid)
            return JOB_STATUS_STOPPED, "stopped on request", False
        if code == HEARTBEAT_JOB_STOPPING and stop_deadline is None:
            logger.info("Job %s: the Orchestrator requested Stop; waiting up to %g s", job.guid, cfg.stop_timeout)
            request_soft_stop(cfg, proc, files)
            stop_deadline = time.monotonic() + cfg.stop_timeout
        now = time.monotonic()
        if starter is not None:
            starter.let_idle_spare_go(now)
        if job_deadline is not None and now >= job_deadline:
            return JOB_STATUS_FAILED, f"ran past job_timeout ({cfg.job_timeout:g} s) and was killed", True
        if stop_deadline is not None and now >= stop_deadline:
            return (JOB_STATUS_ABORTED, f"did not stop within stop_timeout ({cfg.stop_timeout:g} s) and was killed",
                    True)
        if idle is not None and idle.stalled(now):
            return JOB_STATUS_FAILED, f"no progress for {cfg.idle_timeout:g} s (idle_timeout)", True
        if now >= next_heartbeat:
            if not heartbeats.send():
                logger.debug("Job %s: previous heartbeat still in flight; this one is skipped", job.guid)
            next_heartbeat += cfg.heartbeat_interval
            if next_heartbeat <= now:  # fell behind: keep the interval, skip the backlog
                next_heartbeat = now + cfg.heartbeat_interval
        wake_at = min(t for t in (next_heartbeat, job_deadline, stop_deadline, idle and idle.next_look,
                                  starter and starter.spare_until) if t is not None)
        wake.wait(min(WAIT_SLICE, max(0.0, wake_at - time.monotonic())))


class ProgressWatch:
    """idle_timeout: whether the robot showed progress lately. Progress is anything the robot writes in
    its job folder: output, log() entries, task ledger records, its artifacts, any file of its own there.
    One look (a directory listing, no reading) every idle_timeout / 10 seconds, at most every 5 s."""

    def __init__(self, timeout: float, files: JobFiles) -> None:
        self.timeout, self.files = timeout, files
        self.every = min(max(timeout / 10, 0.05), 5.0)
        self.mark = self.look()
        self.since = time.monotonic()
        self.next_look = self.since + self.every

    def look(self) -> tuple[int, int]:
        """(bytes, newest change) of what the robot wrote in its job folder and artifacts folder."""
        size = newest = 0
        for folder in (self.files.folder, self.files.artifacts):
            with contextlib.suppress(OSError):
                for entry in os.scandir(folder):
                    if entry.name in FRAMEWORK_JOB_FILES or entry.name.endswith(".tmp") or not entry.is_file():
                        continue
                    stat = entry.stat()
                    size, newest = size + stat.st_size, max(newest, stat.st_mtime_ns)
        return size, newest

    def stalled(self, now: float) -> bool:
        if now < self.next_look:
            return False
        self.next_look = now + self.every
        mark = self.look()
        if mark != self.mark:
            self.mark, self.since = mark, now
        return now - self.since >= self.timeout


def supervise_build(end: JobEnd, job: ConsumedJob, proc: EnvironmentBuild, files: JobFiles, env: RobotEnvironment,
                    heartbeats: HeartbeatWorker, job_deadline: Optional[float]) -> tuple[Optional[int], str]:
    """The robot's environment build, supervised as a robot is.

    (None, "") once the environment is ready (the job log says built or reused); else the job's final
    status and reason: the installer's error line, or the Abort, Stop or job_timeout that ended it.
    """
    cfg, shipper = end.cfg, end.shipper
    status, reason, _ = supervise_robot(cfg, proc, files, heartbeats, job_deadline, soft_stop=False)
    marker = proc.marker
    if status == JOB_STATUS_SUCCESS and marker is not None:
        if marker.get("built_by") != job.guid:
            env.mark_used()  # built by another account while this job waited
        logger.info("Job %s: %s", job.guid, env.describe(marker, job.guid))
        shipper.add("info", env.describe(marker, job.guid))
        return None, ""
    if proc.poll() is not None:  # the build ended without an environment: the installer failed
        error, tail = installer_tail(files.env_log)
        shipper.add("error", f"Environment for {job.name!r} could not be built ({reason}); the installer's last "
                             f"lines ({files.env_log}):\n{tail}")
        return JOB_STATUS_FAILED, mask_secrets(f"could not build the robot's environment: {error}", cfg.secrets)
    proc.cancel()  # Abort, Stop or job_timeout: the installer is killed with the job's processes
    return status, f"{reason} while the robot's environment was being built"


def robot_environment(cfg: Config, robot: str, target: str) -> Optional[RobotEnvironment]:
    """The robot's declared environment, or None; ValueError when it is missing and env_build = never."""
    env = RobotEnvironment.for_robot(cfg, robot, target)
    if env is not None and cfg.env_build == "never" and env.ready() is None:
        raise ValueError(f"environment for {robot!r} is not built on this machine; run --prepare-envs "
                         f"(env_build = never)")
    return env


def watch_exit(proc: subprocess.Popen, wake: threading.Event) -> None:
    """A thread blocked in Popen.wait(), which returns the instant the robot exits, then wakes the loop.

    POSIX: waitpid(); Windows: WaitForSingleObject on the process handle. It ends with the robot,
    which every job end kills and reaps.
    """

    def wait_then_wake() -> None:
        with contextlib.suppress(Exception):  # only ever "no such child" after a reap elsewhere
            proc.wait()
        wake.set()

    threading.Thread(target=wait_then_wake, name=f"exit-watch-{getattr(proc, 'pid', 'env-build')}", daemon=True).start()


def send_working_heartbeat(cfg: Config, orch: Orchestrator, identity: Identity, job: ConsumedJob) -> Optional[int]:
    """One attempt: a failure is logged and retried at the next interval; the robot keeps running."""
    try:
        reply = orch.heartbeat(identity, ROBOT_STATUS_WORKING, job.guid, job.name)
    except Abandoned:
        return None
    except OrchestratorError as e:
        logger.warning("Working heartbeat failed: %s; the robot keeps running, next try in %g s",
                    e, cfg.heartbeat_interval)
        return None
    if reply.error_code not in (HEARTBEAT_NO_ERROR, HEARTBEAT_JOB_ABORTING, HEARTBEAT_JOB_STOPPING):
        logger.warning("Working heartbeat: HeartbeatErrorCode %d (%s)", reply.error_code, reply.error_text)
    return reply.error_code


def describe_exit(code: int) -> str:
    if code < 0:
        return f"killed by signal {-code}"
    return f"exit code {code}"


# =================================================================================================
# Running one job: steps 3 to 5, however the job ends
# =================================================================================================
def run_job(cfg: Config, orch: Orchestrator, identity: Identity, store: RobotFiles, job: ConsumedJob,
            starter: RobotStarter, earlier_logs: Optional[LogShipper] = None) -> LogShipper:
    """Steps 3-5 for one consumed job: In Progress, run and supervise, final status.

    earlier_logs: the previous job's log shipper, still flushing; this job's shipper closes it.
    Returns the job's log shipper, still flushing its last entries: the caller closes it (or hands it on).
    """
    logger.info("Job %s taken: robot %r", job.guid, clean(job.name, 100))
    folder = job_folder_path(cfg, job)
    note_job_folder(folder)  # where later rounds look for what it leaves undelivered
    end = JobEnd(cfg, orch, store, job.guid, LogShipper.for_job(cfg, orch, job, folder, earlier_logs), folder)
    if job.problem:
        end.finish(JOB_STATUS_FAILED, job.problem)
        return end.shipper
    job_object = robot_job_object(job)  # Windows only
    try:
        return supervised_job(end, identity, job, job_object, starter)
    finally:
        if job_object is not None:
            job_object.close()


def supervised_job(end: JobEnd, identity: Identity, job: ConsumedJob, job_object: Optional[JobObject],
                   starter: RobotStarter) -> LogShipper:
    """Start the robot, supervise it, end the job however it ends (run_job's body)."""
    cfg, orch, store, shipper = end.cfg, end.orch, end.store, end.shipper
    proc: Optional[subprocess.Popen] = None
    root: Optional[psutil.Process] = None
    files: Optional[JobFiles] = None
    try:
        try:
            files = prepare_job_folder(cfg, job, shipper.folder)
            script_args, cwd = resolve_robot_script(cfg.scripts_dir, job.name)
            # Written before the robot starts, so a framework crash from here on is cleaned up at the next
            # start (the job GUID is the marker; the spare interpreter that becomes the robot is named by its
            # PID: POSIX shows a process's environment as it started, without the job's variables). Not
            # fsynced: a process crash keeps the page cache, and the fsynced write the heartbeat worker
            # makes before In Progress covers a machine crash.
            env = robot_environment(cfg, job.name, script_args[0])
            env_marker = env.ready() if env is not None else None
            store.save_running(running_state(job, starter.spare_process(), files.folder), durable=False)
            close_apps(cfg, "before the job", shipper)
            if env is not None and env_marker is None:
                proc = EnvironmentBuild(cfg, env, files.env_log, job.guid)  # the robot starts once it is built
            else:
                proc = starter.start(job, files, script_args, cwd, job_object, env and env.path)
        except (ValueError, OSError) as e:
            # ValueError: a fault of this job (its name, its script): the next job may well run.
            # OSError: a fault of this machine (the interpreter cannot be executed, the job folder cannot
            # be written, the disk is full): every later job would fail the same way.
            machine_fault = isinstance(e, OSError)
            reason = (f"this machine cannot start robots: {describe_os_error(e)}" if machine_fault
                      else f"could not start the robot: {e}")
            send_in_progress(cfg, orch, job)  # the Orchestrator sees the job taken, then Failed
            remove_vendor_settings(files)
            end.finish(JOB_STATUS_FAILED, reason)
            if machine_fault:
                raise MachineFault(reason, shipper) from None
            return shipper
        if isinstance(proc, subprocess.Popen):  # a build has no process of its own: its installer has the marker
            root = process_or_none(proc.pid)  # now, while the PID surely is the robot's (it is not reaped yet)
        wake = threading.Event()

        def save_running() -> None:
            try:
                store.save_running(running_state(job, root, files.folder))
            except OSError as e:  # the earlier, non-durable write still serves crash recovery
                logger.error("Job %s: cannot write %s (%s); the robot keeps running", job.guid, store.running,
                             describe_os_error(e))

        # The heartbeat worker makes the running state durable, then sends In Progress, while the robot
        # starts; the Orchestrator still sees 8 before any Working heartbeat or final status.
        with HeartbeatWorker(cfg, orch, identity, job, wake, save_running) as heartbeats:
            store.settle_journal()  # the previous job's delivered status; its running state is overwritten
            with contextlib.suppress(OSError):
                prune_job_folders(files.folder, cfg.keep_jobs)
            job_deadline = time.monotonic() + cfg.job_timeout if cfg.job_timeout else None
            status: Optional[int] = None
            if env is not None:
                if env_marker is None:  # proc is the build: supervised like the robot, Abort and timeouts apply
                    logger.info("Job %s: building the robot's environment %s, installer output in %s",
                                job.guid, env.path, files.env_log)
                    count = len(env.requirements)
                    shipper.add("info", f"Job started on machine {identity.machine}, user {identity.user or '?'}: "
                                        f"building the environment for {job.name!r} first ({count} "
                                        f"requirement{'' if count == 1 else 's'} from {env.declared_in}, "
                                        f"{installer_name(cfg)})")
                    shipper.start()
                    status, reason = supervise_build(end, job, proc, files, env, heartbeats, job_deadline)
                    if status is None:
                        reap(proc)
                        proc = starter.start(job, files, script_args, cwd, job_object, env.path)
                        root = process_or_none(proc.pid)
                else:
                    env.mark_used()
                    shipper.add("info", env.describe(env_marker, job.guid))
            if status is None:
                logger.info("Job %s: robot started, pid %d, output in %s", job.guid, proc.pid, files.output)
                shipper.add("info", f"Job started: robot script {job.name!r} on machine {identity.machine}, user "
                                    f"{identity.user or '?'}, pid {proc.pid}")
                shipper.start()
                status, reason, hung = supervise_robot(cfg, proc, files, heartbeats, job_deadline, starter=starter)
                if hung or status == JOB_STATUS_FAILED:  # before the kill: where it was, what was on the screen
                    collect_evidence(cfg, job, proc, root, files, shipper, stack=hung)
            shipper.hold()  # log traffic waits until the final status is out
    except MachineFault:
        raise  # the job's Failed status is already out; nothing of the robot was started
    except BaseException as e:
        # Ctrl+C, SIGTERM, console close, or a bug: nothing of the robot may outlive us, and the job
        # still gets a true final status.
        interrupted = isinstance(e, (KeyboardInterrupt, Interrupted))
        with ignoring_interrupts():
            try:
                kill_job_processes(job.guid, root, "framework interrupted" if interrupted else "framework error")
                if job_object is not None:
                    job_object.terminate()
                if proc is not None:
                    reap(proc)
                remove_vendor_settings(files)
            except Exception:
                logger.exception("Job %s: cleaning up after the interruption failed", job.guid)
            why = _interrupt_reason[0] if _interrupt_reason else "the framework was interrupted while the job ran"
            end.finish(JOB_STATUS_ABORTED if interrupted else JOB_STATUS_FAILED,
                       why if interrupted else f"internal error in the framework: {clean(e)}",
                       retry_seconds=min(cfg.retry_seconds, 5.0), flush_seconds=1.0, raise_fault=False)
            with contextlib.suppress(Exception):
                close_apps(cfg, "after the interrupted job", shipper)
            shipper.close()
        raise
    # The job's outcome is known: an interrupt from here on (Ctrl+C, SIGTERM, the session's end) waits until
    # it is journaled and sent, or the next start would report this job "framework restarted".
    with ignoring_interrupts(defer=True):
        if status in (JOB_STATUS_ABORTED, JOB_STATUS_FAILED, JOB_STATUS_STOPPED) and proc.poll() is None:
            kill_job_processes(job.guid, root, reason)
            if job_object is not None:
                job_object.terminate()  # what hid from the sweeps (a detached child with an empty environment)
        elif cfg.kill_leftovers and not (job_object is not None and job_object.emptied()):
            leftovers = kill_job_processes(job.guid, root, "left behind by the robot after it ended",
                                           grace=LEFTOVER_GRACE)
            if leftovers:
                logger.warning("Job %s: the robot left %d process(es) running; killed them", job.guid,
                               len(leftovers))
                shipper.add("warning", f"The robot left {len(leftovers)} process(es) running; killed: "
                                       f"{', '.join(leftovers)}")
            if job_object is not None:
                job_object.terminate()
        reap(proc)
        remove_vendor_settings(files)
        fault = end.finish(status, reason, raise_fault=False,
                           # after the status (an application's grace never delays it), before the story ends
                           after_status=lambda: close_apps(cfg, "after the job", shipper))
    if fault:
        raise MachineFault(fault, shipper)
    return shipper


def running_state(job: ConsumedJob, robot: Optional[psutil.Process], folder: str) -> dict[str, Any]:
    """What crash recovery needs: the job (its GUID is the process marker), the robot's identity, and the
    job folder (its task ledger: tasks the robot took are released)."""
    return {"job_guid": job.guid, "job_name": job.name, "pid": robot.pid if robot else None,
            "create_time": robot.create_time() if robot else None, "folder": folder}


def send_in_progress(cfg: Config, orch: Orchestrator, job: ConsumedJob,
                       stop: Optional[threading.Event] = None) -> None:
    """Step 3's job/update 8, retried through an outage (until `stop` is set: the robot already ended)."""
    try:
        with_retries("job/update In Progress", lambda: orch.update_job(job.guid, JOB_STATUS_IN_PROGRESS),
                     cfg.retry_seconds, stop=stop)
        logger.info("Job %s: status %s reported", job.guid, JOB_STATUS_NAMES[JOB_STATUS_IN_PROGRESS])
    except (Unreachable, OrchestratorError) as e:
        if stop is not None and stop.is_set():
            logger.warning("Job %s: could not report In Progress before the robot ended (%s); the final status "
                           "goes out alone", job.guid, e)
        else:
            logger.error("Job %s: could not report In Progress (%s); running it anyway", job.guid, e)


def describe_os_error(error: OSError) -> str:
    """An OSError in one line: what failed on which file (strerror and file name, not a repr)."""
    what = error.strerror or type(error).__name__
    if error.filename:
        return f"{what}: {error.filename}"
    return f"{what} ({clean(error, 120)})" if str(error) and str(error) != what else what


def process_or_none(pid: int) -> Optional[psutil.Process]:
    try:
        return psutil.Process(pid)  # remembers the create time, so a recycled PID is never killed
    except PROCESS_ERRORS:
        return None


def reap(proc: subprocess.Popen | EnvironmentBuild) -> None:
    if isinstance(proc, EnvironmentBuild):
        proc.cancel()  # a wait for another account's build ends here
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


# =================================================================================================
# A job's end: final status, task outcomes, the story; crash recovery
# =================================================================================================
class JobEnd:
    """Owns a job's end, whoever ends it (the robot's exit, Abort, a timeout, an interrupt, a restart after
    a crash): finish() ends it in an order where a crash or an interrupt at any point loses and falsifies
    nothing, and a full disk ends the run with exit 7 with the job still reported.

    Written first: the tasks the robot left In progress are released in its task ledger, the final
    status goes into the journal, the story's end into the job's log outbox. Then the running-job state
    goes, and the status is sent, the task outcomes after it, then the log entries.
    """

    def __init__(self, cfg: Config, orch: Orchestrator, store: RobotFiles, job_guid: str,
                 shipper: Optional[LogShipper], folder: Optional[str]) -> None:
        self.cfg, self.orch, self.store, self.job_guid = cfg, orch, store, job_guid
        self.shipper = shipper
        self.folder = folder  # the job folder: its task ledger and output.log
        self.started = time.monotonic()

    def finish(self, status: int, reason: str, retry_seconds: Optional[float] = None,
               flush_seconds: float = LOG_FLUSH_SECONDS, after_status: Optional[Callable[[], None]] = None,
               raise_fault: bool = True) -> Optional[str]:
        """Step 4. Returns what this machine could not write (a full disk), or raises it as MachineFault."""
        duration = time.monotonic() - self.started
        level = logging.INFO if status in (JOB_STATUS_SUCCESS, JOB_STATUS_STOPPED) else logging.WARNING
        logger.log(level, "Job %s finished: %s (%s) after %.1f s", self.job_guid, JOB_STATUS_NAMES[status], reason,
                   duration)
        fault = release_tasks(self.folder, reason, self.shipper) if self.folder is not None else None
        record = {"id": "", "job": self.job_guid, "status": status, "at": time.time()}
        try:
            record = self.store.journal.append({"job": self.job_guid, "status": status, "reason": reason,
                                                "took": round(duration, 1)})
        except OSError as e:  # a full disk must not cost the job its status: still try to deliver it
            fault = f"cannot write the journal {self.store.journal.path}: {describe_os_error(e)}"
            logger.error("Job %s: %s; an outage now would lose this status", self.job_guid, fault)
        output = os.path.join(self.folder, "output.log") if self.folder is not None else None
        if self.shipper is not None:
            self.shipper.end_story(status, reason, duration, output)
        # Cleared whether or not the journal could be written: the job is over, and a running-state file left
        # behind would make the next start report a job "framework restarted" whose true status went out.
        clear_running_or_say(self.store, self.job_guid)
        delivered = send_final_statuses(self.cfg, self.orch, self.store, [record],
                                        self.cfg.retry_seconds if retry_seconds is None else retry_seconds)
        if self.folder is not None:
            fault = send_task_outcomes(self.cfg, self.orch, self.folder, reason, self.shipper,
                                 TASK_SETTLE_SECONDS if delivered else 0.0) or fault
        if after_status is not None:
            after_status()
        if self.shipper is not None:
            self.shipper.flush(flush_seconds)
        if fault and raise_fault:
            raise MachineFault(fault, self.shipper)
        return fault


def send_task_outcomes(cfg: Config, orch: Orchestrator, folder: str, why: str, shipper: Optional[LogShipper] = None,
                       seconds: float = 0.0) -> Optional[str]:
    """No task is left In progress by a job, and no outcome a robot set is lost.

    Reads the job's task ledger (written by the robot API; the robot is gone by now) and releases the
    tasks it left held (release_held_tasks: a no-op where JobEnd.finish did it already). Then each task's
    last outcome not yet delivered is sent, in the order they were set, each retried for `seconds`; the
    first that fails ends the round (send_pending). An outcome the robot set always wins over the release.
    Once all is delivered the ledger is renamed tasks-settled.jsonl, so later rounds skip the folder.
    Returns what could not be written (a full disk), else None.
    """
    def what(record: dict[str, Any]) -> str:
        status = as_int(record.get("status"))
        return f"Task {clean(record['task'], 60)}: status {TASK_STATUS_NAMES.get(status or 0, status)}"

    def release_and_send(ledger: Outbox) -> None:
        release_held_tasks(ledger, why, shipper)
        if ledger.unreadable:
            logger.error("Task ledger %s: %d unreadable line(s) skipped (torn by a crash, or damaged)", ledger.path,
                         ledger.unreadable)
        if send_pending(ledger, ledger.latest("task"), what, lambda r: orch.call(
                "PUT", "/api/task/update", {"guid": r["task"], "status": as_int(r.get("status"))}, empty_ok=True),
                seconds):
            ledger.settle()

    return with_task_ledger(folder, release_and_send)


def release_tasks(folder: str, why: str, shipper: Optional[LogShipper]) -> Optional[str]:
    """The job's end: tasks its robot left In progress are released in its ledger (sent by send_task_outcomes).
    Returns what could not be written (a full disk), else None."""
    return with_task_ledger(folder, lambda ledger: release_held_tasks(ledger, why, shipper))


def with_task_ledger(folder: str, work: Callable[[Outbox], None]) -> Optional[str]:
    """`work` on the job folder's task ledger, if the robot kept one; what could not be written, else None."""
    path = os.path.join(folder, TASKS_LEDGER)
    if not os.path.exists(path):
        return None
    try:
        work(Outbox(path, done_path=os.path.join(folder, TASKS_LEDGER_SETTLED)))
    except OSError as e:
        logger.error("Task ledger %s: %s", path, describe_os_error(e))
        return f"cannot write the task ledger {path}: {describe_os_error(e)}"
    return None


def release_held_tasks(ledger: Outbox, why: str, shipper: Optional[LogShipper]) -> None:
    """Tasks whose last ledger record is their take: Failed (application exception), or New when the take
    was never acknowledged. The release is recorded, then sent with the outcomes."""
    ledger.refresh()
    last = {record["task"]: record for record in ledger.records.values() if isinstance(record.get("task"), str)}
    for guid, record in last.items():
        how = ledger.done.get(record["id"])
        if as_int(record.get("status")) != TASK_IN_PROGRESS or how == "refused":
            continue
        put_back = how is None
        status = TASK_NEW if put_back else TASK_FAILED_APPLICATION
        ledger.append({"task": guid, "status": status, "name": record.get("name")})
        message = (f"Task {clean(record.get('name'), 100)!r} ({clean(guid, 60)}) was still In progress when the job "
                   f"ended ({why}): " + ("put back to New (its take may not have reached the Orchestrator)"
                                         if put_back else f"marked {TASK_STATUS_NAMES[status]}"))
        logger.warning("%s", message)
        if shipper is not None:
            shipper.add("warning", message)


def send_task_ledgers(cfg: Config, orch: Orchestrator) -> None:
    """Between jobs: ledgers of ended jobs with outcomes still undelivered (an outage, a crash), oldest
    job first, one attempt each (the rest waits for the next round)."""
    for path in files_in_job_folders(cfg, TASKS_LEDGER):
        send_task_outcomes(cfg, orch, os.path.dirname(path), "the job ended before its outcome was reported")
        if os.path.exists(path):
            return


def clear_running_or_say(store: RobotFiles, job_guid: str) -> None:
    try:
        store.clear_running()
    except OSError as e:
        logger.error("Job %s: cannot remove %s (%s); the next start will clean up after this job as if the "
                     "framework had crashed", job_guid, store.running, describe_os_error(e))


def send_final_statuses(cfg: Config, orch: Orchestrator, store: RobotFiles,
                        records: Optional[list[dict[str, Any]]] = None, seconds: float = 0.0) -> bool:
    """Final statuses from the journal (default: all not yet delivered, an earlier outage's or crash's,
    one attempt each); each is marked once delivered, and the journal emptied when nothing is left."""
    def what(record: dict[str, Any]) -> str:
        name = JOB_STATUS_NAMES.get(as_int(record.get("status")) or 0, record.get("status"))
        return f"Job {clean(record.get('job'), 60)}: job/update {name}"

    journal = store.journal
    if records is None and (store.journal_delivered or journal.empty()):
        store.journal_delivered = True
        return True  # between jobs, nearly always: nothing to look at, or one stat
    # Nothing else undelivered before this round's records: once they are out, the whole journal is.
    nothing_older = records is not None and store.journal_delivered
    store.journal_delivered = False
    try:
        sent = send_pending(journal, journal.latest("job") if records is None else records, what,
                            lambda r: orch.update_job(r["job"], as_int(r.get("status")) or JOB_STATUS_FAILED),
                            seconds)
        if records is None:
            store.journal_delivered = sent and journal.settle()
        else:  # a job's end: emptied while the next robot boots, not between the final status and the heartbeat
            store.journal_delivered = sent and nothing_older
    except OSError as e:  # a mark or the emptying: at worst a status is sent again
        logger.error("Journal %s: %s; a delivered status may be sent again", journal.path, describe_os_error(e))
        sent = False
    return sent


def recover_crashed_job(cfg: Config, orch: Orchestrator, store: RobotFiles) -> Optional[LogShipper]:
    """A running-state file at start means a previous run died mid-job: clean up and report Failed.

    Returns the job's log shipper (its end, its output tail, what the crash left undelivered), still
    flushing: the caller closes it."""
    state = store.load_running()
    if state is None:
        return None
    guid = state.get("job_guid")
    if not isinstance(guid, str) or not guid:
        store.clear_running()
        return None
    folder = state.get("folder") if isinstance(state.get("folder"), str) else None
    journaled = store.journaled(guid)
    if journaled is not None:
        # It stopped between journaling the job's true outcome and clearing this file: the journal
        # delivers that outcome (reporting Failed here would overwrite it); the story gets its end.
        store.clear_running()
        shipper = LogShipper.resume(cfg, orch.companion("logs"), folder, guid) if folder else None
        if shipper is not None:
            status = as_int(journaled.get("status")) or JOB_STATUS_FAILED
            took = journaled.get("took")
            shipper.end_story(status if status in JOB_STATUS_NAMES else JOB_STATUS_FAILED,
                              clean(journaled.get("reason"), 200), took if isinstance(took, (int, float)) else 0.0,
                              os.path.join(folder, "output.log"))
            shipper.flush()
        return shipper
    logger.warning("Job %s was running when the framework stopped unexpectedly; cleaning up", clean(guid, 60))
    root = None
    pid, create_time = state.get("pid"), state.get("create_time")
    if isinstance(pid, int):
        candidate = process_or_none(pid)
        # Only the same process: PID and create time must both match, never a recycled PID.
        if candidate and isinstance(create_time, (int, float)) and abs(candidate.create_time() - create_time) < 0.01:
            root = candidate
    kill_job_processes(guid, root, "left over from a framework that stopped mid-job")
    shipper = LogShipper.resume(cfg, orch.companion("logs"), folder, guid) if folder else None
    JobEnd(cfg, orch, store, guid, shipper, folder).finish(JOB_STATUS_FAILED, "framework restarted while the job "
                                                                            "was running", retry_seconds=0)
    return shipper


@contextlib.contextmanager
def ignoring_interrupts(defer: bool = False) -> Iterator[None]:
    """Clean-up after an interrupt must not itself be interrupted by a second Ctrl+C.

    defer: the interrupt is not dropped but held: it takes effect once the block is done (a job's end,
    its outcome known, is finished first)."""
    held: list[int] = []
    names = ["SIGINT", "SIGTERM", "SIGBREAK"]
    saved = {}
    if threading.current_thread() is threading.main_thread():
        for name in names:
            if hasattr(signal, name):
                saved[name] = signal.signal(getattr(signal, name),
                                            (lambda signum, _frame: held.append(signum)) if defer else signal.SIG_IGN)
    try:
        yield
    finally:
        for name, handler in saved.items():
            signal.signal(getattr(signal, name), handler)
    if held:
        logger.warning("Interrupted (signal %d) while the job's end was reported; exiting now", held[0])
        raise KeyboardInterrupt if held[0] == signal.SIGINT else Interrupted(f"signal {held[0]}")


# =================================================================================================
# The main loop
# =================================================================================================
def send_ready_heartbeat(cfg: Config, orch: Orchestrator, identity: Identity) -> Heartbeat:
    return with_retries("Ready heartbeat", lambda: orch.heartbeat(identity, ROBOT_STATUS_READY), cfg.retry_seconds)


def send_last_ready_heartbeat(cfg: Config, orch: Orchestrator, identity: Identity) -> None:
    """One short attempt before exiting early: the Orchestrator sees this robot free of its job (it would
    show it Working until it timed the robot out). Nothing is consumed after it."""
    with contextlib.suppress(OrchestratorError):
        orch.heartbeat(identity, ROBOT_STATUS_READY, timeout=min(cfg.request_timeout, 5.0))


def consume_next_job(orch: Orchestrator) -> tuple[int, Optional[ConsumedJob]]:
    """Step 2. Never retried once the request may have reached the server: it is not idempotent."""
    try:
        code, text, job = orch.consume_next_job()
    except RequestNotSent as e:
        logger.warning("consumeNextJob did not reach the Orchestrator (%s); back to the heartbeat", e)
        return -1, None
    except OrchestratorError as e:
        if isinstance(e, RobotRefused):
            raise
        logger.error("consumeNextJob failed after the request was sent (%s): a job may have been consumed "
                  "without this robot knowing it; back to the heartbeat", e)
        return -1, None
    if code == CONSUME_NO_JOB:
        logger.info("consumeNextJob: no job (102, another robot may have taken it); back to the heartbeat")
    elif code != CONSUME_NO_ERROR:
        logger.warning("consumeNextJob: ConsumeJobErrorCode %d (%s)", code, text)
    return code, job


def run(cfg: Config, once: bool) -> tuple[int, bool]:
    """The framework algorithm. Returns (exit code, whether the session should be logged off)."""
    store = RobotFiles(cfg)
    store.acquire_lock()
    identity = detect_identity(cfg.host)
    logger.info("Robot framework started: Orchestrator %s, machine %s, IP %s, MAC %s, pid %d",
             cfg.host, identity.machine, identity.ip or "?", identity.mac or "?", os.getpid())
    if cfg.verify_tls is False:
        logger.warning("TLS certificate verification is OFF ([orchestrator] verify_tls = false): anyone on "
                    "the network path can impersonate the Orchestrator")
    if is_cleartext(cfg.host):
        logger.warning("[orchestrator] host %s is plain http:// to another machine: the robot GUID and every "
                       "password the robots fetch travel in clear text; use https://", cfg.host)
    orch = Orchestrator(cfg)
    remove_stale_vendor_settings(cfg)
    prune_environments(cfg)
    starter = RobotStarter(cfg)
    jobs_done = 0
    pause_before_heartbeat = 0.0
    # The last job's log entries, still being flushed (first: those of a job a crash interrupted).
    job_logs: Optional[LogShipper] = None
    try:
        store.migrate_journal()
        job_logs = recover_crashed_job(cfg, orch, store)
        while True:
            if pause_before_heartbeat:
                time.sleep(pause_before_heartbeat)
            send_final_statuses(cfg, orch, store)
            reply = send_ready_heartbeat(cfg, orch, identity)  # step 1 / step 5
            if reply.error_code == HEARTBEAT_ROBOT_NOT_FOUND:
                logger.error("The Orchestrator does not know this robot (HeartbeatErrorCode 101: %s); "
                          "check [orchestrator] robot_guid in %s", reply.error_text, cfg.path)
                return EXIT_ROBOT_NOT_FOUND, True
            if reply.error_code not in (HEARTBEAT_NO_ERROR, HEARTBEAT_JOB_ABORTING, HEARTBEAT_JOB_STOPPING):
                logger.warning("Ready heartbeat: HeartbeatErrorCode %d (%s)", reply.error_code, reply.error_text)
            send_final_statuses(cfg, orch, store)  # the server answers again: flush what an outage left
            send_task_ledgers(cfg, orch)  # task outcomes an outage or a crash left, oldest job first
            if not reply.has_new_job:
                logger.info("No job left for this robot (%d done in this run)", jobs_done)
                starter.discard()
                send_logs_before_exit(cfg, orch, job_logs)
                return EXIT_OK, True
            if once and jobs_done:
                logger.info("--once: one job done; the Orchestrator has more, leaving them for the next run")
                send_logs_before_exit(cfg, orch, job_logs)
                return EXIT_OK, False
            starter.start_spare()  # a job waits: its robot's interpreter boots while it is asked for
            code, job = consume_next_job(orch)  # step 2
            if code == CONSUME_ROBOT_NOT_FOUND:
                logger.error("The Orchestrator does not know this robot (ConsumeJobErrorCode 101); "
                          "check [orchestrator] robot_guid in %s", cfg.path)
                return EXIT_ROBOT_NOT_FOUND, True
            if job is None:
                # HasNewJob said yes but nothing came: wait one interval instead of spinning.
                pause_before_heartbeat = min(cfg.heartbeat_interval, RECOMMENDED_HEARTBEAT_INTERVAL)
                if job_logs is not None:  # the last job's flush goes first (it would wait for the next spawn)
                    job_logs.close()
                    job_logs = None
                continue
            pause_before_heartbeat = 0.0
            # The next robot's interpreter boots during this job's robot, if the run goes on and the
            # server answers (none is held while a final status waits for the server: it may be a while).
            starter.ahead = not once and store.journal_delivered
            # steps 3 and 4; the last job's flush goes on until this job's robot is spawned
            job_logs = run_job(cfg, orch, identity, store, job, starter, job_logs)
            jobs_done += 1
            if store.journal_delivered and not once:
                starter.start_spare()  # unless one is booted: the next robot's boots during the Ready heartbeat
            else:
                starter.discard()
    except RobotRefused as e:
        logger.error("%s", e)
        return EXIT_ROBOT_NOT_FOUND, True
    except RequestRejected as e:  # e.g. 404: host names a server, but not an Orchestrator API
        logger.error("The server at %s does not answer as an Orchestrator: %s. Check [orchestrator] host in %s",
                  cfg.host, e, cfg.path)
        return EXIT_UNREACHABLE, True
    except Unreachable as e:
        logger.error("Orchestrator %s unreachable: %s. Check the network and [orchestrator] host in %s",
                  cfg.host, e, cfg.path)
        return EXIT_UNREACHABLE, True
    except MachineFault as e:
        job_logs = e.shipper
        logger.error("%s. No further job is taken (each would fail the same way); exiting with code %d without "
                     "logging off, so a person can look at this machine", e, EXIT_MACHINE_FAULT)
        send_last_ready_heartbeat(cfg, orch, identity)
        return EXIT_MACHINE_FAULT, False
    except (KeyboardInterrupt, Interrupted):
        with ignoring_interrupts():
            logger.warning("Interrupted; sending a last Ready heartbeat and exiting without logging off")
            send_last_ready_heartbeat(cfg, orch, identity)
        return EXIT_INTERRUPTED, False
    finally:
        starter.discard()
        if job_logs is not None:
            job_logs.close()  # before the session logs off


def send_logs_before_exit(cfg: Config, orch: Orchestrator, job_logs: Optional[LogShipper]) -> None:
    """The last job's flush ends, then earlier jobs' undelivered log entries get LOG_EXIT_SLICE seconds
    (the rest stays on disk for the next start)."""
    if job_logs is not None:
        job_logs.close()
    send_log_backlog(cfg, orch, time.monotonic() + LOG_EXIT_SLICE)


def check(cfg: Config, lock: bool = True) -> int:
    """--check: config, identity and one Ready heartbeat, consuming nothing.

    lock=False (--install-task): may run while the framework itself runs for this robot.
    """
    store = RobotFiles(cfg)
    if lock:
        store.acquire_lock()  # held while `store` lives, to the end of this function
    identity = detect_identity(cfg.host)
    print(f"config:        {cfg.path} (valid)")
    print(f"orchestrator:  {cfg.host}")
    print(f"robot GUID:    {cfg.robot_guid[:8]}-... (the rest is a credential)")
    print(f"machine:       {identity.machine}")
    print(f"IP / MAC:      {identity.ip or '?'} / {identity.mac or '?'}")
    print(f"scripts_dir:   {cfg.scripts_dir}")
    environments = describe_environments(cfg)
    print(f"environments:  {len(environments)} in {cfg.envs_dir}")
    for line in environments:
        print(f"               {line}")
    others = readable_by_others(cfg.path)
    if others:
        print(f"WARNING:       {cfg.path} holds the robot GUID and {others}; restrict it to this account "
              f"(--install-task does, on Windows)")
    try:
        reply = Orchestrator(cfg).heartbeat(identity, ROBOT_STATUS_READY)
    except RobotRefused as e:
        print(f"heartbeat:     FAILED: {e}")
        return EXIT_ROBOT_NOT_FOUND
    except OrchestratorError as e:
        print(f"heartbeat:     FAILED: {e}")
        return EXIT_UNREACHABLE
    print(f"heartbeat:     HeartbeatErrorCode={reply.error_code} HasNewJob={int(reply.has_new_job)} "
          f"ErrorText={reply.error_text!r}")
    return EXIT_ROBOT_NOT_FOUND if reply.error_code == HEARTBEAT_ROBOT_NOT_FOUND else EXIT_OK


# =================================================================================================
# The job's story in the Orchestrator: /api/log/create
# =================================================================================================
class LogShipper:
    """Ships one job's log entries to the Orchestrator from a thread of its own, never on the job's path.

    Durable and ordered. Every entry is on disk in the job folder before it is sent: the framework's
    own (job started, job ended with its reason, the output tail) are appended to the job's outbox
    (logs.jsonl) as they are made; the robot's (log() and OrchestratorLogHandler append JSON lines to
    robot-log.jsonl) are copied there by this thread, in the order it reads them, each with where its line
    ends in the robot's file. The outbox (an Outbox: its first record names the job) is sent in order,
    each entry marked once delivered, so an outage, the end of the run or a crash only postpones what is
    left: later rounds (the next job's shipper once its own entries are out, the end of the run, the next
    start) resume from the marks. An entry whose request may have reached the server may be sent again
    (at least once, never skipped); an entry still failing OUTBOX_GIVE_UP_DAYS after it was written is
    given up with the rest of its job's, counted.

    Bounded: LOG_MAX_ENTRIES robot entries per job and LOG_MESSAGE_MAX characters per entry; a longer
    robot line is cut while it is read (never held whole); what is dropped or cut is counted in one entry
    of the job's log. end_story() writes the story's end before the final job/update; flush(), after it,
    gives the rest LOG_FLUSH_SECONDS from its release by close(): the next job's shipper closes it
    (`earlier`) from its own thread, which starts once that job's robot is spawned (the two share the
    "logs" connection), or the run's end does. The next Ready heartbeat and consumeNextJob have the way to
    themselves; the flush overlaps the next robot's start, which is spent waiting anyway.
    """

    def __init__(self, cfg: Config, sender: Orchestrator, job_guid: str, version_guid: str, folder: str,
                 earlier: Optional[LogShipper] = None) -> None:
        """sender: the Orchestrator this shipper's thread (or the backlog round's caller) sends with.
        earlier: the previous job's shipper, maybe still flushing; closed before this one's thread starts."""
        self.cfg, self.learned, self.job_guid, self.version_guid = cfg, sender.learned, job_guid, version_guid
        self.earlier = earlier
        self.folder = folder
        self.enabled = cfg.send_logs and self.learned.logs_supported
        self.outbox = job_log_outbox(folder)
        self.queue: collections.deque[dict[str, Any]] = collections.deque()  # written, not yet delivered, in order
        self.robot_log = os.path.join(folder, ROBOT_LOG)
        self.robot_running = True  # the robot may still append; False once it exited (a partial line is whole)
        self.robot_offset = 0  # how far the robot's file was copied: just after its last whole line
        self.robot_entries = self.dropped = self.cut = 0  # robot lines read, dropped past the cap, cut
        self.ended = False  # "Job ended" is written (end_story)
        self._named = False  # the outbox's first record (the job it belongs to) is written
        self._flush_seconds = LOG_FLUSH_SECONDS  # set by flush()
        self._closed = False
        self._lock = threading.Lock()
        self._wakeup = threading.Event()
        self._finishing = threading.Event()
        self._stop = threading.Event()
        self._go = threading.Event()  # cleared by hold() from the robot's end until close() releases the flush
        self._go.set()
        self._state_saved_at = 0.0
        self._scan_pos: Optional[int] = None  # how far the robot's file was read (a long line: mid-line)
        self._kept, self._skipped = b"", 0  # the robot's line being read: its start, and how much was cut
        self._retry_after: Optional[float] = None
        self.orch = sender
        self._thread = threading.Thread(target=self._run, name=f"logs-{clean(job_guid, 40)}", daemon=True)

    @classmethod
    def for_job(cls, cfg: Config, orch: Orchestrator, job: ConsumedJob, folder: str,
                earlier: Optional[LogShipper] = None) -> LogShipper:
        version = job.process_version if isinstance(job.process_version, dict) else {}
        return cls(cfg, orch.companion("logs"), job.guid, str(field_of(version, "guid") or ""), folder, earlier)

    @classmethod
    def resume(cls, cfg: Config, orch: Orchestrator, folder: str, job_guid: str = "") -> Optional[LogShipper]:
        """The shipper of an ended job's folder whose outbox still holds undelivered entries (or None).

        job_guid: the job is known (crash recovery), so a folder without an outbox yet (the framework died
        before the job's first entry) still gets its shipper: the robot's entries and the job's end go out."""
        outbox = job_log_outbox(folder)
        try:
            pending = outbox.pending()
        except OSError as e:
            logger.error("Log outbox %s cannot be read now (%s)", outbox.path, describe_os_error(e))
            return None
        named = next((r for r in outbox.records.values() if isinstance(r.get("job_guid"), str)), None)
        if named is None and job_guid:
            context = load_json_or_none(os.path.join(folder, "context.json"))
            version = field_of(context, "process_version") if isinstance(context, dict) else None
            named = {"job_guid": job_guid,
                     "version_guid": field_of(version, "guid") if isinstance(version, dict) else ""}
        if named is None:
            return None
        shipper = cls(cfg, orch, named["job_guid"], str(named.get("version_guid") or ""), folder)
        shipper.outbox, shipper._named, shipper.robot_running = outbox, bool(outbox.records), False
        shipper.queue.extend(record for record in pending if "message" in record)
        copied = [as_int(record.get("ro")) or 0 for record in outbox.records.values() if "ro" in record]
        shipper.robot_offset, shipper.robot_entries = max(copied, default=0), len(copied)
        shipper.ended = any(record.get("end") for record in outbox.records.values())
        if outbox.unreadable:
            logger.error("Log outbox %s: %d unreadable line(s) skipped (torn by a crash, or damaged)", outbox.path,
                         outbox.unreadable)
        return shipper

    # --- making entries ---
    def start(self) -> None:
        """Start shipping (after the robot's spawn: a thread start is not free, and the robot waits for nothing)."""
        if not self.enabled:
            self.close_earlier()  # no thread of this one's to do it (nothing of the earlier one's is left to wait for)
        elif self._thread.ident is None:  # not started yet
            self._thread.start()

    def close_earlier(self) -> None:
        """The previous job's flush ends: by this shipper's thread as it starts (it may wait for that flush's
        deadline, which the job's supervision must never do), else by close()."""
        with self._lock:
            earlier, self.earlier = self.earlier, None
        if earlier is not None:
            earlier.close()
            self.orch.reopen()  # its close() cancelled the connection both use

    def add(self, level: str, message: str) -> None:
        """A framework entry (level: one of LOG_LEVELS), on disk at once."""
        if self.enabled:
            with self._lock:
                self._append(level, clean_message(message))
            self._wakeup.set()

    def hold(self) -> None:
        """The robot has ended: no new entry goes out until flush(), so the final status has the way free."""
        self._go.clear()

    def end_story(self, status: int, reason: str, duration: float, output: Optional[str]) -> None:
        """The end of the story, written before the final status goes out (a crash from here on cannot lose
        it) and sent after it: the robot's last entries, what the log is missing, "Job ended", the output
        tail of a job that did not succeed."""
        self.hold()
        if not self.enabled or self.ended:
            return
        self.robot_running = False
        while self.collect_robot_entries():  # the robot has exited: its last lines are in the file now
            pass
        self.add_gap_entry()
        failed = status not in (JOB_STATUS_SUCCESS, JOB_STATUS_STOPPED)
        with self._lock:  # marked as the end: a restart knows this story is whole
            self._append("error" if failed else "info",
                         f"Job ended: {JOB_STATUS_NAMES[status]} ({reason}) after {duration:.1f} s", end=True)
        if failed and output:
            tail = output_tail(output)
            if tail:
                self.add("error", f"Last lines of the robot's output:\n{tail}")
        self.ended = True

    def flush(self, flush_seconds: float = LOG_FLUSH_SECONDS) -> None:
        """After the final job/update: what is queued goes, within `flush_seconds` once close() releases it:
        when the next job's robot is spawned (its shipper closes this one) or the run ends. Until then the
        way is free for the next Ready heartbeat and consumeNextJob (the entries would compete with them for
        the machine and the server, and so make every job longer); the robot's start is spent waiting anyway."""
        self._flush_seconds = flush_seconds
        if not self.enabled:
            return
        self.start()  # a job that never got to start its robot still has its story to tell
        self._finishing.set()

    def add_gap_entry(self) -> None:
        """One entry that says what the job's log in the Orchestrator is missing, if anything."""
        dropped, cut = self.dropped, self.cut
        gaps = []
        if dropped:
            gaps.append(f"{dropped} log entries of the robot dropped (more than {LOG_MAX_ENTRIES} in one job)")
        if cut:
            gaps.append(f"{cut} over-long log lines of the robot cut to {LOG_MESSAGE_MAX} characters")
        if gaps:
            self.add("warning", "; ".join(gaps) + f"; the whole story is in {self.folder} on the robot's machine")

    def close(self) -> None:
        """Wait for the flush (until its deadline), then stop: what is left stays in the outbox for later."""
        self.close_earlier()
        if not self.enabled or self._closed or self._thread.ident is None:
            return
        self._closed = True
        self._go.set()  # the flush is released
        self._wakeup.set()
        self._thread.join(self._flush_seconds)
        self._stop.set()
        self._wakeup.set()
        if self.orch is not None:
            self.orch.cancel()  # a call still in flight is abandoned (it is sent again later)
        self._thread.join(WORKER_JOIN_TIMEOUT)
        self.settle()
        with self._lock:
            left = len(self.queue)
        if left > 0 and self.learned.logs_supported:
            logger.warning("Job %s: %d log entries not delivered to the Orchestrator yet; they stay in %s and are "
                           "sent later", self.job_guid, left, self.outbox)

    # --- the thread ---
    def _run(self) -> None:
        try:
            self.close_earlier()
            while not self._stop.is_set():
                self.collect_robot_entries()
                if self.pending():
                    self._go.wait()
                    delivered = not self._stop.is_set() and self.send_next()
                    if not delivered and not self.learned.logs_supported:
                        return
                    continue
                if self._finishing.is_set():
                    return  # drained
                # Idle while the job runs: older jobs' undelivered entries go now, one at a time.
                if not send_log_backlog(self.cfg, self.orch, time.monotonic() + LOG_BACKLOG_SLICE,
                                           exclude=self.folder, stop=self._stop, wake=self._wakeup):
                    self._wakeup.wait(LOG_POLL_INTERVAL)
                    self._wakeup.clear()
        except Exception:  # a bug here must not go unseen, nor cost the job anything
            logger.exception("Job %s: the log shipping thread failed", self.job_guid)

    def pending(self) -> bool:
        with self._lock:
            return self.pending_locked()

    def send_until(self, deadline: float) -> bool:
        """Synchronously (a backlog round): deliver until done or the deadline; True when all is out."""
        while self.collect_robot_entries() and time.monotonic() < deadline:
            pass
        while self.pending():
            if time.monotonic() >= deadline or self._stop.is_set() or not self.send_next(deadline):
                return False
        self.settle()
        return True

    def settle(self) -> None:
        """All delivered and the robot gone: the outbox is renamed, so later rounds skip this folder."""
        with self._lock:
            if self.robot_running:
                return
            with contextlib.suppress(OSError):
                # No /api/log/create (404/405): what is queued stays local only.
                self.outbox.settle(force=not self.learned.logs_supported)

    def pending_locked(self) -> bool:
        """Entries written but not yet delivered (the caller holds the lock)."""
        return bool(self.queue)

    def send_next(self, deadline: float = float("inf")) -> bool:
        """Send the first undelivered entry, retrying 5xx / timeouts with backoff (Retry-After honoured)
        until it goes through, the deadline, or close(). True when it is settled (delivered, or dropped
        on a 4xx); False when it is still to be sent."""
        with self._lock:
            if not self.queue:
                return True
            record = self.queue[0]
        failures = 0
        while True:
            outcome = self._send(record, deadline)
            if outcome is not None:
                break
            failures += 1
            pause = LOG_BACKOFF.pause(failures, self._retry_after)
            if time.monotonic() + pause >= deadline or self._stop.wait(pause):
                return False
        with self._lock:
            self.queue.popleft()
            with contextlib.suppress(OSError):  # a lost mark only sends the entry again
                self.outbox.mark(record["id"], "sent" if outcome else "refused")
        return True

    def _send(self, record: dict[str, Any], deadline: float = float("inf")) -> Optional[bool]:
        """One attempt, within the deadline too: True delivered, False dropped (4xx), None to be retried."""
        assert self.orch is not None
        level = record.get("level") if record.get("level") in LOG_LEVELS else "info"
        message = str(record.get("message", ""))
        written = record.get("at")
        if isinstance(written, (int, float)) and time.time() - written > LATE_ENTRY_SECONDS:
            # Delivered late (an outage, a restart): the Orchestrator stamps it now, so say when it happened.
            stamp = time.strftime("%Y-%m-%d %H:%M:%S" if time.time() - written > 43200 else "%H:%M:%S",
                                  time.localtime(written))
            message = f"[{stamp}] {message}"
        # The robot GUID is a credential every operator could read in the job log: masked in any entry
        # (a robot that prints its environment or config, the output tail), in any of its printed forms.
        message = mask_secrets(message, self.cfg.secrets, ignore_case=True)
        fields = {"robot_guid": self.cfg.robot_guid, "process_version_guid": self.version_guid,
                  "job_guid": self.job_guid, "level": ORCHESTRATOR_LEVELS[level], "message": message,
                  "RobotGUID": self.cfg.robot_guid, "ProcessVersionGUID": self.version_guid,
                  "JobGUID": self.job_guid, "Level": ORCHESTRATOR_LEVELS[level], "Message": message}
        self._retry_after = None
        try:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.orch.call("POST", "/api/log/create", fields, empty_ok=True,
                           timeout=min(self.cfg.request_timeout, left))
            return True
        except RequestRejected as e:
            if e.status in (404, 405):
                if self.learned.logs_supported:
                    self.learned.logs_supported = False
                    logger.warning("The Orchestrator has no /api/log/create (HTTP %d): job logs stay in %s "
                                   "for the rest of this run", e.status, self.cfg.log_dir)
                self._stop.set()
                return None
            logger.warning("Log entry %s of job %s rejected by the Orchestrator (%s); dropped", record.get("id"),
                           self.job_guid, e)
            return False
        except OrchestratorError as e:
            logger.debug("Log entry %s of job %s not delivered yet: %s", record.get("id"), self.job_guid, e)
            self._retry_after = e.retry_after
            return None

    def give_up(self) -> None:
        """The give-up rule: entries still failing OUTBOX_GIVE_UP_DAYS after they were written are dropped,
        counted (locally, and in one entry of the job's log if the Orchestrator takes it) and marked, so no
        round tries them again."""
        with self._lock:
            left = list(self.queue)
            self.queue.clear()
        logger.warning("Job %s: %d log entries older than %g days were never delivered; given up (they stay in %s)",
                       self.job_guid, len(left), OUTBOX_GIVE_UP_DAYS, self.outbox.path)
        self._send({"level": "warning", "message": f"{len(left)} log entries of this job could not be delivered "
                                                       f"within {OUTBOX_GIVE_UP_DAYS:g} days and were dropped"})
        with self._lock, contextlib.suppress(OSError):
            for record in left:
                self.outbox.mark(record["id"], "given up")
        self.robot_running = False
        self.settle()

    # --- the outbox on disk ---
    def _append(self, level: str, message: str, robot_end: Optional[int] = None, end: bool = False) -> None:
        """One entry at the end of the outbox (the caller holds the lock). A robot entry also records where
        its line ends in the robot's file: after a crash the outbox itself says how far reading got, so no
        robot line is copied twice."""
        record: dict[str, Any] = {"level": level, "message": message}
        if robot_end is not None:
            record["ro"] = robot_end
        if end:
            record["end"] = True
        try:
            if not self._named:  # the job the outbox belongs to, written with its first entry
                os.makedirs(self.folder, exist_ok=True)
                named = self.outbox.append({"job_guid": self.job_guid, "version_guid": self.version_guid})
                self.outbox.mark(named["id"], "name")
                self._named = True
            self.queue.append(self.outbox.append(record))
        except OSError as e:  # a full disk: this entry cannot be kept, say so once per entry locally
            logger.error("Job %s: log entry not kept (%s): %s", self.job_guid, describe_os_error(e), clean(message))

    # --- the robot's entries ---
    def collect_robot_entries(self) -> bool:
        """Copy the robot's new lines into the outbox, never holding more than ROBOT_LINE_KEEP bytes of one
        line: a longer line is cut while it is read (its start kept). Past the cap lines are only counted.
        Each entry records where its line ends (`ro`), so a restart re-reads only what no entry holds yet.
        Returns True when there is more to read right away."""
        if not self.enabled:
            return False
        more = False
        with self._lock:
            durable = self.robot_offset
            pos = durable if self._scan_pos is None else self._scan_pos
            try:
                f = open(self.robot_log, "rb")
            except OSError:
                return False  # not written yet
            with f:
                f.seek(pos)
                for _ in range(LOG_READ_CHUNKS):
                    chunk = f.read(READ_CHUNK)
                    if not chunk:
                        break
                    pos += len(chunk)
                    while chunk:
                        newline = chunk.find(b"\n")
                        part = chunk if newline < 0 else chunk[:newline]
                        room = max(ROBOT_LINE_KEEP - len(self._kept), 0)
                        self._kept += part[:room]
                        self._skipped += max(0, len(part) - room)
                        if newline < 0:
                            break
                        durable = pos - len(chunk) + newline + 1  # just after this line's newline
                        self._robot_line(durable)
                        chunk = chunk[newline + 1:]
                else:
                    more = True  # a long line, or a flood: go on at once, not after the poll interval
                if not more and not self.robot_running and (self._kept or self._skipped):
                    durable = pos
                    self._robot_line(durable)  # the robot is gone: its unterminated last line is whole
            self._scan_pos = pos
            taken = durable != self.robot_offset
            self.robot_offset = durable
        if more or taken:  # only then: a wake-up for nothing new made the idle loop spin (a core per job)
            self._wakeup.set()
        return more

    def _robot_line(self, end: int) -> None:
        """One robot line read whole (or cut); `end`: the offset just after it in the robot's file."""
        line, skipped = self._kept, self._skipped
        self._kept, self._skipped = b"", 0
        if not line.strip() and not skipped:
            return
        self.robot_entries += 1
        if self.robot_entries > LOG_MAX_ENTRIES:
            self.dropped += 1
            return
        level, message = parse_robot_entry(line, cut=skipped > 0)
        if skipped:
            self.cut += 1
            message = clean_message(message)[:LOG_MESSAGE_MAX] + f" [cut: {len(line) + skipped:,} bytes in all]"
        self._append(level, message, robot_end=end)


def job_log_outbox(folder: str) -> Outbox:
    """A job's log entries. Not fsynced: a power loss may lose the last entries' marks (they are sent again)
    or the last entries, which a robot's own log file and output.log still hold."""
    return Outbox(os.path.join(folder, LOG_OUTBOX), durable=False, done_path=os.path.join(folder, LOG_OUTBOX_DONE))


def send_log_backlog(cfg: Config, orch: Optional[Orchestrator], deadline: float, exclude: str = "",
                        stop: Optional[threading.Event] = None, wake: Optional[threading.Event] = None) -> bool:
    """Earlier jobs' log entries still undelivered (an outage, the end of a run, a crash), oldest job first,
    until the deadline; the rest waits for the next round. True when something was delivered or tried.

    Entries still failing OUTBOX_GIVE_UP_DAYS after they were written are given up: counted locally and,
    if the Orchestrator takes it, in one entry of that job's log.
    """
    if orch is None or not cfg.send_logs or not orch.learned.logs_supported:
        return False
    worked = False
    for outbox in files_in_job_folders(cfg, LOG_OUTBOX):
        folder = os.path.dirname(outbox)
        if folder == exclude:
            continue
        if time.monotonic() >= deadline or (stop is not None and stop.is_set()) or (wake is not None and wake.is_set()):
            break
        shipper = LogShipper.resume(cfg, orch, folder)
        if shipper is None:
            continue
        if stop is not None:
            shipper._stop = stop
        worked = True
        if not shipper.send_until(deadline):
            if shipper.queue and Outbox.expired(shipper.queue[0]) and not shipper._stop.is_set():
                shipper.give_up()
                continue
            break
        logger.info("Job %s: the log entries left undelivered earlier are delivered", shipper.job_guid)
    return worked


def parse_robot_entry(line: bytes, cut: bool = False) -> tuple[str, str]:
    """A line of the robot's log file: {"level": ..., "message": ...} as log() writes it, else plain text.

    cut: only the line's start is here (it was longer than ROBOT_LINE_KEEP): its level and the message's
    start are still read from the JSON prefix log() writes.
    """
    if cut:
        text = line.decode("utf-8", errors="replace")
        match = re.match(r'\s*\{"level":\s*"(\w+)",\s*"message":\s*"', text)
        if not match:
            return "info", clean_message(text)
        body, message = text[match.end():], None
        for trim in range(8):  # the cut may fall inside an escape sequence: drop its start
            with contextlib.suppress(ValueError):
                message = parse_json('"' + body[:len(body) - trim] + '"')
                break
        level = match.group(1).lower()
        return (level if level in LOG_LEVELS else "info"), clean_message(str(message if message is not None else body))
    try:
        entry = parse_json(line)
        level = str(entry.get("level", "info")).lower()
        message = str(entry.get("message", ""))
    except (ValueError, AttributeError):
        level, message = "info", line.decode("utf-8", errors="replace")
    return (level if level in LOG_LEVELS else "info"), clean_message(message)


def clean_message(message: str) -> str:
    """Untrusted text for one entry: control characters other than newline and tab removed, length capped."""
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", " ", message)
    return text if len(text) <= LOG_MESSAGE_MAX else text[:LOG_MESSAGE_MAX] + "..."


def output_tail(path: str) -> str:
    """The last OUTPUT_TAIL_LINES lines (at most OUTPUT_TAIL_BYTES) of the robot's output."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - OUTPUT_TAIL_BYTES))
            data = f.read()
    except OSError:
        return ""
    lines = data.decode("utf-8", errors="replace").splitlines()
    if size > OUTPUT_TAIL_BYTES and lines:
        lines = lines[1:]  # the first one is probably cut
    return "\n".join(lines[-OUTPUT_TAIL_LINES:])


# =================================================================================================
# The Task Scheduler task that starts the framework at logon (--install-task, --uninstall-task)
# =================================================================================================
TASK_NS = "http://schemas.microsoft.com/windows/2004/02/mit/task"
TASK_FOLDER = "robot_framework"


def default_task_user() -> str:
    """DOMAIN\\user of the account running this command (Windows), else the login name."""
    user = os.environ.get("USERNAME") or getpass.getuser()
    domain = os.environ.get("USERDOMAIN")
    return f"{domain}\\{user}" if IS_WINDOWS and domain else user


def task_name(user: str) -> str:
    """\\robot_framework\\<account>: one task per robot account, readable in `schtasks /Query`."""
    return f"\\{TASK_FOLDER}\\" + re.sub(r'[\\/:*?"<>|\x00-\x1f]', "_", user)


def task_python() -> str:
    """pythonw.exe of the interpreter running this command: no console window on the robot's desktop."""
    folder, name = os.path.split(sys.executable)
    pythonw = os.path.join(folder, "pythonw.exe")
    if name.lower() == "pythonw.exe" or not IS_WINDOWS or os.path.isfile(pythonw):
        return pythonw
    logger.warning("No pythonw.exe beside %s: the task uses it, so a console window will show", sys.executable)
    return sys.executable


def task_arguments(cfg: Config) -> list[str]:
    """The task's arguments: the framework imported as a module, not run as a script.

    `python robot_framework.py` compiles the whole script at every start (its parser's peak stays in the
    RSS: ~10 MiB, and ~60 ms); imported, the module comes from its cached bytecode (__pycache__, written
    by --install-task). The folder is named in the command, so the task does not depend on "Start in".
    """
    start = (f"import sys; sys.path.insert(0, {FRAMEWORK_DIR!r}); import robot_framework; "
             f"sys.exit(robot_framework.main())")
    return ["-c", start, "--config", cfg.path]


def compile_for_task() -> Optional[str]:
    """The cached bytecode the task's start imports, and the robots' bootstrap's, compiled now: the robot
    accounts may not be allowed to write __pycache__ in the framework's folder. None when written, else
    why not."""
    import py_compile

    try:
        py_compile.compile(os.path.join(FRAMEWORK_DIR, "robot_framework.py"), doraise=True)
        if sys.implementation.cache_tag is not None:
            write_bootstrap_to(INSTALLED_BOOTSTRAP, durable=True)  # the robots' (bootstrap_arguments)
    except (OSError, py_compile.PyCompileError) as e:
        return clean(e, 200)
    return None


def task_definition(cfg: Config, user: str) -> str:
    """The Task Scheduler XML (schema 1.2): what the README's manual steps set, and nothing else."""
    import xml.etree.ElementTree as ET  # here, not at the top: it costs every start ~8 ms

    ET.register_namespace("", TASK_NS)

    def element(parent: Any, tag: str, text: Optional[str] = None, **attributes: str) -> Any:
        child = ET.SubElement(parent, f"{{{TASK_NS}}}{tag}", attributes)
        child.text = text
        return child

    task = ET.Element(f"{{{TASK_NS}}}Task", {"version": "1.2"})
    info = element(task, "RegistrationInfo")
    element(info, "Description", f"Runs Sherpa RPA Orchestrator jobs for {user} (robot_framework.py, config "
                                 f"{cfg.path}). Created by robot_framework.py --install-task.")
    element(info, "URI", task_name(user))
    triggers = element(task, "Triggers")
    logon = element(triggers, "LogonTrigger")  # the user logs on (console or RDP, the Coordinator's way)
    element(logon, "Enabled", "true")
    element(logon, "UserId", user)
    connect = element(triggers, "SessionStateChangeTrigger")  # RDP reconnect of an already signed-in account
    element(connect, "Enabled", "true")
    element(connect, "StateChange", "RemoteConnect")
    element(connect, "UserId", user)
    principal = element(element(task, "Principals"), "Principal", id="Author")
    element(principal, "UserId", user)
    element(principal, "LogonType", "InteractiveToken")  # only when logged on: the user's desktop, no password
    element(principal, "RunLevel", "LeastPrivilege")
    settings = element(task, "Settings")
    for tag, value in [("MultipleInstancesPolicy", "IgnoreNew"),  # logon + reconnect: one instance
                       ("DisallowStartIfOnBatteries", "false"), ("StopIfGoingOnBatteries", "false"),
                       ("AllowHardTerminate", "true"), ("StartWhenAvailable", "true"),
                       ("RunOnlyIfNetworkAvailable", "false"), ("AllowStartOnDemand", "true"),
                       ("Enabled", "true"), ("Hidden", "false"), ("RunOnlyIfIdle", "false"),
                       ("WakeToRun", "false"),
                       ("ExecutionTimeLimit", "PT0S"),  # no limit (the default would stop it after 72 h)
                       ("Priority", "5")]:  # normal: 7 (below normal) would also slow every robot
        element(settings, tag, value)
    exec_ = element(element(task, "Actions", Context="Author"), "Exec")
    python = task_python()
    element(exec_, "Command", f'"{python}"' if " " in python else python)
    element(exec_, "Arguments", subprocess.list2cmdline(task_arguments(cfg)))
    element(exec_, "WorkingDirectory", FRAMEWORK_DIR)  # "Start in": never quoted, or the task does nothing
    ET.indent(task)
    return '<?xml version="1.0" encoding="UTF-16"?>\n' + ET.tostring(task, encoding="unicode") + "\n"


def run_tool(command: list[str], timeout: float = 60) -> tuple[int, str]:
    """A helper command (schtasks, icacls, taskkill, the log-off command): no shell, no window, no stdin.

    Windows: these are console programs; started from pythonw.exe without CREATE_NO_WINDOW each would
    open a console window on the robot's desktop and could take the focus from the application a robot
    drives. stdin is NUL, never the framework's own (possibly stale) handle. The output goes through a
    file, not a pipe: schtasks may start the Task Scheduler service, and a process that inherits a
    pipe's handle keeps it open after schtasks ends (seen under Wine). Console programs write the OEM
    code page. Returns (exit code, output in one line); -1 when the command could not run or timed out.
    """
    options: dict[str, Any] = {"creationflags": subprocess.CREATE_NO_WINDOW} if IS_WINDOWS else {}
    with tempfile.TemporaryFile() as output:
        try:
            result = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                                    timeout=timeout, check=False, **options)
        except (OSError, subprocess.TimeoutExpired) as e:
            return -1, clean(e, 300)
        output.seek(0)
        text = output.read().decode("oem" if IS_WINDOWS else "utf-8", errors="replace")
    return result.returncode, clean(text.strip(), 300)


def run_schtasks(*args: str) -> tuple[int, str]:
    return run_tool(["schtasks", *args])


# Groups that take in every robot account of a terminal server (SDDL aliases and their SIDs).
BROAD_SIDS = {"WD": "Everyone", "S-1-1-0": "Everyone", "AU": "Authenticated Users", "S-1-5-11": "Authenticated Users",
              "BU": "Users", "S-1-5-32-545": "Users", "IU": "INTERACTIVE", "S-1-5-4": "INTERACTIVE"}


def readable_by_others(path: str) -> Optional[str]:
    """Why accounts other than this one can read `path` (it holds the robot GUID), or None.

    Windows: `icacls /save` writes the access list as SDDL, which, unlike icacls' listing, does not
    depend on the display language; an allow entry for a group every account is in is reported.
    """
    try:
        if not IS_WINDOWS:
            mode = os.stat(path).st_mode & 0o777
            return f"its mode is {mode:03o}: group or others can read it" if mode & 0o044 else None
        with tempfile.TemporaryDirectory() as folder:
            saved = os.path.join(folder, "acl.txt")
            code, _ = run_tool(["icacls", path, "/save", saved])
            if code != 0 or not os.path.isfile(saved):
                return None  # cannot tell (no icacls): say nothing rather than guess
            with open(saved, "rb") as f:
                sddl = f.read().decode("utf-16-le", errors="replace").lstrip("\ufeff")
    except OSError:
        return None
    allowed = re.findall(r"\((?:A|OA);[^;()]*;[^;()]*;[^;()]*;[^;()]*;([^;()]+)", sddl)  # (A;flags;rights;;;SID)
    groups = {BROAD_SIDS[sid.upper()] for sid in allowed if sid.upper() in BROAD_SIDS}
    return f"its access list lets {', '.join(sorted(groups))} read it" if groups else None


def restrict_to_account(path: str, user: str) -> Optional[str]:
    """Windows: `path` (a file, or a folder and all it holds) usable only by `user`, Administrators and
    SYSTEM. Returns what went wrong, or None. Many robot accounts share one terminal server: the config
    holds the robot GUID, and log_dir holds job contexts, outputs and the vendor settings file."""
    inherit = "(OI)(CI)" if os.path.isdir(path) else ""
    code, output = run_tool(["icacls", path, "/reset", "/T", "/Q"] if inherit else ["icacls", path, "/reset", "/Q"])
    if code == 0:
        grants = [f"{user}:{inherit}F", f"*S-1-5-32-544:{inherit}F", f"*S-1-5-18:{inherit}F"]  # Administrators, SYSTEM
        code, output = run_tool(["icacls", path, "/inheritance:r", "/Q", "/grant:r", *grants])
    return None if code == 0 else f"icacls exited with {code}: {output}"


def task_exists(name: str) -> bool:
    code, output = run_schtasks("/Query", "/TN", name)
    return code == 0 and bool(output)


def install_task(cfg: Config, user: str, dry_run: bool) -> int:
    """--install-task: register (or replace) the logon task for `user`; --dry-run prints its XML instead."""
    definition = task_definition(cfg, user)
    name = task_name(user)
    if dry_run:
        sys.stdout.write(definition)
        print(f"robot_framework: dry run: task {name} for {user} was not registered", file=sys.stderr)
        return EXIT_OK
    if not IS_WINDOWS:
        print("robot_framework: --install-task registers a Windows scheduled task and this is not Windows; "
              "--dry-run prints the task definition anywhere", file=sys.stderr)
        return EXIT_TASK
    code = check(cfg, lock=False)  # never install a task for a config that cannot work
    if code != EXIT_OK:
        print(f"robot_framework: task {name} not installed: the checks above failed (exit {code}); fix "
              f"{cfg.path} and run again", file=sys.stderr)
        return code
    existed = task_exists(name)
    with tempfile.TemporaryDirectory() as folder:
        xml_path = os.path.join(folder, "task.xml")
        with open(xml_path, "w", encoding="utf-16") as f:  # schtasks /XML reads UTF-16 with a BOM
            f.write(definition)
        code, output = run_schtasks("/Create", "/TN", name, "/XML", xml_path, "/F")
    if code != 0:
        hint = ("; registering a task for another account needs an administrator: run this from an elevated "
                "prompt" if user.lower() != default_task_user().lower() else "")
        print(f"robot_framework: schtasks could not create task {name} for {user} (exit {code}): {output}{hint}",
              file=sys.stderr)
        return EXIT_TASK
    print(f"Task {name} {'replaced' if existed else 'created'}: at logon of {user} and on remote connection to "
          f"that user's session, runs {task_python()} {subprocess.list2cmdline(task_arguments(cfg))}")
    problem = compile_for_task()
    if problem:
        print(f"robot_framework: could not compile {FRAMEWORK_DIR}\\__pycache__ ({problem}); each start compiles "
              f"the script instead (slower, and ~10 MiB more per robot account)", file=sys.stderr)
    os.makedirs(cfg.log_dir, exist_ok=True)
    for path in (cfg.path, cfg.log_dir):
        problem = restrict_to_account(path, user)
        if problem:
            print(f"robot_framework: could not restrict {path} to {user}, Administrators and SYSTEM ({problem}); "
                  f"other accounts on this machine may read the robot GUID", file=sys.stderr)
        else:
            print(f"Access to {path} restricted to {user}, Administrators and SYSTEM")
    return EXIT_OK


def uninstall_task(user: str, dry_run: bool) -> int:
    """--uninstall-task: remove the logon task for `user`; nothing to do is not an error."""
    name = task_name(user)
    if dry_run:
        print(f"robot_framework: dry run: would run schtasks /Delete /TN {name} /F", file=sys.stderr)
        return EXIT_OK
    if not IS_WINDOWS:
        print("robot_framework: --uninstall-task removes a Windows scheduled task and this is not Windows",
              file=sys.stderr)
        return EXIT_TASK
    code, output = run_schtasks("/Delete", "/TN", name, "/F")
    if code == 0:
        print(f"Task {name} removed")
        return EXIT_OK
    if not task_exists(name):
        print(f"No task {name}: nothing to remove")
        return EXIT_OK
    print(f"robot_framework: schtasks could not delete task {name} (exit {code}): {output}", file=sys.stderr)
    return EXIT_TASK


# =================================================================================================
# Log off and process-level plumbing
# =================================================================================================
def log_off(cfg: Config) -> None:
    command = split_command(cfg.logoff_command)
    if not IS_WINDOWS and cfg.logoff_command == DEFAULT_LOGOFF_COMMAND:
        logger.info("Not Windows: skipping the default log-off command %r", cfg.logoff_command)
        return
    logger.info("Logging off: %s", cfg.logoff_command)
    code, output = run_tool(command)
    if code == -1:
        logger.error("Log-off command %r failed: %s; check [session] logoff_command", cfg.logoff_command, output)
    elif code != 0:
        logger.error("Log-off command %r exited with %d: %s", cfg.logoff_command, code, output)


_cleanup_done = threading.Event()
_interrupt_reason: list[str] = []  # set by a Windows session end: the reason the job is reported Aborted with
_console_handlers: list[Any] = []  # HandlerRoutines only (send_ctrl_break registers them again)
_window_procedures: list[Any] = []  # the session window's WNDPROC


def install_interrupt_handlers() -> None:
    """SIGTERM (and Windows SIGBREAK / console close) end the run like Ctrl+C: robot killed, job Aborted."""

    def raise_interrupted(signum: int, _frame: Any) -> None:
        raise Interrupted(f"signal {signum}")

    # Ctrl+C is KeyboardInterrupt even when whoever started us ignored SIGINT (a shell's background job, some
    # service wrappers): Python keeps an ignored SIGINT ignored, and the robots would inherit that, so a
    # soft stop's SIGINT could never reach them.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, raise_interrupted)
    if IS_WINDOWS:
        signal.signal(signal.SIGBREAK, raise_interrupted)
        install_windows_console_handler()


def install_windows_console_handler() -> None:
    """Windows: closing the console window, logoff and shutdown are console events, not signals.

    Windows ends the process about 5 s after CTRL_CLOSE/LOGOFF/SHUTDOWN, so the handler (which runs
    on its own thread) interrupts the main thread and waits for its clean-up before returning.
    """
    import _thread
    import ctypes
    from ctypes import wintypes

    close_events = {2, 5, 6}  # CTRL_CLOSE_EVENT, CTRL_LOGOFF_EVENT, CTRL_SHUTDOWN_EVENT

    @ctypes.WINFUNCTYPE(wintypes.BOOL, wintypes.DWORD)
    def handler(event: int) -> bool:
        if event not in close_events:
            return False  # Ctrl+C / Ctrl+Break: Python's own SIGINT / SIGBREAK handling
        _thread.interrupt_main()
        _cleanup_done.wait(4.5)
        return True

    _console_handlers.append(handler)  # ctypes callbacks must stay referenced while installed
    windows_api().kernel32.SetConsoleCtrlHandler(handler, True)


WM_QUERYENDSESSION = 0x0011
WM_ENDSESSION = 0x0016
SESSION_WINDOW_CLASS = "robot_framework_session_watch"
SESSION_END_WAIT = 4.5  # seconds the window waits for the clean-up: Windows ends a process ~5 s after WM_ENDSESSION


def watch_session_end() -> None:
    """Windows: learn that the session ends (logoff, shutdown, Windows Update's restart) in time to say so.

    Console control events for logoff and shutdown reach only services ("interactive applications are
    terminated at logoff"), and under pythonw.exe there is no console at all. What every GUI process gets
    is WM_QUERYENDSESSION, then WM_ENDSESSION, sent to its top-level windows: so a hidden window on a
    small thread of its own answers them. On WM_ENDSESSION it interrupts the main thread, as the console
    handler does, and waits for the clean-up: the robot killed, the job reported Aborted with the reason
    "Windows session ended" (journaled first, so the next start delivers it if the network is gone).
    """
    if not IS_WINDOWS:
        return
    ready = threading.Event()
    threading.Thread(target=session_window_loop, args=(ready,), name="session-end", daemon=True).start()
    ready.wait(5)


def session_window_loop(ready: threading.Event) -> None:
    import _thread
    import ctypes
    from ctypes import wintypes

    user32, kernel32 = windows_api().user32, windows_api().kernel32
    lresult = ctypes.c_ssize_t
    wndproc_type = ctypes.WINFUNCTYPE(lresult, wintypes.HWND, wintypes.UINT, wintypes.WPARAM, wintypes.LPARAM)

    class WndClass(ctypes.Structure):  # WNDCLASSW
        _fields_ = (("style", wintypes.UINT), ("lpfnWndProc", wndproc_type), ("cbClsExtra", ctypes.c_int),
                    ("cbWndExtra", ctypes.c_int), ("hInstance", wintypes.HINSTANCE), ("hIcon", wintypes.HANDLE),
                    ("hCursor", wintypes.HANDLE), ("hbrBackground", wintypes.HANDLE),
                    ("lpszMenuName", wintypes.LPCWSTR), ("lpszClassName", wintypes.LPCWSTR))

    def window_procedure(hwnd: int, message: int, wparam: int, lparam: int) -> int:
        if message == WM_QUERYENDSESSION:
            return 1  # the session may end: the work is done on WM_ENDSESSION
        if message == WM_ENDSESSION:
            if wparam:  # it does end (not cancelled by another application)
                logger.warning("Windows session ending (WM_ENDSESSION): stopping the robot and reporting the job")
                _interrupt_reason.append("Windows session ended")
                _thread.interrupt_main()
                _cleanup_done.wait(SESSION_END_WAIT)
            return 0
        return user32.DefWindowProcW(hwnd, message, wparam, lparam)

    procedure = wndproc_type(window_procedure)
    # Kept referenced while in use, apart from the console handlers: send_ctrl_break registers each of those
    # again as a HandlerRoutine, which a window procedure (four arguments) must never become.
    _window_procedures.append(procedure)
    instance = kernel32.GetModuleHandleW(None)
    window_class = WndClass(lpfnWndProc=procedure, hInstance=instance, lpszClassName=SESSION_WINDOW_CLASS)
    hwnd = None
    if user32.RegisterClassW(ctypes.byref(window_class)):
        # A hidden top-level window (not a message-only one: those get no broadcasts such as these). Tried a
        # few times: at logon the session's desktop may not take windows yet (Wine: its desktop process
        # starts and ends with the windows of the prefix, and refuses a window in between).
        for _ in range(10):
            hwnd = user32.CreateWindowExW(0, SESSION_WINDOW_CLASS, "robot_framework", 0, 0, 0, 0, 0, None, None,
                                          instance, None)
            if hwnd:
                break
            time.sleep(0.2)
    ready.set()
    if not hwnd:
        logger.warning("Cannot create the window that learns of a Windows session end (WinError %d): a logoff "
                       "mid-job leaves the job to the next start's crash recovery", ctypes.get_last_error())
        return
    message = wintypes.MSG()
    while user32.GetMessageW(ctypes.byref(message), None, 0, 0) > 0:
        user32.TranslateMessage(ctypes.byref(message))
        user32.DispatchMessageW(ctypes.byref(message))


def parse_args(argv: Optional[list[str]]) -> argparse.Namespace:
    import argparse

    parser = argparse.ArgumentParser(prog="robot_framework.py",  # also when the scheduled task imports it
                                     description="Run Sherpa RPA Orchestrator jobs for this robot account.")
    parser.add_argument("--config", default=os.path.join(FRAMEWORK_DIR, "config.ini"),
                        help="config file (default: config.ini beside this script)")
    parser.add_argument("--no-logoff", action="store_true", help="never log off Windows at the end")
    parser.add_argument("--once", action="store_true", help="run at most one job")
    parser.add_argument("--check", action="store_true",
                        help="validate config, show identity, send one Ready heartbeat; consume nothing")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--prepare-envs", nargs="*", metavar="NAME",
                        help="build the environments of the robots in scripts_dir that declare dependencies (or of "
                             "the named robots), then exit")
    task = parser.add_argument_group("scheduled task (Windows)")
    task.add_argument("--install-task", action="store_true",
                      help="create (or replace) the Task Scheduler task that starts this framework at logon")
    task.add_argument("--uninstall-task", action="store_true", help="remove that task")
    task.add_argument("--user", help="robot account of the task (default: the current user; another account "
                                     "needs an administrator)")
    task.add_argument("--dry-run", action="store_true", help="print the task definition (XML), register nothing")
    return parser.parse_args(argv)


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    if args.uninstall_task:  # needs no config: the task is named after the account
        return uninstall_task(args.user or default_task_user(), args.dry_run)
    try:
        cfg, warnings = load_config(args.config)
    except ConfigError as e:
        report_early_error(f"config error: {e}", args.config)
        return EXIT_CONFIG
    if args.install_task:
        return install_task(cfg, args.user or default_task_user(), args.dry_run)
    if args.prepare_envs is not None:
        return prepare_envs(cfg, args.prepare_envs)
    try:
        setup_logging(cfg, args.verbose)
    except OSError as e:
        report_early_error(f"config error: {cfg.path}: [logging] log_dir {cfg.log_dir} is not writable: {e}",
                           args.config)
        return EXIT_CONFIG
    for warning in warnings:
        logger.warning("%s", warning)
    try:
        if args.check:
            return check(cfg)
        install_interrupt_handlers()
        contain_framework()
        watch_session_end()
        code, should_log_off = run(cfg, args.once)
    except AlreadyRunning as e:
        logger.error("%s", e)
        return EXIT_ALREADY_RUNNING
    except (KeyboardInterrupt, Interrupted):
        logger.warning("Interrupted before any job started; exiting without logging off")
        return EXIT_INTERRUPTED
    except Exception:
        logger.exception("Internal error; please report it with this log")
        return EXIT_INTERNAL_ERROR
    finally:
        release_framework_job()
        _cleanup_done.set()
    if should_log_off and cfg.logoff and not args.no_logoff:
        log_off(cfg)
    logger.info("Exiting with code %d", code)
    return code


if __name__ == "__main__":
    sys.exit(main())
