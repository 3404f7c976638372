"""The use cases: the one doorway for the CLI, the web desk and the scheduler. Each owns its transaction (unit of work).

One sub-package per use case, its reads beside its writes, its public functions in its ``__init__``:

- ``sync``: the nightly pulls -> snapshots, usage rows, cost lines; the runs people see.
- ``desk``: the service desk's side: mutations (checked against the NCE rules), customers, subscriptions,
  reconciliation and the discrepancies it raises.
- ``batches``: the month-end: build (should-be minus billed), timeline, licence and usage lines, prices, invoices,
  review and diff, four-eyes approval with gapless numbers; and the rating-case calculator.
- ``export``: the ERP outbox (exactly once), the documents it sends, their status, e-invoice files.
- ``operations``: setting the ledger up, scheduled jobs, health, the audit trail.
- ``demo``: the demo month against the sandboxes (the only services code that imports ``sandbox``).

Beside them, what every use case shares: ``uow`` (the unit of work), ``runtime`` (one engine per database),
``clock``, ``errors`` (typed, with sentences people read), ``access`` (roles and tenants), ``passwords`` and
``paging``.
"""
