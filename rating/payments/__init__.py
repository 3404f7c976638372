"""Cash application rules: the creditor reference an invoice carries, and how a bank entry is matched to open
invoices. Pure like the rest of :mod:`rating`, so every rule is tested with plain data tables."""
