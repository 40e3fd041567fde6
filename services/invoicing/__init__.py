"""The invoicing service (made by `kontakt new-service invoicing`; docs/architecture.md, "A new service")."""
