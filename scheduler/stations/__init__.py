"""Ward stations: registration, credentials, availability."""
