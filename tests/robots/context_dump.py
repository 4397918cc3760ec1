"""Writes what robot_framework.job_context() returns, to compare with what the Orchestrator sent."""

import json

import _helpers
import robot_framework

_helpers.mark("context.json", json.dumps(robot_framework.job_context()))
