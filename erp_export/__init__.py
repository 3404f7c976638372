"""Adapters that WRITE approved invoices to ERPs, and the e-invoice files.

- ``documents``: ``InvoiceDocument``, the contract the outbox fills from the ledger (checks its own EN 16931 sums).
- ``base``: the ``ErpExporter`` protocol (``find`` / ``create`` / ``update`` / ``post`` / ``plan``), typed errors,
  ``export_document`` (search-then-create with bounded retries) and the client-side ``TokenBucket``.
- ``bc_soap`` (zeep, page web service), ``bc_rest`` (BC API v2.0) and ``bc_rest_bulk`` (its ``$batch`` bulk path),
  ``exact_online``, ``tryton``.
- ``einvoice``: the files of a document by format (``render``): ``ubl`` (UBL 2.1, Peppol BIS 3.0 and XRechnung 3.0),
  ``cii`` (Factur-X EN 16931 XML), the Factur-X PDF and the readable PDF (``invoice_page``, WeasyPrint, PDF/A-3b).

Imports nothing of ledger, services, desk or rating (import-linter): only ``connectors.http``, ``connectors.errors``,
``connectors.retry`` and ``connectors.token_store``.
"""
