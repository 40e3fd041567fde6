"""One Powertools router per feature of the email API; `handlers/api.py` includes them all."""
