"""A local Sherpa Orchestrator emulator: a real HTTP(S) server on 127.0.0.1 for tests, demo and benchmark.

It implements the three robot endpoints of the framework algorithm and the ones robot code may call
(job log entries, assets, queues and tasks), records every request, queues jobs, can request
Abort/Stop for a job, and injects faults per endpoint (HTTP errors, HTML, dropped connections,
delays, trickling or huge answers, odd JSON).

Standalone:
    python tests/orchestrator_emulator.py --demo     # queue the example robot and run the framework once
    python tests/orchestrator_emulator.py --serve --port 4500 --job hello_robot
    python tests/orchestrator_emulator.py --serve --data robots/example_data.json --job invoice_queue_robot \
        --write-config local.ini                    # then: python robot_framework.py --config local.ini --once
    ... --serve --job hello_robot --stop-after 1 --exit-when-idle   # a soft-stop rehearsal, unattended
While serving, stdin takes commands: stop, abort, job NAME, state, quit.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional
from urllib.parse import parse_qsl, unquote

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
FRAMEWORK = os.path.join(REPO, "robot_framework.py")

ENDPOINTS = {
    "/api/robot/heartbeat": "heartbeat",
    "/api/robot/consumeNextJob": "consume",
    "/api/job/update": "update",
    "/api/log/create": "log",
    "/api/asset/update": "asset",
    "/api/task/create": "task",
    "/api/task/update": "task",
}
PREFIXES = {"/api/asset/read/": "asset", "/api/queue/lastTask/": "queue"}  # + a name or GUID
PENDING = 1
JOB_STATUS_NAMES = {3: "Aborted", 4: "Success", 5: "Failed", 7: "Stopped", 8: "In Progress"}
TASK_STATUS_NAMES = {0: "New", 1: "In progress", 2: "Success", 3: "Failed (application exception)",
                     4: "Failed (business exception)", 5: "Postponed", 6: "Abandoned"}
LEVELS = {"Debug", "Info", "Warning", "Error", "Critical"}
ASSET_CREDENTIALS, ASSET_TEXT = 1, 2


class Raw(str):
    """An answer body sent as it is, not JSON-encoded (an empty answer, say)."""


def endpoint_of(path: str) -> str:
    path = path.split("?", maxsplit=1)[0]
    if path in ENDPOINTS:
        return ENDPOINTS[path]
    return next((kind for prefix, kind in PREFIXES.items() if path.startswith(prefix)), "other")
FINAL_STATUSES = {3, 4, 5, 7}


@dataclass
class Job:
    guid: str
    name: str
    task: Any = None
    status: int = PENDING
    history: list = field(default_factory=list)  # statuses reported by the robot, in order
    abort: bool = False
    stop: bool = False


@dataclass
class Request:
    method: str
    endpoint: str  # heartbeat | consume | update | other
    path: str
    fields: dict
    authorization: str
    at: float  # time.time(), comparable across processes
    cookie: str = ""  # the Cookie header, if the client sent one


class _Server(ThreadingHTTPServer):
    # A real server's listen backlog (IIS, Kestrel: hundreds). socketserver's default, 5, overflows when
    # fifty frameworks connect at once (the benchmark's terminal-server row): the kernel drops the
    # handshakes it cannot queue, and a client then sees its connection reset.
    request_queue_size = 128


class Emulator:
    def __init__(self, robot_guid: Optional[str] = None, port: int = 0, tls: Optional[ssl.SSLContext] = None):
        self.robot_guid = robot_guid or str(uuid.uuid4())
        self.robot_guids = {self.robot_guid}  # add_robot(): more robot accounts served by this Orchestrator
        self.port = port
        self.tls = tls
        self.jobs: list[Job] = []
        self.requests: list[Request] = []
        # Called with each request's number (from 1) once the server applied it, before its answer leaves:
        # a test kills a process there (crash injection), so the request took effect and its answer is lost.
        self.after_apply: Optional[Callable[[int, Request], None]] = None
        self.faults: dict[str, list[dict]] = {k: [] for k in ("heartbeat", "consume", "update", "log", "asset",
                                                              "queue", "task")}
        self.logs: list[dict] = []  # /api/log/create entries: level, message, job_guid, process_version_guid
        self.log_endpoint = True  # False: 404, as an Orchestrator without it
        self.log_spelling: Optional[str] = None  # "snake" or "pascal": insist on that spelling (else 400)
        self.assets: dict[str, dict] = {}  # guid -> asset
        self.queues: dict[str, dict] = {}  # guid -> {"guid", "name", "tasks": [task, ...]}
        self.empty_queue_answer = "null"  # what lastTask answers for an empty queue: "null", "", "{}" or "404"
        self.payload_style = "string"  # Job/ProcessVersion/Task as JSON strings ("string") or objects
        self.task_key = "Task"
        self.update_methods = {"PUT"}  # {"POST"}: PUT answers 405, as the API reference page's server would
        self.set_cookie: Optional[str] = None  # a Set-Cookie header on every answer (a load balancer's affinity)
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self._server: Optional[ThreadingHTTPServer] = None
        self.connections: set = set()  # open client sockets, severed by stop()

    # --- life cycle ---
    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def start(self) -> Emulator:
        server = _Server(("127.0.0.1", self.port), _Handler)
        server.daemon_threads = True
        server.emulator = self  # type: ignore[attr-defined]
        if self.tls:
            server.socket = self.tls.wrap_socket(server.socket, server_side=True)
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        """Go down (connections refused) until start() again on the same port."""
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self.lock:
            # Keep-alive connections would otherwise go on being served by their threads.
            for sock in list(self.connections):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self.connections.clear()

    # --- scenario control ---
    def add_robot(self) -> str:
        """Another robot account (its GUID) this Orchestrator knows; jobs are handed to any of them."""
        guid = str(uuid.uuid4())
        with self.lock:
            self.robot_guids.add(guid)
        return guid

    def add_job(self, name: str, task: Any = None, guid: Optional[str] = None) -> Job:
        job = Job(guid=guid or str(uuid.uuid4()), name=name, task=task)
        with self.lock:
            self.jobs.append(job)
        return job

    def request_abort(self, job: Job) -> None:
        with self.lock:
            job.abort = True

    def request_stop(self, job: Job) -> None:
        with self.lock:
            job.stop = True

    def add_fault(self, endpoint: str, kind: str, times: int = 1, **options: Any) -> None:
        """Make the next `times` requests to `endpoint` misbehave.

        kind: status (options code, text, retry_after, headers), html, drop, delay (seconds, then: the
        JSON answered afterwards), slow (seconds, then the normal answer), body (text), trickle (headers,
        then one byte every `every` seconds of a `size`-byte body), huge (`size` bytes of JSON padding;
        chunked=True: no Content-Length).
        match: only requests whose form fields include these values (e.g. {"Status": "3"}).
        """
        with self.lock:
            self.faults[endpoint].extend({"kind": kind, **options} for _ in range(times))

    def _take_fault(self, endpoint: str, fields: dict) -> Optional[dict]:
        for i, fault in enumerate(self.faults.get(endpoint, [])):
            if all(fields.get(k) == v for k, v in fault.get("match", {}).items()):
                return self.faults[endpoint].pop(i)
        return None

    def calls(self, endpoint: Optional[str] = None) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if endpoint is None or r.endpoint == endpoint]

    def wait_for(self, predicate, timeout: float = 45.0) -> bool:
        deadline = time.monotonic() + timeout
        with self.changed:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.changed.wait(min(remaining, 0.1))
        return True

    def view(self) -> list[dict]:
        with self.lock:
            return [{"guid": j.guid, "name": j.name, "status": j.status, "history": list(j.history)} for j in self.jobs]

    # --- the API ---
    def handle(self, method: str, path: str, fields: dict, authorization: str, cookie: str = "") -> tuple[int, Any]:
        request = Request(method, endpoint_of(path), path, fields, authorization, time.time(), cookie)
        with self.changed:
            self.requests.append(request)
            number = len(self.requests)
            self.changed.notify_all()
        answer = self._apply(request)
        if self.after_apply is not None:
            self.after_apply(number, request)
        return answer

    def _apply(self, request: Request) -> tuple[int, Any]:
        method, endpoint, path, fields, authorization = (request.method, request.endpoint, request.path,
                                                         request.fields, request.authorization)
        with self.lock:
            fault = self._take_fault(endpoint, fields)
        if fault and fault["kind"] == "slow":
            time.sleep(fault.get("seconds", 1.0))
        elif fault:
            return 0, fault
        if endpoint == "other":
            return 404, {"error": "no such endpoint"}
        if endpoint in ("log", "asset", "queue", "task"):
            if authorization not in {"Basic " + base64.b64encode(g.encode()).decode() for g in self.robot_guids}:
                return 401, {"error": "unauthorized"}
            return getattr(self, f"_{endpoint}")(method, path, fields)
        if endpoint == "update":
            if method not in self.update_methods:
                return 405, {"error": "method not allowed"}
            return self._update(fields)
        if method != "POST":
            return 405, {"error": "method not allowed"}
        # Basic auth is the GUID alone; a header that does not match the RobotGUID field is refused,
        # a well-formed but unknown GUID gets error code 101, as the algorithm document describes.
        if authorization != "Basic " + base64.b64encode(fields.get("RobotGUID", "").encode()).decode():
            return 401, {"error": "unauthorized"}
        known = fields.get("RobotGUID") in self.robot_guids
        if endpoint == "heartbeat":
            return self._heartbeat(fields, known)
        return self._consume(known)

    def _heartbeat(self, fields: dict, known: bool) -> tuple[int, Any]:
        if not known:
            return 200, {"HeartbeatErrorCode": 101, "ErrorText": "Robot not found", "HasNewJob": 0}
        code = 0
        with self.lock:
            job = next((j for j in self.jobs if j.guid == fields.get("JobGUID")), None)
            if job and fields.get("Status") == "3":
                code = 10 if job.abort else 20 if job.stop else 0
            has_new = int(any(j.status == PENDING for j in self.jobs))
        return 200, {"HeartbeatErrorCode": code, "ErrorText": "", "HasNewJob": has_new, "ServerTime": time.time()}

    def _consume(self, known: bool) -> tuple[int, Any]:
        if not known:
            return 200, {"ConsumeJobErrorCode": 101, "ErrorText": "Robot not found"}
        with self.lock:
            job = next((j for j in self.jobs if j.status == PENDING), None)
            if job is None:
                return 200, {"ConsumeJobErrorCode": 102, "ErrorText": "New job not found"}
            job.status = 0  # taken; the robot reports In Progress next
        parts = {
            "Job": {"GUID": job.guid, "Status": 1},
            "ProcessVersion": {"GUID": str(uuid.uuid5(uuid.NAMESPACE_URL, job.name)), "Name": job.name},
            self.task_key: job.task,
        }
        if self.payload_style == "string":
            parts = {k: json.dumps(v) for k, v in parts.items()}
        return 200, {"ConsumeJobErrorCode": 0, "ErrorText": "", **parts}

    # --- assets, queues, logs (the calls robot code may make) ---
    def add_asset(self, name: str, text: str = "", password: Optional[str] = None, guid: Optional[str] = None,
                  kind: Optional[int] = None) -> dict:
        asset = {"guid": guid or str(uuid.uuid4()), "name": name,
                 "type": kind or (ASSET_CREDENTIALS if password is not None else ASSET_TEXT), "text": text}
        if password is not None:
            asset["password"] = password
        with self.lock:
            self.assets[asset["guid"]] = asset
        return asset

    def add_queue(self, name: str, guid: Optional[str] = None) -> dict:
        queue = {"guid": guid or str(uuid.uuid4()), "name": name, "tasks": []}
        with self.lock:
            self.queues[queue["guid"]] = queue
        return queue

    def add_task(self, queue_name: str, name: str, parameters: Optional[dict] = None,
                 raw_parameters: Optional[str] = None) -> dict:
        """raw_parameters: the parameters field as it is (not JSON, a list, ...), for bad task data."""
        with self.lock:
            queue = self._find(self.queues, queue_name)
            encoded = raw_parameters if raw_parameters is not None else json.dumps(parameters or {})
            task = {"guid": str(uuid.uuid4()), "name": name, "parameters": encoded,
                    "status": 0, "queue_guid": queue["guid"], "history": []}
            queue["tasks"].append(task)
        return task

    def load_data(self, path: str) -> None:
        """Preload from JSON: {"assets": [{"name", "text", "password"?, "guid"?}],
        "queues": [{"name", "guid"?, "tasks": [{"name", "parameters"}]}]}."""
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        for asset in data.get("assets", []):
            self.add_asset(asset["name"], asset.get("text", ""), asset.get("password"), asset.get("guid"))
        for queue in data.get("queues", []):
            self.add_queue(queue["name"], queue.get("guid"))
            for task in queue.get("tasks", []):
                self.add_task(queue["name"], task["name"], task.get("parameters"))

    def task(self, guid: str) -> dict:
        with self.lock:
            return next(t for q in self.queues.values() for t in q["tasks"] if t["guid"] == guid)

    @staticmethod
    def _find(table: dict, name_or_guid: str) -> Optional[dict]:
        return table.get(name_or_guid) or next((v for v in table.values() if v["name"] == name_or_guid), None)

    def _log(self, method: str, _path: str, fields: dict) -> tuple[int, Any]:
        if not self.log_endpoint:
            return 404, {"error": "no such endpoint"}
        if method != "POST":
            return 405, {"error": "method not allowed"}
        snake = {k: fields.get(k) for k in ("robot_guid", "process_version_guid", "job_guid", "level", "message")}
        pascal = {k: fields.get(p) for k, p in zip(snake, ("RobotGUID", "ProcessVersionGUID", "JobGUID", "Level",
                                                            "Message"))}
        chosen = {"snake": snake, "pascal": pascal}.get(self.log_spelling or "")
        entry = chosen or (snake if snake["message"] is not None else pascal)
        if entry["message"] is None or entry["level"] not in LEVELS or entry["robot_guid"] not in self.robot_guids:
            return 400, {"error": "bad log entry"}
        with self.changed:
            self.logs.append({**entry, "at": time.time()})
            self.changed.notify_all()
        return 200, []

    def _asset(self, method: str, path: str, fields: dict) -> tuple[int, Any]:
        with self.lock:
            if method == "GET" and path.startswith("/api/asset/read/"):
                asset = self._find(self.assets, unquote(path[len("/api/asset/read/"):]))
                return (200, dict(asset)) if asset else (404, {"error": "asset not found"})
            if method != "PUT":
                return 405, {"error": "method not allowed"}
            asset = self._find(self.assets, fields.get("guid", ""))
            if asset is None:
                return 404, {"error": "asset not found"}
            for key in ("name", "text", "password"):
                if key in fields:
                    asset[key] = fields[key]
        return 200, []

    def _queue(self, method: str, path: str, _fields: dict) -> tuple[int, Any]:
        if method != "GET":
            return 405, {"error": "method not allowed"}
        with self.lock:
            queue = self._find(self.queues, unquote(path[len("/api/queue/lastTask/"):]))
            if queue is None:
                return 404, {"error": "queue not found"}
            task = next((t for t in queue["tasks"] if t["status"] == 0), None)
            if task is not None:
                return 200, {k: v for k, v in task.items() if k != "history"}
        if self.empty_queue_answer == "404":
            return 404, Raw("")
        return 200, Raw(self.empty_queue_answer)

    def _task(self, method: str, path: str, fields: dict) -> tuple[int, Any]:
        if path == "/api/task/create":
            if method != "POST":
                return 405, {"error": "method not allowed"}
            queue_ref = fields.get("queue_guid") or fields.get("QueueGuid") or ""
            with self.lock:
                queue = self._find(self.queues, queue_ref)
            if queue is None:
                return 404, {"error": "queue not found"}
            try:
                parameters = json.loads(fields.get("parameters") or "{}")
            except ValueError:
                return 400, {"error": "parameters must be JSON"}
            return 200, {"guid": self.add_task(queue["name"], fields.get("name", ""), parameters)["guid"]}
        if method != "PUT":
            return 405, {"error": "method not allowed"}
        with self.changed:
            task = next((t for q in self.queues.values() for t in q["tasks"] if t["guid"] == fields.get("guid")), None)
            if task is None:
                return 404, {"error": "task not found"}
            task["status"] = int(fields.get("status", "-1"))
            task["history"].append(task["status"])
            self.changed.notify_all()
        return 200, []

    def _update(self, fields: dict) -> tuple[int, Any]:
        with self.changed:
            job = next((j for j in self.jobs if j.guid == fields.get("guid")), None)
            if job is None:
                return 404, {"error": "job not found"}
            status = int(fields.get("status", "-1"))
            job.status = status
            job.history.append(status)
            self.changed.notify_all()
        return 200, []


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: avoid delayed-ACK stalls

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def setup(self) -> None:
        super().setup()
        emulator: Emulator = self.server.emulator  # type: ignore[attr-defined]
        with emulator.lock:
            emulator.connections.add(self.connection)

    def finish(self) -> None:
        emulator: Emulator = self.server.emulator  # type: ignore[attr-defined]
        with emulator.lock:
            emulator.connections.discard(self.connection)
        with contextlib.suppress(OSError):  # the client may already be gone
            super().finish()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    def _serve(self) -> None:
        emulator: Emulator = self.server.emulator  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8") if length else ""
        fields = dict(parse_qsl(body, keep_blank_values=True))
        status, payload = emulator.handle(self.command, self.path, fields, self.headers.get("Authorization", ""),
                                          self.headers.get("Cookie", ""))
        try:
            if status == 0:
                self._fault(payload)
                return
            data = payload.encode() if isinstance(payload, Raw) else json.dumps(payload).encode()
            cookie = {"Set-Cookie": emulator.set_cookie} if emulator.set_cookie else None
            self._send(status, data, "application/json", cookie)
        except OSError:  # the client gave up (a deadline, a size limit): nothing to answer
            self.close_connection = True

    def _send(self, status: int, data: bytes, content_type: str, headers: Optional[dict] = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _send_huge(self, size: int, chunked: bool) -> None:
        """A JSON object padded with spaces to `size` bytes, sent 1 MiB at a time."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(size))
        self.end_headers()
        block = b" " * 2**20
        left = size - 2
        self._write_part(b"{", chunked)
        while left > 0:
            self._write_part(block[:min(left, len(block))], chunked)
            left -= len(block)
        self._write_part(b"}", chunked)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    def _write_part(self, data: bytes, chunked: bool) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)

    def _fault(self, fault: dict) -> None:
        kind = fault["kind"]
        if kind == "drop":  # read the request, then hang up without a word
            self.close_connection = True
            self.connection.close()
            return
        if kind == "delay":
            time.sleep(fault.get("seconds", 1.0))
            self._send(200, json.dumps(fault.get("then", {})).encode(), "application/json")
            return
        if kind == "html":
            self._send(fault.get("code", 502), b"<html><body><h1>502 Bad Gateway</h1>proxy error</body></html>",
                       "text/html")
            return
        if kind == "trickle":  # a server that never finishes its answer
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(fault.get("size", 1000)))
            self.end_headers()
            for _ in range(fault.get("size", 1000)):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(fault.get("every", 1.0))
            return
        if kind == "huge":
            self._send_huge(fault.get("size", 600 * 2**20), fault.get("chunked", False))
            return
        if kind == "body":
            self._send(fault.get("code", 200), fault["text"].encode(), "application/json")
            return
        headers = dict(fault.get("headers", {}))
        if "retry_after" in fault:
            headers["Retry-After"] = str(fault["retry_after"])
        self._send(fault.get("code", 500), fault.get("text", "server error").encode(), "text/plain", headers)


# --- standalone use --------------------------------------------------------------------------------
def write_config(path: str, emulator: Emulator, log_dir: str, **overrides: Any) -> str:
    """A config.ini pointing at the emulator; overrides are "section.key": value."""
    values = {
        "orchestrator.host": emulator.url,
        "orchestrator.robot_guid": emulator.robot_guid,
        "orchestrator.request_timeout": 5,
        "orchestrator.retry_seconds": 10,
        "robot.scripts_dir": os.path.join(REPO, "robots"),
        "robot.heartbeat_interval": 1,
        "robot.stop_timeout": 5,
        "session.logoff": "false",
        "logging.log_dir": log_dir,
    }
    values.update(overrides)
    sections: dict[str, list[str]] = {}
    for dotted, value in values.items():
        section, key = dotted.split(".", 1)
        sections.setdefault(section, []).append(f"{key} = {value}")
    with open(path, "w", encoding="utf-8") as f:
        for section, lines in sections.items():
            f.write(f"[{section}]\n" + "\n".join(lines) + "\n\n")
    return path


def demo() -> int:
    emulator = Emulator().start()
    job = emulator.add_job("hello_robot", task={"invoice": "INV-001"})
    with tempfile.TemporaryDirectory() as tmp:
        # A short heartbeat interval, so the 0.6 s example robot shows Working heartbeats too.
        config = write_config(os.path.join(tmp, "config.ini"), emulator, os.path.join(tmp, "logs"),
                              **{"robot.heartbeat_interval": 0.25})
        print(f"Orchestrator emulator on {emulator.url}; queued job {job.guid} (robot hello_robot)\n")
        cmd = [sys.executable, FRAMEWORK, "--config", config, "--once", "--no-logoff"]
        print("$ " + " ".join(cmd), flush=True)
        # TMPDIR: the framework's lock file for this one-off robot GUID goes with the demo's folder.
        code = subprocess.call(cmd, env=dict(os.environ, TMPDIR=tmp))
        output = os.path.join(tmp, "logs", "jobs")
        for folder in sorted(os.listdir(output)) if os.path.isdir(output) else []:
            with open(os.path.join(output, folder, "output.log"), encoding="utf-8") as f:
                print(f"\n--- robot output ({folder}) ---\n{f.read().rstrip()}")
    print(f"\nframework exit code: {code}")
    print("\nThe Orchestrator's view (requests, the robot GUID left out):")
    for r in emulator.calls():
        if r.endpoint != "log":
            shown = {k: v for k, v in r.fields.items() if k != "RobotGUID"}
            print(f"  {r.method:4} {r.path:28} {shown}")
    for j in emulator.view():
        print(f"  job {j['guid']}: {' -> '.join(JOB_STATUS_NAMES.get(s, str(s)) for s in j['history'])}")
    print("\nThe job's log in the Orchestrator (POST /api/log/create):")
    emulator.wait_for(lambda: any(e["message"].startswith("Job ended") for e in emulator.logs), timeout=5)
    for entry in emulator.logs:
        print(f"  {entry['level']:8} {entry['message']}")
    emulator.stop()
    return 0 if code == 0 and emulator.jobs[0].status == 4 else 1


def serve(args: argparse.Namespace) -> int:
    """--serve: the local workbench (port, guid, job, data, write_config, stop_after, abort_after,
    exit_when_idle from the command line)."""
    data, config, exit_when_idle = args.data, args.write_config, args.exit_when_idle
    emulator = Emulator(robot_guid=args.guid, port=args.port)
    if data:
        emulator.load_data(data)
    emulator.start()
    for name in args.job:
        emulator.add_job(name)
    say(f"Orchestrator emulator on {emulator.url}, robot GUID {emulator.robot_guid}")
    if config:
        write_config(config, emulator, os.path.join(os.path.dirname(os.path.abspath(config)), "logs"),
                     **{"robot.heartbeat_interval": 2, "orchestrator.retry_seconds": 30})
        say(f"wrote {config}: python robot_framework.py --config {config} --once --no-logoff")
    show_services(emulator)
    bench = Workbench(emulator, args.stop_after, args.abort_after, exit_when_idle)
    say("Commands (type them here): stop, abort (the running job), job NAME (queue another), state, quit"
        + ("; exits by itself once every job has a final status" if exit_when_idle else "; Ctrl+C also quits"))
    return bench.run()


def say(line: str) -> None:
    """Every live line is flushed at once, so `| tee` or a log file shows it as it happens."""
    print(line, flush=True)


class Workbench:
    """--serve as a robot author's workbench: what the framework and the robot do, line by line in the
    order the requests arrived; Stop and Abort on a keystroke (stdin) or a timer; an end by itself."""

    def __init__(self, emulator: Emulator, stop_after: Optional[float], abort_after: Optional[float],
                 exit_when_idle: bool) -> None:
        self.emu, self.stop_after, self.abort_after = emulator, stop_after, abort_after
        self.exit_when_idle = exit_when_idle
        self.quit = threading.Event()
        self.started: dict[str, float] = {}  # job guid -> when its In Progress arrived
        self.final_seen = False  # a final job status arrived, and no Ready heartbeat since
        self.ready_after_final = False  # the framework sent a Ready heartbeat after the last final status

    def run(self) -> int:
        # SIGINT too: a shell that starts the emulator in the background makes it ignore SIGINT.
        for name in ("SIGINT", "SIGTERM"):
            with contextlib.suppress(ValueError, OSError):
                signal.signal(getattr(signal, name), lambda *_: self.quit.set())
        threading.Thread(target=self.read_commands, name="commands", daemon=True).start()
        shown = 0
        while not self.quit.is_set():
            with self.emu.changed:
                self.emu.changed.wait(0.1)
            calls = self.emu.calls()
            for request in calls[shown:]:
                self.show(request)
            shown = len(calls)
            self.apply_timers()
            if self.exit_when_idle and self.idle():
                # The job's last log entries travel after its final status: show them before the end.
                self.wait_quiet(shown)
                for request in self.emu.calls()[shown:]:
                    self.show(request)
                say("every job has a final status and the framework sent its next Ready heartbeat: exiting")
                break
        self.show_state()
        self.emu.stop()
        return 0

    def wait_quiet(self, seen: int, quiet: float = 1.0, longest: float = 10.0) -> None:
        """Until no request arrived for `quiet` seconds (at most `longest`)."""
        deadline, last_change = time.monotonic() + longest, time.monotonic()
        while time.monotonic() < min(deadline, last_change + quiet):
            time.sleep(0.05)
            if len(self.emu.calls()) != seen:
                seen, last_change = len(self.emu.calls()), time.monotonic()

    def job(self, guid: str) -> Optional[Job]:
        with self.emu.lock:
            return next((j for j in self.emu.jobs if j.guid == guid), None)

    def show(self, r: Request) -> None:
        if r.endpoint == "update":
            job, status = self.job(r.fields.get("guid", "")), int(r.fields.get("status") or -1)
            if job is None:
                return
            if status == 8:
                self.started.setdefault(job.guid, time.monotonic())
            if status in FINAL_STATUSES:
                self.final_seen, self.ready_after_final = True, False
            say(f"  job {job.name!r} -> {JOB_STATUS_NAMES.get(status, status)}")
        elif r.endpoint == "heartbeat" and r.fields.get("Status") == "2" and self.final_seen:
            self.final_seen = False
            self.ready_after_final = True
        elif r.endpoint == "task" and r.method == "PUT":
            with contextlib.suppress(StopIteration, ValueError):
                name = self.emu.task(r.fields.get("guid", ""))["name"]
                status = TASK_STATUS_NAMES.get(int(r.fields.get("status", "-1")), r.fields.get("status"))
                say(f"  task {name!r} -> {status}")
        elif r.endpoint == "task" and r.method == "POST":
            say(f"  task {r.fields.get('name')!r} added to queue {r.fields.get('queue_guid')!r}")
        elif r.endpoint == "asset" and r.method == "PUT":
            changed = ", ".join("password ***" if k == "password" else f"{k} {v!r}" for k, v in r.fields.items()
                                if k != "guid")
            say(f"  asset {r.fields.get('guid')!r} updated: {changed}")
        elif r.endpoint == "log":
            level = r.fields.get("level") or r.fields.get("Level") or "?"
            say(f"  log {level:8} {r.fields.get('message') or r.fields.get('Message') or ''}")

    def idle(self) -> bool:
        with self.emu.lock:
            done = all(j.status in FINAL_STATUSES for j in self.emu.jobs)
        return done and (self.ready_after_final or (not self.emu.jobs and bool(self.emu.calls("heartbeat"))))

    def apply_timers(self) -> None:
        now = time.monotonic()
        for guid, started in list(self.started.items()):
            job = self.job(guid)
            if job is None or job.status in FINAL_STATUSES:
                continue
            if self.abort_after is not None and now - started >= self.abort_after and not job.abort:
                self.request(job, "abort", f"--abort-after {self.abort_after:g}")
            elif self.stop_after is not None and now - started >= self.stop_after and not job.stop:
                self.request(job, "stop", f"--stop-after {self.stop_after:g}")

    def request(self, job: Job, what: str, why: str) -> None:
        (self.emu.request_abort if what == "abort" else self.emu.request_stop)(job)
        say(f"  ({what} requested for job {job.name!r} by {why}: the next Working heartbeat answers "
            f"{10 if what == 'abort' else 20})")

    def read_commands(self) -> None:
        for line in sys.stdin:
            words = line.split(maxsplit=1)
            command = words[0].lower() if words else ""
            if command in ("stop", "abort"):
                running = [j for j in self.emu.jobs if j.status == 8]
                if running:
                    self.request(running[-1], command, "you")
                else:
                    say("  no job is running (In Progress) to " + command)
            elif command == "job" and len(words) == 2:
                job = self.emu.add_job(words[1].strip())
                say(f"  queued job {job.name!r} ({job.guid})")
            elif command == "state":
                self.show_state()
            elif command in ("quit", "exit"):
                self.quit.set()
                return
            elif command:
                say("  commands: stop, abort, job NAME, state, quit")

    def show_state(self) -> None:
        say("End state:" if self.quit.is_set() or self.exit_when_idle else "State:")
        for j in self.emu.view():
            say(f"job {j['guid']} {j['name']}: {' -> '.join(JOB_STATUS_NAMES.get(s, str(s)) for s in j['history'])}")
        show_services(self.emu)


def show_services(emulator: Emulator) -> None:
    """Assets (never a password) and queues with their tasks' statuses."""
    for asset in emulator.assets.values():
        kind = "credentials" if asset["type"] == ASSET_CREDENTIALS else "text"
        value = f"login {asset['text']!r}, password ***" if kind == "credentials" else repr(asset["text"])
        print(f"asset {asset['name']!r} ({kind}): {value}")
    for queue in emulator.queues.values():
        print(f"queue {queue['name']!r}:")
        for task in queue["tasks"]:
            print(f"  task {task['name']!r} {task['parameters']}: {TASK_STATUS_NAMES.get(task['status'])}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--demo", action="store_true", help="run the example robot once and show the result")
    parser.add_argument("--serve", action="store_true", help="serve until quit (stdin), Ctrl+C or SIGTERM")
    parser.add_argument("--stop-after", type=float, metavar="S", help="--serve: request Stop S seconds after a "
                        "job's In Progress")
    parser.add_argument("--abort-after", type=float, metavar="S", help="--serve: request Abort S seconds after a "
                        "job's In Progress")
    parser.add_argument("--exit-when-idle", action="store_true", help="--serve: print the end state and exit once "
                        "every job has a final status and the framework sent its next Ready heartbeat")
    parser.add_argument("--port", type=int, default=4500)
    parser.add_argument("--guid", help="robot GUID to accept (default: a new one, printed)")
    parser.add_argument("--job", action="append", default=[], help="queue a job for this robot name")
    parser.add_argument("--data", help="JSON file of assets and queues to serve (see robots/example_data.json)")
    parser.add_argument("--write-config", metavar="PATH", help="write a config.ini for robot_framework.py pointing "
                        "here (scripts_dir robots/, logs beside it)")
    args = parser.parse_args()
    if args.serve:
        sys.exit(serve(args))
    sys.exit(demo())
