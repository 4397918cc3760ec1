"""Uses the evidence API: artifacts_dir() and screenshot(); writes what it got to TEST_OUT/evidence.json."""

import json
import os

import robot_framework as rf

folder = rf.artifacts_dir()
with open(os.path.join(folder, "export.csv"), "w", encoding="utf-8") as f:
    f.write("invoice,total\n1,100\n")
shot = rf.screenshot("after export")
with open(os.path.join(os.environ["TEST_OUT"], "evidence.json"), "w", encoding="utf-8") as f:
    json.dump({"artifacts": folder, "env": os.environ.get("ROBOT_ARTIFACTS_DIR"), "screenshot": shot}, f)
