"""The sms service (made by `kontakt new-service sms`; docs/architecture.md, "A new service")."""
