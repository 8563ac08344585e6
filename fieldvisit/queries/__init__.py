"""The read side: what the API, the admin, bundles and the actions themselves read.

Nothing here writes. These modules sit below ``fieldvisit.actions`` (which write, each in one
transaction with its ledger entry) and above ``fieldvisit.models``; the layers contract in
pyproject.toml keeps it so.
"""
