"""Timetables: when a bulletin plays on which stations."""
