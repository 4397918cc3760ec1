"""Crashes with an exception (exit code 1 and a traceback in its output)."""

raise RuntimeError("robot crashed on purpose")
