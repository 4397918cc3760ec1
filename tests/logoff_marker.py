"""Stands in for `shutdown /l` in tests: writes a marker file so the test can see the log-off ran."""

import sys

with open(sys.argv[1], "a", encoding="utf-8") as f:
    f.write("logged off\n")
