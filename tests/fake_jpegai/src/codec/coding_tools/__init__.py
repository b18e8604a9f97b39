"""Fake tools."""
