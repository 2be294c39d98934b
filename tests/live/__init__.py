"""Opt-in tests against a real Exchange server; see ``tests/live/conftest.py`` for when they run."""
