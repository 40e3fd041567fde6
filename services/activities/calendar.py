"""The calendar feature of the activities service (to be built)."""
