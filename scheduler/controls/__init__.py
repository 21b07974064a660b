"""Commands sent to stations (stop, volume, test tone), acknowledged and logged."""
