"""The webhooks service (made by `kontakt new-service webhooks`; docs/architecture.md, "A new service")."""
