"""Live voice: the streaming server between the scheduler and the agents (docs/live.md)."""
