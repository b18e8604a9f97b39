"""Fake JPEG AI reference software for the tests (see ../README.md)."""
