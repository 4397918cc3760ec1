"""Shared fixtures: a live emulator, a config writer, and runners for the real robot_framework.py."""

from __future__ import annotations

import functools
import os
import ssl
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import psutil
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # robot_framework itself

from orchestrator_emulator import FRAMEWORK, REPO, Emulator, write_config

TEST_ROBOTS = os.path.join(REPO, "tests", "robots")
# Set by tests/windows/run.sh: the suite runs as Windows processes under Wine (see README).
UNDER_WINE = os.environ.get("ROBOT_FRAMEWORK_WINE") == "1"
MARKER_SCRIPT = os.path.join(REPO, "tests", "logoff_marker.py")


@pytest.fixture(scope="session", autouse=True)
def _session_temp_folder(tmp_path_factory):
    """Point the system temp folder of this run, and of every process it starts, into pytest's own.

    On POSIX the framework's locks are files in the temp folder (one per robot GUID, one per queue),
    never deleted on purpose: deleting a flock file races another process opening it. On a robot
    machine that is a handful; here each test has its own GUID, so a run would leave hundreds in /tmp.
    In pytest's folder they go when pytest prunes old runs. One folder for the whole session, so every
    framework the tests start (and any in-process lock) still meets the same lock files. Python reads
    TMPDIR first on Windows too; the Wine lane's framework uses named mutexes there, not files.
    """
    folder = str(tmp_path_factory.mktemp("system-temp", numbered=False))
    with pytest.MonkeyPatch.context() as patch:  # restores both at the end of the session
        patch.setenv("TMPDIR", folder)
        patch.setattr(tempfile, "tempdir", folder)  # gettempdir() caches its first answer
        yield


@pytest.fixture
def emu():
    emulator = Emulator().start()
    yield emulator
    emulator.stop()


@dataclass
class Env:
    """One test's world: its folder, its config and the environment the framework (and robots) get."""

    tmp: Path
    emu: Emulator
    config: str
    out: Path  # robots write pids.txt and marker files here

    @property
    def log_dir(self) -> Path:
        return self.tmp / "logs"

    @property
    def logged_off(self) -> Path:
        return self.tmp / "logged_off"

    def reconfigure(self, **overrides: Any) -> str:
        return make_config(self.tmp, self.emu, **overrides)

    def env(self, **extra: str) -> dict:
        env = dict(os.environ, **extra)
        env["TEST_OUT"] = str(self.out)
        env.pop("ROBOT_JOB_GUID", None)
        return env

    def run(self, *args: str, timeout: float = 60, config: Optional[str] = None,
            **extra_env: str) -> subprocess.CompletedProcess:
        return run_captured([sys.executable, FRAMEWORK, "--config", config or self.config, *args],
                            env=self.env(**extra_env), timeout=timeout)

    def start(self, *args: str, config: Optional[str] = None, **extra_env: str) -> subprocess.Popen:
        # Output goes to a file, not a pipe: an unread pipe could fill up and block the framework.
        log = open(self.tmp / "framework-output.txt", "a", encoding="utf-8")
        proc = start_process([sys.executable, FRAMEWORK, "--config", config or self.config, *args],
                             env=self.env(**extra_env), stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL)
        log.close()
        return proc

    def run_until_ready(self, robot: str, action: Callable[[Any, subprocess.Popen], None],
                        config: Optional[str] = None, timeout: float = 40) -> tuple[Any, int]:
        """Start the framework on one job, wait until the robot says it is ready, act, wait for the end."""
        job = self.emu.add_job(robot)
        proc = self.start("--no-logoff", config=config)
        try:
            assert self.wait_file("ready"), "robot never ready"
            action(job, proc)
            code = proc.wait(timeout=timeout)
        finally:
            proc.kill()
        return job, code

    def log_text(self) -> str:
        path = self.log_dir / "robot_framework.log"
        return path.read_text(encoding="utf-8") if path.exists() else ""

    def pids(self) -> dict[str, tuple[int, float]]:
        path = self.out / "pids.txt"
        if not path.exists():
            return {}
        result = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            role, pid, created = line.split()
            result[role] = (int(pid), float(created))
        return result

    def release(self, name: str = "go") -> None:
        """Let a robot started with TEST_ROBOT_UNTIL=name end (it waits for this file, not a clock)."""
        (self.out / name).touch()

    def wait_file(self, name: str, timeout: float = 45) -> bool:  # generous: Wine starts processes slowly
        return wait_until((self.out / name).exists, timeout)


# The Wine lane's process starts fail now and then before a line of the command runs. CreateProcess
# returns ERROR_INTERNAL_ERROR when the new process ends during Wine's own set-up without an exit code
# (dlls/ntdll/unix/process.c: NtCreateUserProcess, get_new_process_info), and a process whose DLL set-up
# fails ends with STATUS_DLL_INIT_FAILED and no output. Seen once in a few thousand starts, on any test
# (no job, a job, a payload test). Nothing of the command ran either way, so the harness starts it again,
# says so on stderr, and gives up after a few: that is the same test, not a second chance for the code.
# Real Windows does neither; on Linux nothing is retried.
ERROR_INTERNAL_ERROR = 1359
STATUS_DLL_INIT_FAILED = 0xC0000142
WINE_START_ATTEMPTS = 3


def start_process(command: list, **options: Any) -> subprocess.Popen:
    """subprocess.Popen, started again when Wine fails the start itself (above)."""
    for _ in range(WINE_START_ATTEMPTS - 1):
        try:
            return subprocess.Popen(command, **options)
        except OSError as e:
            if not (UNDER_WINE and getattr(e, "winerror", None) == ERROR_INTERNAL_ERROR):
                raise
            print(f"Wine failed to start {command[:2]} ({e}); starting it again", file=sys.stderr)
    return subprocess.Popen(command, **options)


def run_captured(command: list, timeout: float, **options: Any) -> subprocess.CompletedProcess:
    """subprocess.run with the output captured through files, not pipes.

    Windows (the Wine lane): the framework's hidden window makes Wine start explorer.exe for the desktop,
    which inherits the framework's standard handles and lives on; a pipe it holds would never reach its
    end, and subprocess.run would wait for it for ever. A file has no end to wait for.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        for attempt in range(1, WINE_START_ATTEMPTS + 1):
            proc = start_process(command, stdout=out, stderr=err, stdin=subprocess.DEVNULL, **options)
            try:
                returncode = proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise
            silent = os.fstat(out.fileno()).st_size == 0 and os.fstat(err.fileno()).st_size == 0
            if not (UNDER_WINE and returncode == STATUS_DLL_INIT_FAILED and silent) \
                    or attempt == WINE_START_ATTEMPTS:
                break
            print(f"Wine: {command[:2]} ended in its DLL set-up (0xC0000142); starting it again", file=sys.stderr)
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(command, returncode, out.read().decode("utf-8", "replace"),
                                           err.read().decode("utf-8", "replace"))


def make_config(tmp: Path, emulator: Emulator, **overrides: Any) -> str:
    values = {
        "orchestrator.request_timeout": 3,
        "orchestrator.retry_seconds": 3,
        "robot.scripts_dir": TEST_ROBOTS,
        "robot.heartbeat_interval": 0.2,
        "robot.stop_timeout": 15,  # a cooperative robot stops long before; escalation tests set their own
        "robot.screenshots": "never",  # Windows: one more job log entry per failed job; test_evidence turns it on
        "session.logoff": "true",
        "session.logoff_command": f'"{sys.executable}" "{MARKER_SCRIPT}" "{tmp / "logged_off"}"',
    }
    values.update({k.replace("__", "."): v for k, v in overrides.items()})
    return write_config(str(tmp / "config.ini"), emulator, str(tmp / "logs"), **values)


@pytest.fixture
def world(tmp_path: Path, emu: Emulator) -> Env:
    out = tmp_path / "out"
    out.mkdir()
    return Env(tmp=tmp_path, emu=emu, config=make_config(tmp_path, emu), out=out)


@pytest.fixture
def tls_world(tmp_path):
    try:
        import trustme
    except ImportError as e:
        if UNDER_WINE:
            pytest.skip(f"trustme is not installed in the Wine lane: cryptography's Rust extension, which it "
                        f"needs, does not load under Wine 8 ({e})")
        raise  # a dev dependency: missing it on Linux is a setup error, not a skip
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    emu = Emulator(tls=server_context).start()
    out = tmp_path / "out"
    out.mkdir()
    yield Env(tmp=tmp_path, emu=emu, config=make_config(tmp_path, emu), out=out), ca_file
    emu.stop()


def pythonw_or_skip() -> str:
    """Windows: pythonw.exe beside the running interpreter, as the scheduled task runs the framework."""
    pythonw = os.path.join(os.path.dirname(sys.executable), "pythonw.exe")
    if not os.path.isfile(pythonw):
        pytest.skip(f"no pythonw.exe beside {sys.executable}")
    return pythonw


@functools.cache
def process_start_seconds() -> float:
    """What one Python start with psutil costs in this lane (the slowest of three), measured once.

    For the few tests that need a short deadline on purpose: they derive it from this figure, so a
    slow lane (Wine, a busy 2-core machine) gets a longer one instead of a failure.
    """
    slowest = 0.0
    for _ in range(3):
        started = time.monotonic()
        subprocess.run([sys.executable, "-c", "import psutil"], stdin=subprocess.DEVNULL, check=True)
        slowest = max(slowest, time.monotonic() - started)
    return slowest


def wait_until(predicate: Callable[[], bool], timeout: float = 45.0, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def is_alive(pid: int, created: float) -> bool:
    """The very process recorded (same create time), and not a zombie waiting to be reaped."""
    try:
        proc = psutil.Process(pid)
        return abs(proc.create_time() - created) < 0.01 and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def alive_roles(world: Env) -> list[str]:
    return [role for role, (pid, created) in world.pids().items() if is_alive(pid, created)]


def kill_recorded(world: Env) -> None:
    """Test hygiene: never leave a test robot behind, whatever the outcome."""
    for pid, created in world.pids().values():
        if is_alive(pid, created):
            psutil.Process(pid).kill()


@pytest.fixture(autouse=True)
def _no_leftovers(request):
    yield
    w = request.node.funcargs.get("world")
    if w is not None:
        kill_recorded(w)
