"""A helper process the test robots start: `_proc.py ROLE [then-spawn ROLE2] [exit]`."""

import sys
import time

import _helpers

role, rest = sys.argv[1], sys.argv[2:]
_helpers.record(role)
if "stubborn" in role:
    _helpers.ignore_signals()
if rest and rest[0] == "spawn":
    _helpers.spawn(rest[1])
    _helpers.wait_for_roles(rest[1])
    rest = rest[2:]
if rest and rest[0] == "exit":
    sys.exit(0)  # the middle process leaves: its child is orphaned
while True:
    time.sleep(1)
