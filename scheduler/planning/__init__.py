"""Planning, above the domains: timetables expanded into playbacks, their rules and clashes."""
