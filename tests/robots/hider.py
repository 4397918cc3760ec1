"""Starts a child with an empty environment, detached, that outlives this robot (it escapes both sweeps:
no job marker, no parent); records it and exits 0 at once."""

import os
import subprocess
import sys

import _helpers

_helpers.record("robot")
flags = subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.DETACHED_PROCESS if os.name == "nt" else 0
child = subprocess.Popen([sys.executable, "-c", "import time\nwhile True: time.sleep(1)"], env={},
                         creationflags=flags, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, close_fds=True)
_helpers.mark("hidden.pid", str(child.pid))
