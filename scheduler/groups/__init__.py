"""Station groups: the city → ward → loudspeaker-cluster hierarchy and custom groups."""
