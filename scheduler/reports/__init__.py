"""Activity reports: what the stations broadcast over a period, as the city files it."""
