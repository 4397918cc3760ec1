"""End to end: queue tasks are never stuck In progress, lost or taken twice, and the task loop sets
their outcomes (issue 17)."""

from __future__ import annotations

from conftest import make_config, process_start_seconds

SUCCESS, FAILED, ABORTED, STOPPED, IN_PROGRESS = 4, 5, 3, 7, 8
NEW, TASK_IN_PROGRESS, TASK_SUCCESS, APP_FAILED, BUSINESS_FAILED, POSTPONED = 0, 1, 2, 3, 4, 5


def queue_with(world, *tasks):
    world.emu.add_queue("invoices")
    return [world.emu.add_task("invoices", name, params) for name, params in tasks]


def job_log(world, job) -> str:
    world.emu.wait_for(lambda: any(e["message"].startswith("Job ended") and e["job_guid"] == job.guid
                                   for e in world.emu.logs))
    return "\n".join(e["message"] for e in world.emu.logs if e["job_guid"] == job.guid)


def test_task_held_by_a_robot_killed_by_job_timeout_ends_failed_and_named(world):
    [task] = queue_with(world, ("INV-1001", {}))
    # The robot must start, import the robot API (requests, psutil) and take its task before the timeout:
    # 12 starts were once too few in a slow Windows lane (the task never taken).
    timeout = round(max(2.0, 20 * process_start_seconds()), 1)
    job = world.emu.add_job("task_holder")
    result = world.run("--no-logoff", config=world.reconfigure(robot__job_timeout=timeout), timeout=60 + timeout)
    assert result.returncode == 0
    assert job.history == [IN_PROGRESS, FAILED]
    assert task["history"] == [TASK_IN_PROGRESS, APP_FAILED]
    assert (f"Task 'INV-1001' ({task['guid']}) was still In progress when the job ended (ran past job_timeout"
            in job_log(world, job))
    assert "marked Failed (application exception)" in job_log(world, job)


def test_task_a_robot_forgot_to_report_ends_failed(world):
    [task] = queue_with(world, ("INV-1001", {}))
    job = world.emu.add_job("task_holder")
    assert world.run("--no-logoff", TEST_HOLDER_EXIT="1").returncode == 0
    assert job.history == [IN_PROGRESS, SUCCESS]
    assert task["history"] == [TASK_IN_PROGRESS, APP_FAILED]
    assert "was still In progress when the job ended (exit code 0)" in job_log(world, job)


def test_task_held_when_the_framework_was_killed_ends_failed_after_restart(world):
    [task] = queue_with(world, ("INV-1001", {}))
    job = world.emu.add_job("task_holder")
    proc = world.start("--no-logoff")
    try:
        assert world.wait_file("ready")
        proc.kill()  # no handler runs
        proc.wait(timeout=30)
    finally:
        proc.kill()
    assert task["history"] == [TASK_IN_PROGRESS]
    assert world.run("--no-logoff").returncode == 0
    assert job.history == [IN_PROGRESS, FAILED]
    assert task["history"] == [TASK_IN_PROGRESS, APP_FAILED]
    assert "was still In progress when the job ended (framework restarted" in world.log_text()


def test_outcome_set_during_an_outage_is_kept_and_delivered_never_failed(world):
    [task] = queue_with(world, ("INV-1001", {}))
    job = world.emu.add_job("task_report_late")
    proc = world.start("--no-logoff", config=world.reconfigure(orchestrator__retry_seconds=1))
    try:
        assert world.wait_file("ready")
        world.emu.stop()
        world.release()
        assert world.wait_file("carried-on")  # set_task_status returned normally: the robot went on
        proc.wait(timeout=60)  # the framework gives up on the unreachable server (exit 4)
    finally:
        proc.kill()
    assert task["history"] == [TASK_IN_PROGRESS]
    output = next((world.log_dir / "jobs").glob("*/output.log")).read_text(encoding="utf-8")
    assert "the outcome is kept and the framework delivers it later" in output
    world.emu.start()
    assert world.run("--no-logoff").returncode == 0
    assert task["history"] == [TASK_IN_PROGRESS, TASK_SUCCESS]  # never Failed
    assert job.history == [IN_PROGRESS, SUCCESS]
    assert not list((world.log_dir / "jobs").glob("*/tasks.jsonl"))  # settled


def test_task_loop_maps_outcomes_and_goes_on(world):
    tasks = queue_with(world, ("INV-1", {"do": "ok"}), ("INV-2", {"do": "business", "amount": 25000}),
                       ("INV-3", {"do": "value"}), ("INV-4", {"do": "own"}), ("INV-5", {"do": "ok"}))
    job = world.emu.add_job("task_loop")
    assert world.run("--no-logoff").returncode == 0
    assert job.history == [IN_PROGRESS, SUCCESS]
    assert [t["history"][-1] for t in tasks] == [TASK_SUCCESS, BUSINESS_FAILED, APP_FAILED, POSTPONED, TASK_SUCCESS]
    assert tasks[3]["history"] == [TASK_IN_PROGRESS, POSTPONED]  # the robot's own status was kept
    log = job_log(world, job)
    assert "Task 'INV-2': business exception: amount 25000 needs a manager's approval" in log
    assert "Task 'INV-3': application exception: ValueError: the application answered nonsense" in log
    assert "task_loop.py" in log  # the traceback's last lines
    assert (world.out / "loop-ended").exists()


def test_consecutive_application_failures_end_the_job_and_leave_the_rest_new(world):
    tasks = queue_with(world, *[(f"INV-{i}", {"do": "value"}) for i in range(1, 6)])
    job = world.emu.add_job("task_loop")
    assert world.run("--no-logoff").returncode == 0
    assert job.history == [IN_PROGRESS, FAILED]
    assert [t["history"] for t in tasks] == [[TASK_IN_PROGRESS, APP_FAILED]] * 3 + [[], []]
    assert "ApplicationError" in job_log(world, job) and "3 application failures in a row" in job_log(world, job)


def test_soft_stop_inside_a_task_puts_it_back_to_new(world):
    tasks = queue_with(world, ("INV-1", {"do": "wait_stop"}), ("INV-2", {"do": "ok"}))
    job = world.emu.add_job("task_loop")
    proc = world.start("--no-logoff")
    try:
        assert world.wait_file("holding")
        world.emu.request_stop(job)
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
    assert job.history == [IN_PROGRESS, STOPPED]
    assert tasks[0]["history"] == [TASK_IN_PROGRESS, NEW] and tasks[1]["history"] == []


def test_two_robot_accounts_on_one_machine_never_take_the_same_task(world):
    tasks = queue_with(world, ("INV-1", {}), ("INV-2", {}))
    world.emu.add_fault("queue", "slow", times=2, seconds=1.0)  # lastTask answers slowly
    jobs = [world.emu.add_job("task_racer"), world.emu.add_job("task_racer")]
    second_dir = world.tmp / "second"
    second_dir.mkdir()
    second = make_config(second_dir, world.emu, orchestrator__robot_guid=world.emu.add_robot())
    procs = [world.start("--no-logoff", "--once"), world.start("--no-logoff", "--once", config=second)]
    try:
        assert all(world.wait_file(f"ready-{job.guid}") for job in jobs)  # both robots run now
        world.release()  # they take at the same instant
        assert [p.wait(timeout=60) for p in procs] == [0, 0]
    finally:
        for p in procs:
            p.kill()
    took = {(world.out / f"took-{job.guid}").read_text() for job in jobs}
    assert took == {t["guid"] for t in tasks}  # one each: never the same task twice
    assert [t["history"] for t in tasks] == [[TASK_IN_PROGRESS, TASK_SUCCESS]] * 2


def test_task_with_parameters_that_are_not_an_object_is_failed_and_skipped(world):
    world.emu.add_queue("invoices")
    bad = world.emu.add_task("invoices", "INV-BAD", raw_parameters="not json {")
    good = world.emu.add_task("invoices", "INV-OK", {"do": "ok"})
    job = world.emu.add_job("task_loop")
    assert world.run("--no-logoff").returncode == 0
    assert job.history == [IN_PROGRESS, SUCCESS]
    assert bad["history"] == [TASK_IN_PROGRESS, APP_FAILED] and good["history"] == [TASK_IN_PROGRESS, TASK_SUCCESS]
    assert (world.out / "seen.txt").read_text() == "INV-OK"  # the robot never saw the bad one
    assert "Task 'INV-BAD'" in job_log(world, job) and "parameters are not a JSON object" in job_log(world, job)
