"""The erasure feature of the activities service (to be built)."""
