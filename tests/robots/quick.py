"""Exits 0 at once."""
