"""Ends with exit code 3."""

print("failing on purpose")
raise SystemExit(3)
