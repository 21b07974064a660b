"""Kept tallies: the ledger's additive report figures per station and tally month, kept so
that a year's report reads a few rows per station instead of every playback."""
