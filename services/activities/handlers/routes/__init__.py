"""One Powertools router per feature of the activities API; `handlers/api.py` includes them all."""
