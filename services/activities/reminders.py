"""The reminders feature of the activities service (to be built)."""
