"""Programmes: an ordered list of bulletins with gaps, scheduled and logged as one unit."""
