"""Evidence bundles: a ZIP that proves itself (API.md "Legal", DESIGN "Evidence integrity").

``plan`` decides what a bundle holds (ledger entries, the checkpoint they lead to, evidence
files, thumbnails), only reading; ``proofs`` proves the entries into that checkpoint;
``contents`` builds the files, manifest and signed SHA256SUMS; ``report`` renders
``report.html``; ``zipping`` streams it with stream-zip, never whole in memory or on disk;
``verify.py`` is the standalone verifier shipped inside every bundle.
"""
