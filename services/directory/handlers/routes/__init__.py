"""One Powertools router per feature of the directory API; `handlers/api.py` includes them all."""
