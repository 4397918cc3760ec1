# /// script
# requires-python = ">=3.9"
# dependencies = ["openpyxl>=3.1,<4"]
# ///
"""Example robot with a dependency (README "Robot dependencies"): the framework installs openpyxl into
this robot's own environment the first time a job needs it (or ahead, with --prepare-envs); later jobs
reuse it. It writes the job's Task into an Excel file in the job's artifacts folder."""

import os

import openpyxl

import robot_framework as rf

book = openpyxl.Workbook()
sheet = book.active
sheet.append(["field", "value"])
for field, value in (rf.current_task() or {}).items():
    sheet.append([str(field), str(value)])
path = os.path.join(rf.artifacts_dir(), "task.xlsx")
book.save(path)
rf.log(f"task written to {path} with openpyxl {openpyxl.__version__}")
