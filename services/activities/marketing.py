"""The marketing feature of the activities service (to be built)."""
