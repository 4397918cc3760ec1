"""Robot environments (issue 27): the packages a robot declares, built once per machine, end to end.

No internet: the wheels are made here (a tiny package `rfdemo` in two versions) and served from a
find_links folder or from a PEP 503 index on 127.0.0.1. The installer is the framework's `auto` choice
(uv where the dev requirements installed it, pip in the Windows lane); some tests pin pip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
from package_index import PackageIndex, make_wheel

import robot_framework as rf
from conftest import UNDER_WINE, Env, make_config, wait_until

SUCCESS, FAILED, ABORTED, IN_PROGRESS = 4, 5, 3, 8
# Caches off: a second build must ask the index again (the tests count what it served).
NO_CACHE = {"UV_NO_CACHE": "1", "PIP_NO_CACHE_DIR": "1"}
ROBOT = """\
import os, sys
import rfdemo
import robot_framework  # importable from every environment
with open(os.path.join(os.environ["TEST_OUT"], "{name}.txt"), "w") as f:
    f.write(rfdemo.VERSION + "\\n" + rfdemo.__file__)
"""


@pytest.fixture
def wheels(tmp_path) -> Path:
    folder = tmp_path / "wheels"
    make_wheel(str(folder), "rfdemo", "1.0")
    make_wheel(str(folder), "rfdemo", "2.0")
    return folder


@pytest.fixture
def pkg(tmp_path, emu, wheels) -> Env:
    """A world whose scripts_dir is the test's own, with a find_links folder and an envs_dir of its own."""
    (tmp_path / "robots").mkdir()
    out = tmp_path / "out"
    out.mkdir()
    config = make_config(tmp_path, emu, robot__scripts_dir=tmp_path / "robots", robot__envs_dir=tmp_path / "envs",
                         robot__find_links=wheels)
    return Env(tmp=tmp_path, emu=emu, config=config, out=out)


def folder_robot(world: Env, name: str, **files: str) -> None:
    folder = world.tmp / "robots" / name
    folder.mkdir()
    (folder / "__main__.py").write_text(files.pop("main", ROBOT.format(name=name)), encoding="utf-8")
    for file_name, text in files.items():
        (folder / file_name.replace("_txt", ".txt").replace("_toml", ".toml")).write_text(text, encoding="utf-8")


def pep723_robot(world: Env, name: str, dependencies: str, requires_python: str = "") -> None:
    block = f"# /// script\n# dependencies = [{dependencies}]\n"
    if requires_python:
        block += f'# requires-python = "{requires_python}"\n'
    (world.tmp / "robots" / f"{name}.py").write_text(block + "# ///\n" + ROBOT.format(name=name), encoding="utf-8")


def seen(world: Env, name: str) -> str:
    path = world.out / f"{name}.txt"
    return path.read_text(encoding="utf-8").splitlines()[0] if path.exists() else ""


def job_log(world: Env, job) -> list[str]:
    return [e["message"] for e in world.emu.logs if e["job_guid"] == job.guid]


def test_requirements_txt_robot_gets_its_package_built_once_then_reused(pkg):
    folder_robot(pkg, "invoice", requirements_txt="rfdemo==1.0\n")
    first, second = pkg.emu.add_job("invoice"), pkg.emu.add_job("invoice")
    result = pkg.run("--no-logoff", timeout=240)
    assert result.returncode == 0, result.stderr + pkg.log_text()
    assert first.history == [IN_PROGRESS, SUCCESS] and second.history == [IN_PROGRESS, SUCCESS]
    assert seen(pkg, "invoice") == "1.0"
    assert str(pkg.tmp / "envs") in (pkg.out / "invoice.txt").read_text(encoding="utf-8")
    assert any(m.startswith("Environment for 'invoice' built in ") and "1 package" in m for m in job_log(pkg, first))
    assert any(m.startswith("Environment for 'invoice' reused") for m in job_log(pkg, second))
    installer_output = next((pkg.log_dir / "jobs").glob("*/environment.log")).read_text(encoding="utf-8")
    assert "rfdemo" in installer_output  # the installer's own output is kept in the first job's folder
    envs = [p for p in (pkg.tmp / "envs").iterdir() if p.is_dir()]
    assert len(envs) == 1 and (envs[0] / rf.ENV_MARKER).exists()  # no build folder left beside it


def test_pyproject_and_pep723_robots_and_two_pinned_versions_side_by_side(pkg):
    folder_robot(pkg, "old", pyproject_toml='[project]\nname = "old"\nversion = "0"\ndependencies = ["rfdemo==1.0"]\n')
    pep723_robot(pkg, "new", '"rfdemo==2.0"', requires_python=">=3.9")
    plain = pkg.emu.add_job("new"), pkg.emu.add_job("old")
    result = pkg.run("--no-logoff", timeout=240)
    assert result.returncode == 0, result.stderr
    assert [j.history for j in plain] == [[IN_PROGRESS, SUCCESS]] * 2
    assert seen(pkg, "old") == "1.0" and seen(pkg, "new") == "2.0"
    assert len([p for p in (pkg.tmp / "envs").iterdir() if p.is_dir()]) == 2


def test_missing_requirement_fails_the_job_with_the_installers_reason(pkg):
    folder_robot(pkg, "broken", requirements_txt="rfdemo==9.9\n")
    job = pkg.emu.add_job("broken")
    assert pkg.run("--no-logoff", timeout=240).returncode == 0
    assert job.history == [IN_PROGRESS, FAILED]
    log = "\n".join(job_log(pkg, job))
    assert "could not build the robot's environment" in log and "9.9" in log
    assert "the installer's last lines" in log
    assert not [p for p in (pkg.tmp / "envs").iterdir() if p.is_dir()]  # nothing half-built left
    assert not (pkg.out / "broken.txt").exists()


def test_declarations_in_two_places_and_an_unmet_requires_python_fail_the_job_clearly(pkg):
    folder_robot(pkg, "twice", requirements_txt="rfdemo==1.0\n",
                 pyproject_toml='[project]\nname = "x"\ndependencies = ["rfdemo==2.0"]\n')
    pep723_robot(pkg, "future", '"rfdemo"', requires_python=">=4.1")
    twice, future = pkg.emu.add_job("twice"), pkg.emu.add_job("future")
    assert pkg.run("--no-logoff", timeout=120).returncode == 0
    assert twice.history == [IN_PROGRESS, FAILED] and future.history == [IN_PROGRESS, FAILED]
    assert any("declared in requirements.txt and in pyproject.toml" in m for m in job_log(pkg, twice))
    version = ".".join(map(str, sys.version_info[:3]))
    assert any(">=4.1" in m and f"Python {version}" in m for m in job_log(pkg, future))


def test_env_build_never_fails_at_once_then_prepare_envs_builds_and_the_job_runs(pkg):
    folder_robot(pkg, "invoice", requirements_txt="rfdemo==2.0\n")
    pep723_robot(pkg, "plain_dep", '"rfdemo==1.0"')
    (pkg.tmp / "robots" / "nodeps.py").write_text("print('no dependencies')\n", encoding="utf-8")
    never = make_config(pkg.tmp, pkg.emu, robot__scripts_dir=pkg.tmp / "robots", robot__envs_dir=pkg.tmp / "envs",
                        robot__find_links=pkg.tmp / "wheels", robot__env_build="never")
    job = pkg.emu.add_job("invoice")
    assert pkg.run("--no-logoff", "--once", config=never).returncode == 0
    assert job.history == [IN_PROGRESS, FAILED]
    assert any("environment for 'invoice' is not built on this machine; run --prepare-envs" in m
               for m in job_log(pkg, job))
    prepared = pkg.run("--prepare-envs", config=never, timeout=240)
    assert prepared.returncode == 0, prepared.stdout + prepared.stderr
    lines = prepared.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["invoice", "plain_dep"], lines  # one line per robot
    assert all(" built in " in line for line in lines)
    again = pkg.emu.add_job("invoice")
    assert pkg.run("--no-logoff", "--once", config=never).returncode == 0
    assert again.history == [IN_PROGRESS, SUCCESS] and seen(pkg, "invoice") == "2.0"
    checked = pkg.run("--check", config=never)
    assert "environments:  2 in" in checked.stdout and "rfdemo==2.0" in checked.stdout


def test_prepare_envs_names_the_robots_that_failed(pkg):
    folder_robot(pkg, "good", requirements_txt="rfdemo==1.0\n")
    folder_robot(pkg, "bad", requirements_txt="rfdemo==9.9\n")
    prepared = pkg.run("--prepare-envs", "good", "bad", timeout=240)
    assert prepared.returncode == rf.EXIT_PREPARE_FAILED
    assert "good: built in" in prepared.stdout and "bad: FAILED" in prepared.stdout
    assert prepared.stdout.splitlines()[-1] == "1 of 2 environment(s) not built: bad"


@pytest.fixture
def slow_index(wheels):
    index = PackageIndex(str(wheels), delay=4.0, password="s3cr3t-Pa55")
    yield index
    index.stop()


def index_world(pkg: Env, index: PackageIndex, **overrides) -> str:
    return make_config(pkg.tmp, pkg.emu, robot__scripts_dir=pkg.tmp / "robots", robot__envs_dir=pkg.tmp / "envs",
                       robot__index_url=index.url_with_password(), **overrides)


@pytest.mark.parametrize("installer", ["auto", pytest.param("pip", marks=pytest.mark.skipif(
    UNDER_WINE, reason="auto is pip in the Windows lane"))])
def test_two_accounts_needing_the_same_new_environment_build_it_once(pkg, slow_index, tmp_path, installer):
    folder_robot(pkg, "shared", requirements_txt="rfdemo==1.0\n")
    other = pkg.emu.add_robot()
    configs = [index_world(pkg, slow_index, robot__installer=installer)]
    other_dir = tmp_path / "second"
    other_dir.mkdir()
    configs.append(make_config(other_dir, pkg.emu, robot__scripts_dir=pkg.tmp / "robots",
                               robot__envs_dir=pkg.tmp / "envs", robot__index_url=slow_index.url_with_password(),
                               robot__installer=installer, orchestrator__robot_guid=other))
    jobs = [pkg.emu.add_job("shared"), pkg.emu.add_job("shared")]
    procs = [pkg.start("--no-logoff", "--once", config=c, **NO_CACHE) for c in configs]
    try:
        assert all(p.wait(timeout=240) == 0 for p in procs)
    finally:
        for p in procs:
            p.kill()
    assert [j.history for j in jobs] == [[IN_PROGRESS, SUCCESS]] * 2
    builds = [p for p in tmp_path.rglob("environment.log") if "robot_framework: building" in p.read_text()]
    assert len(builds) == 1  # built once: the other framework waited for it, then reused it
    if installer == "pip":  # uv, its cache off, fetches a wheel twice when the index serves no ranges
        assert slow_index.served == ["rfdemo-1.0-py3-none-any.whl"]
    messages = [m for j in jobs for m in job_log(pkg, j) if m.startswith("Environment for 'shared'")]
    assert sorted(m.split()[3] for m in messages) == ["built", "reused"], messages
    # the index's password is masked everywhere: job logs, the framework's logs, the installer's output
    everything = "\n".join(e["message"] for e in pkg.emu.logs) + pkg.log_text()
    for path in [*tmp_path.rglob("*.log"), *tmp_path.rglob("*.json*")]:
        everything += path.read_text(encoding="utf-8", errors="replace")
    assert "s3cr3t-Pa55" not in everything


def installer_processes(envs: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if str(envs) in cmdline or ("--build-env" in cmdline and str(envs.parent) in cmdline):
            found.append(proc)
    return found


def test_abort_during_a_slow_build_kills_the_installer_at_once(pkg, slow_index):
    slow_index.delay = 600  # the wheel never finishes downloading
    folder_robot(pkg, "slow", requirements_txt="rfdemo==1.0\n")
    job = pkg.emu.add_job("slow")
    proc = pkg.start("--no-logoff", "--once", config=index_world(pkg, slow_index), **NO_CACHE)
    try:
        assert wait_until(lambda: slow_index.served, timeout=120)  # the installer is downloading
        assert wait_until(lambda: [c for c in pkg.emu.calls("heartbeat") if c.fields["Status"] == "3"])
        asked = time.monotonic()
        pkg.emu.request_abort(job)
        assert pkg.emu.wait_for(lambda: ABORTED in job.history, timeout=60)
        took = time.monotonic() - asked
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
    assert job.history == [IN_PROGRESS, ABORTED]
    assert took < 30, took  # "promptly": a heartbeat interval and the kill, not the download's 600 s
    assert wait_until(lambda: not installer_processes(pkg.tmp / "envs"), timeout=30)
    assert any("while the robot's environment was being built" in m for m in job_log(pkg, job))


def test_framework_killed_mid_build_then_restarted_builds_again(pkg, slow_index):
    slow_index.delay = 600
    folder_robot(pkg, "rebuilt", requirements_txt="rfdemo==1.0\n")
    first = pkg.emu.add_job("rebuilt")
    config = index_world(pkg, slow_index)
    proc = pkg.start("--no-logoff", "--once", config=config, **NO_CACHE)
    try:
        assert wait_until(lambda: slow_index.served, timeout=120)
        proc.kill()  # SIGKILL; Windows: TerminateProcess
        proc.wait(timeout=30)
    finally:
        proc.kill()
    slow_index.delay = 0
    second = pkg.emu.add_job("rebuilt")
    result = pkg.run("--no-logoff", config=config, timeout=240, **NO_CACHE)
    assert result.returncode == 0, result.stderr
    assert first.history == [IN_PROGRESS, FAILED]  # crash recovery: "framework restarted"
    assert second.history == [IN_PROGRESS, SUCCESS] and seen(pkg, "rebuilt") == "1.0"
    assert any(m.startswith("Environment for 'rebuilt' built in") for m in job_log(pkg, second))
    assert [p.name for p in (pkg.tmp / "envs").iterdir() if p.is_dir()] == [
        next(p.name for p in (pkg.tmp / "envs").iterdir() if (p / rf.ENV_MARKER).exists())]  # the half build went
    assert not installer_processes(pkg.tmp / "envs")


@pytest.mark.skipif(UNDER_WINE, reason="the Windows lane builds with pip already (no uv there)")
def test_pip_builds_when_the_config_asks_for_it(pkg):
    folder_robot(pkg, "with_pip", requirements_txt="rfdemo==2.0\n")
    job = pkg.emu.add_job("with_pip")
    config = make_config(pkg.tmp, pkg.emu, robot__scripts_dir=pkg.tmp / "robots", robot__envs_dir=pkg.tmp / "envs",
                         robot__find_links=pkg.tmp / "wheels", robot__installer="pip")
    assert pkg.run("--no-logoff", config=config, timeout=240).returncode == 0
    assert job.history == [IN_PROGRESS, SUCCESS] and seen(pkg, "with_pip") == "2.0"
    assert any("(pip, 1 package)" in m for m in job_log(pkg, job))


def test_a_robot_without_declarations_runs_as_before(world):
    job = world.emu.add_job("ok")
    assert world.run("--no-logoff").returncode == 0
    assert job.history == [IN_PROGRESS, SUCCESS]
    assert not any(m.startswith("Environment") for m in job_log(world, job))
    assert not list((world.log_dir / "jobs").glob("*/environment.*"))


# --- pure logic ---------------------------------------------------------------------------------------
def test_requirement_files_are_normalised_and_options_refused():
    text = "# comment\nRequests >= 2.0  # inline\n\nfoo_bar.baz==1 ; python_version<'4'\nrequests>=2.0\n"
    assert rf.parse_requirements_file(text, "r") == ["foo-bar-baz==1 ; python_version<'4'", "requests >= 2.0",
                                                     "requests>=2.0"]
    with pytest.raises(ValueError, match="line 2: '--index-url x': option lines are not supported"):
        rf.parse_requirements_file("a\n--index-url x\n", "requirements.txt")


@pytest.mark.parametrize(("version", "spec", "ok"), [
    ("3.11.7", ">=3.9", True), ("3.11.7", ">=3.12", False), ("3.11.7", ">=3.9,<3.11", False),
    ("3.11.7", "==3.11.*", True), ("3.11.7", "!=3.11.*", False), ("3.11.7", "~=3.10", True),
    ("3.11.7", "~=3.10.0", False), ("3.9.0", "<3.10", True), ("3.13.0rc1", ">=3.13", True),
])
def test_requires_python_specifiers(version, spec, ok):
    assert rf.python_satisfies(version, spec) is ok


def test_pep723_blocks_are_read_and_two_are_an_error(tmp_path):
    script = tmp_path / "r.py"
    script.write_bytes(b'# /// script\r\n# requires-python = ">=3.9"\r\n# dependencies = [\r\n#   "A_b>=1",\r\n# ]\r\n'
                       b"# ///\r\nprint(1)\r\n")
    assert rf.read_declaration(str(script)) == ("the '# /// script' block of r.py", ["a-b>=1"], ">=3.9")
    script.write_text("# /// script\n# dependencies = []\n# ///\nimport os\n# /// script\n# dependencies = []\n# ///\n")
    with pytest.raises(ValueError, match="more than one"):
        rf.read_declaration(str(script))
    script.write_text("print('nothing declared')\n")
    assert rf.read_declaration(str(script)) is None


def test_the_environment_name_depends_on_the_set_not_its_spelling(tmp_path):
    cfg_path = tmp_path / "c.ini"
    cfg_path.write_text("[orchestrator]\nhost = http://127.0.0.1:1\nrobot_guid = 11111111-2222-3333-4444-555555555555\n"
                        f"[robot]\nenvs_dir = {tmp_path / 'envs'}\n")
    cfg, _ = rf.load_config(str(cfg_path))
    for name, text in (("a", "rfdemo==1.0\nother\n"), ("b", "Other\n\nrfdemo == 1.0\n"), ("c", "rfdemo==2.0\n")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__main__.py").write_text("")
        (tmp_path / name / "requirements.txt").write_text(text)
    a, b, c = (rf.RobotEnvironment.for_robot(cfg, n, str(tmp_path / n)) for n in "abc")
    assert a.path != c.path
    assert a.requirements == ["other", "rfdemo==1.0"] and b.requirements == ["other", "rfdemo == 1.0"]


def test_bootstrap_puts_the_environment_after_the_robots_folder_and_processes_pth_files(tmp_path):
    packages = tmp_path / "env"
    (packages / "extra").mkdir(parents=True)
    (packages / "pinned.py").write_text("WHERE = 'environment'\n")
    (packages / "x.pth").write_text("extra\n")
    robot = tmp_path / "robot"
    robot.mkdir()
    (robot / "__main__.py").write_text("import sys, pinned\nprint(pinned.WHERE)\nprint(sys.path.index(sys.path[0]))\n"
                                       "print('|'.join(sys.path[:3]))\n")
    env = dict(os.environ, ROBOT_PACKAGES_DIR=str(packages))
    out = subprocess.run([sys.executable, "-c", rf.ROBOT_BOOTSTRAP, str(robot), "arg"], env=env, capture_output=True,
                         text=True, timeout=60, stdin=subprocess.DEVNULL, check=True).stdout.splitlines()
    assert out[0] == "environment"
    assert out[2].split("|") == [str(robot), str(packages), str(packages / "extra")]


def test_a_damaged_environment_is_built_again(pkg):
    folder_robot(pkg, "invoice", requirements_txt="rfdemo==1.0\n")
    first = pkg.emu.add_job("invoice")
    assert pkg.run("--no-logoff", timeout=240).returncode == 0 and first.history == [IN_PROGRESS, SUCCESS]
    env = next(p for p in (pkg.tmp / "envs").iterdir() if (p / rf.ENV_MARKER).exists())
    shutil.rmtree(env / "rfdemo")  # an antivirus quarantined the package
    second = pkg.emu.add_job("invoice")
    assert pkg.run("--no-logoff", timeout=240).returncode == 0 and second.history == [IN_PROGRESS, SUCCESS]
    assert any(m.startswith("Environment for 'invoice' built in") for m in job_log(pkg, second))
    assert seen(pkg, "invoice") == "1.0"


def test_housekeeping_removes_what_is_unused_or_abandoned_and_keeps_the_rest(pkg):
    cfg, _ = rf.load_config(pkg.config)
    envs = Path(cfg.envs_dir)
    old, recent, abandoned, building = (envs / n for n in ("a" * 20, "b" * 20, "c" * 20 + ".build-1",
                                                           "d" * 20 + ".build-2"))
    for folder in (old, recent, abandoned, building):
        folder.mkdir(parents=True)
    for folder in (old, recent):
        (folder / rf.ENV_MARKER).write_text("{}")
    month_ago = time.time() - 31 * 86400
    os.utime(old / rf.ENV_MARKER, (month_ago, month_ago))
    os.utime(abandoned, (month_ago, month_ago))
    os.utime(building, (month_ago, month_ago))
    held, done = threading.Event(), threading.Event()

    def build_still_running() -> None:  # another thread: a Windows mutex lets its own thread in again
        with rf.machine_lock("robot_framework-env-" + "d" * 20, cfg.envs_dir, 5):
            held.set()
            done.wait(30)

    threading.Thread(target=build_still_running, daemon=True).start()
    assert held.wait(30)
    try:
        rf.prune_environments(cfg)
    finally:
        done.set()
    assert sorted(p.name for p in envs.iterdir() if p.is_dir()) == [recent.name, building.name]
