"""Calendar feeds: read-only, revocable addresses of one station's calendar for calendar apps."""
