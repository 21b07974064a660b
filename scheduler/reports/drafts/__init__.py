"""Report drafts: the city's and each ward's report made ahead of its deadline and kept."""
