"""Evidence bundles: a ZIP that proves itself (API.md "Legal", DESIGN "Evidence integrity").

``contents`` decides what a bundle holds (files, ledger entries with inclusion proofs, the
checkpoint they lead to); ``zipping`` streams it with stream-zip, never whole in memory or
on disk; ``verify.py`` is the standalone verifier shipped inside every bundle.
"""
