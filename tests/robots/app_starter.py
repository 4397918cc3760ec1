"""Starts TEST_APP (an 'application') detached, with an empty environment, outside its own process tree
(as COM starts Excel), records it, and exits 0 at once."""

import os
import subprocess
import sys

import _helpers

app = subprocess.Popen([os.environ["TEST_APP"], "-c", "import time\nwhile True: time.sleep(1)"],
                       env={"PATH": os.environ.get("PATH", "")}, start_new_session=True, stdin=subprocess.DEVNULL)
_helpers.mark("app.pid", str(app.pid))
sys.exit(0)
