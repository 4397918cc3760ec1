"""A robot written for the vendor's framework: its context is sys.argv[1], split on '|'."""

import json
import os
import sys

version_guid, job_guid, third, settings_path = sys.argv[1].split("|")
with open(settings_path, encoding="utf-8") as f:
    robot_guid, host, logoff = f.read().splitlines()[:3]
seen = {"argv": sys.argv[1:], "items": [version_guid, job_guid, third, settings_path],
        "settings": {"guid_matches": robot_guid == os.environ.get("TEST_EXPECTED_GUID"), "host": host,
                     "logoff": logoff}}
with open(os.path.join(os.environ["TEST_OUT"], "vendor.json"), "w", encoding="utf-8") as f:
    json.dump(seen, f)
