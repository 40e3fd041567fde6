"""The mass feature of the activities service (to be built)."""
