"""Records how it was started (arguments, folder, environment, stdin), prints to stdout and stderr, and has
a child print to the output it inherits: what a robot sees, whether its interpreter was started for its job
or ahead of it (RobotStarter's spare)."""

import json
import os
import subprocess
import sys

import _helpers

seen = {"argv": sys.argv, "cwd": os.getcwd(), "pid": os.getpid(), "stdin": sys.stdin.read(),
        "command": getattr(sys, "orig_argv", None), "guid_in_env": "ROBOT_GUID" in os.environ,
        "job": os.environ.get("ROBOT_JOB_GUID"), "context": os.environ.get("ROBOT_CONTEXT_FILE"),
        "odd": os.environ.get("TEST_ODD_VALUE"), "path0": sys.path[0]}
print("robot says hi")
print("robot says oops", file=sys.stderr)
subprocess.run([sys.executable, "-c", "print('child says hi')"], stdin=subprocess.DEVNULL, check=True)
_helpers.mark(f"as_started-{seen['job']}.json", json.dumps(seen))
