"""The ward agent: holds its station's plan, caches media and plays each item on time."""
