"""The access service's rules and models: pure, no store, no boto3 (tests/unit/test_import_rules.py)."""
