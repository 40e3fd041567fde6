"""The access service (made by `kontakt new-service access`; docs/architecture.md, "A new service")."""
