"""The email scanner (issue 21): inbound mail to tickets.

For now only its pure core lives here, in `domain/` (parsing any real-world mail, loop-safety
classification); `kontakt new-service scanner` adds the service's shape around it.
"""
