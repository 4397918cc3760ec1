"""Logs through robot_framework.log() and through logging with OrchestratorLogHandler, then fails."""

import logging
import os

import robot_framework

robot_framework.log("step 1: opened the invoice")
robot_framework.log("step 2: odd total", level="warning")
robot_framework.log("debug detail", "DEBUG")
logger = logging.getLogger("invoice")
logger.setLevel(logging.DEBUG)
logger.addHandler(robot_framework.OrchestratorLogHandler())
logger.info("step 3 via logging")
logger.error("step 4 via logging")
logger.critical("step 5 via logging")
print("the last printed line before the failure")
raise SystemExit(int(os.environ.get("TEST_EXIT_CODE", "2")))
