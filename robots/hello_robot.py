"""Example robot: shows the robot-side contract of robot_framework.py.

- Exit code 0 means Success, anything else Failed.
- print() goes to logs/jobs/<job>/output.log.
- `import robot_framework` works because the framework puts its folder on PYTHONPATH;
  job_context() is the consumed job, stop_requested() turns true on a Stop from the Orchestrator,
  log() writes an entry to the job's log in the Orchestrator. robots/invoice_queue_robot.py shows
  credentials and queues.
- On Linux/macOS a Stop also arrives as KeyboardInterrupt (SIGINT); `finally` blocks run.
"""

import os
import time

import robot_framework

STEPS = int(os.environ.get("HELLO_ROBOT_STEPS", "3"))


def main() -> int:
    context = robot_framework.job_context()
    job = context.get("job") or {}
    print(f"Hello from job {job.get('GUID')}; task: {context.get('task')!r}")
    robot_framework.log("hello_robot started")  # an entry in the Orchestrator's job log, and in output.log
    try:
        for step in range(1, STEPS + 1):
            if robot_framework.stop_requested():
                print("Stop requested: finishing cleanly")
                return 0
            print(f"step {step}/{STEPS}")
            time.sleep(0.2)
    except KeyboardInterrupt:  # Linux/macOS: the Stop's SIGINT arrived mid-step
        print("Stop requested (interrupt): finishing cleanly")
        return 0
    finally:
        print("cleaning up (close browsers, files, ...)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
