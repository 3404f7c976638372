"""The pure rating core: what a licence or a usage row costs the customer, and why.

Pure means no I/O, no database, no clock, no logging configuration, and no import of any other cspbill package
(import-linter enforces it), so every rule here is tested with plain data and replayed from lineage alone. Money is
``Decimal`` with its currency (integer minor units in the vectorised paths), amounts stay exact until they are
rounded once per line by a named policy, and every period has an inclusive end date.

Entry points:

- :func:`rating.proration.rate_subscription` ``(terms, changes, window, convention, rounding, price_policy)`` →
  ``list[RatedLine]``: charges, credits and rebills of every charge period starting in the window. Each
  ``RatedLine`` has a deterministic ``key`` (:class:`~rating.proration.LineKey`: subscription, charge-period start,
  kind, stretch start, sequence), quantity, unit price, days, period days, exact ``unrounded``, rounded ``amount``
  (:class:`~rating.money.Money`), ``formula``, ``bill_date`` (advance/arrears) and a
  :class:`~rating.lineage.Lineage` with ``to_dict()``.
- :func:`rating.proration.credit_invoiced` ``(invoiced_line, effective, convention, rounding, credited_so_far=…)``:
  the credit for the rest of an already-invoiced line, from its invoiced amount and fraction, capped by what remains.
- :func:`rating.bulk.rate_month`: the same rules on whole DataFrames (integer minor units) for a month-end batch.
- :func:`rating.usage_frames.rate_usage`: Azure usage rows → marked-up, converted, grouped lines (exact sums).
- :func:`rating.invoicing.build_invoices`: invoices per legal entity, customer and currency (optionally per
  subscription or environment), VAT per invoice per rate.
- :func:`rating.vat.determine_vat` ``(seller_country, buyer, standard_rate, outside_eu)``: the VAT a customer's lines
  carry (S, reverse charge AE for EU businesses abroad with a valid VAT id, O outside the EU); the batch build uses
  it.
- :func:`rating.readiness.blocking_findings`: the master data a customer still lacks before its invoices are issued.
- :func:`rating.nce.decide` ``(change, terms, seat_batches, now, schedule_if_late)``: whether a service-desk change
  passes the NCE rules now (168-hour window per seat batch, term bounds), is scheduled for renewal, or is refused
  with the rule and the next allowed date.
- :mod:`rating.pricing` (``PriceBook``, ``Markups``, ``FxTable``), :mod:`rating.periods` (``Convention``,
  billing periods, day counts), :mod:`rating.rounding` (``RoundingPolicy``, ``round_amount``), :mod:`rating.money`.
"""
