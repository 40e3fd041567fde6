"""The contact_orders feature of the activities service (to be built)."""
