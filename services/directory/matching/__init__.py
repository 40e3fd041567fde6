"""Duplicate matching of accounts and contacts (issue 24): the pure core, no I/O.

A record (a directory `Contact`/`Account` model or its dict) is read once into a `Prepared`
record (`prepare.py`: every comparable field normalised, `normalise.py`), which gives its blocking
keys (`blocking.py`: candidate pairs come only from records that share a key, and an oversized
block is walked as a sorted neighbourhood, so the cost grows with the records, not their square).
A candidate pair is scored by the tenant's rules (`rules.py`, `scoring.py`) and the pairs at or
above the threshold are joined into groups (`grouping.py`). `engine.py` runs the whole pipeline
over a list of records (a scan) or one record against its candidates (check on create).
"""
