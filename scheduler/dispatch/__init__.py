"""MQTT: sending plans to agents and ingesting what they report."""
