"""Triage of unknown material: visual clusters, series, devices, timeline and priority."""
