"""Users, roles and login tokens."""
