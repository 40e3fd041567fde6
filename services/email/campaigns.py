"""Campaigns: filled in by the feature's engineer (issue 5)."""
