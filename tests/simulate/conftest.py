"""Fixtures for the simulator tests: the agent tests' bulletins and media server."""

from __future__ import annotations

from tests.agents.conftest import clips, media_server

__all__ = ["clips", "media_server"]
