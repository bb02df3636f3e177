"""Vigil: triage of seized media collections."""

__version__ = "0.1.0"
