"""Use cases: every write goes through one of these functions.

Each takes the lock it needs, checks the rules, writes its rows and appends the ledger entry
in one ``transaction.atomic(durable=True)``, so a record and its proof exist together or not
at all. Slow I/O (hashing files, inspecting media) happens before the transaction opens.
"""
