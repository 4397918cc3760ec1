"""Succeeds; records what it saw (argv, cwd, ROBOT_* environment) for the test."""

import json
import os
import sys

import _helpers

_helpers.record("robot")
seen = {"argv": sys.argv, "cwd": os.getcwd(), "env": {k: v for k, v in os.environ.items() if k.startswith("ROBOT_")}}
_helpers.mark("ok.json", json.dumps(seen))
print("ok robot: héllo wörld ✓")
