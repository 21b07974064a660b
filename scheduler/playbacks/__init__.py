"""The playback ledger: one row per station × occurrence, and the events behind it."""
