"""The local AWS account and region: constants only, so that every function worker process can
import them without the template reader (infra/template.py re-exports them)."""

REGION = "eu-north-1"
ACCOUNT_ID = "123456789012"
