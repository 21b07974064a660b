"""What bulletins are about and in: languages by name, topics and sources."""
