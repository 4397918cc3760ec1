"""Writes a deeply nested line straight into the job's log file, then a normal log() entry."""

import os

import robot_framework as rf

with open(os.environ["ROBOT_LOG_FILE"], "a", encoding="utf-8") as f:
    f.write("[" * 200_000 + "\n")
rf.log("the entry after the nested line")
