"""The call_list feature of the activities service (to be built)."""
