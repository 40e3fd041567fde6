"""The workflows service (made by `kontakt new-service workflows`; docs/architecture.md, "A new service")."""
