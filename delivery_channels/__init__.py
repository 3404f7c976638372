"""Adapters that deliver issued invoices to customers: e-mail through SMTP (``smtp``) and Peppol through an access
point's REST API (``peppol``). Like ``erp_export`` they speak records only (no ledger, no services): the delivery
outbox in ``services.delivery`` decides what to send and records what happened.
"""
