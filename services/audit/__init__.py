"""The audit service (made by `kontakt new-service audit`; docs/architecture.md, "A new service")."""
