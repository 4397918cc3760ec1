"""A careless robot: prints and logs its environment and its config (GUID inside) in several forms, then fails."""

import json
import os
import sys
import urllib.parse

import _helpers
import robot_framework as rf

_helpers.record("robot")
with open(os.environ["ROBOT_FRAMEWORK_CONFIG"], encoding="utf-8") as f:
    config = f.read()
guid = next(line.split("=", 1)[1].strip() for line in config.splitlines() if line.startswith("robot_guid"))
_helpers.mark("env.json", json.dumps(dict(os.environ)))
print(dict(os.environ))
print(config)
rf.log(f"my environment: {dict(os.environ)}")
rf.log(f"my config:\n{config}")
rf.log(json.dumps({"settings": {"robot_guid": guid}}))
rf.log(f"query: ?robot={urllib.parse.quote(guid)}&upper={guid.upper()}")
print(f"settings file: {sys.argv[1]}", flush=True)
with open(sys.argv[1].split("|")[3], encoding="utf-8") as f:
    print(f.read())
sys.exit(1)
