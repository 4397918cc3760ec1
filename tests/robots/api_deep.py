"""Calls the robot API while the Orchestrator answers 200 KB of '[': records what it caught."""

import json

import _helpers
import robot_framework as rf

try:
    rf.get_asset("anything")
    caught = "nothing"
except rf.RobotApiError as e:
    caught = f"RobotApiError: {e}"
except BaseException as e:  # what the test must never see
    caught = f"{type(e).__name__}: {e}"
_helpers.mark("caught.json", json.dumps(caught))
