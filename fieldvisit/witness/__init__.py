"""A small C2SP tlog-witness (https://c2sp.org/tlog-witness) of the evidence ledger.

Someone outside the company (a creditor, a law firm, a notary) runs it with a key of their
own and a state file of their own, and is configured with the ledger's verifier key. The log
sends it each new checkpoint with a consistency proof from the last one it cosigned; it checks
the log's signature and the proof, refuses a checkpoint that is not an append-only extension
of what it saw before (a fork, a rollback), records the new one and answers with its
timestamped Ed25519 cosignature (https://c2sp.org/tlog-cosignature, cosignature/v1). A
checkpoint cosigned by witnesses that the company does not control cannot have been shown
to one person while another saw a different history.

It needs no database and no Django: ``note`` (signed notes, checkpoints, verifier keys and
cosignatures), ``keys`` (its key file), ``state`` (its state file), ``service`` (the protocol)
and ``server`` (HTTP). Consistency proofs are checked by ``fieldvisit.ledger.merkle``, the same
RFC 9162 code the ledger's own verifiers use. ``manage.py run_witness`` serves it.
"""
