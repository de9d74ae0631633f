"""The publication queue: claim with a lease, send, record, retry, reconcile.

Publications are rows; APScheduler only ticks the dispatcher. See ``shared/design.md`` for
the status machine. Modules: ``claim`` (take due work), ``retry`` (one policy decides what an
error means), ``record`` (store outcomes, receipts first), ``sweep`` (expired leases →
reconciliation), ``dispatcher`` (the loop that ties them together), ``signals`` (wake-ups).
"""
