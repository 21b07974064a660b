"""Play now: emergency and priority broadcasts to stations and groups."""
