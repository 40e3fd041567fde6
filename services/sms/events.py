"""Events the sms service publishes, registered once in the catalogue (docs/events.md).

An event another service consumes is a contract: its payload lives in `shared/contracts/`.
"""

PRODUCER = "sms"
