"""Imports robot_framework (as every API robot does), logs one entry and records where it came from."""

import json
import sys

import _helpers
import robot_framework as rf

rf.log("imported robot_framework")
_helpers.mark("imports_api.json", json.dumps({"module": rf.__file__, "argv": sys.argv, "file": __file__,
                                               "path0": sys.path[0], "path": sys.path,
                                               "command": getattr(sys, "orig_argv", [])[:2]}))
