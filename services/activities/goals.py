"""The goals feature of the activities service (to be built)."""
