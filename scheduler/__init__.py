"""The central scheduler: REST API, planner, MQTT dispatcher, event ingestion, jobs."""
