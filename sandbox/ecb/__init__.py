"""European Central Bank stand-in: the euro foreign exchange reference rates as the ECB publishes them.

Served at the root (``PREFIX = ""``) so the base URL is ``https://127.0.0.1:P`` exactly as
``https://www.ecb.europa.eu``: ``GET /stats/eurofxref/eurofxref-daily.xml`` (the latest fixing),
``eurofxref-hist-90d.xml`` (the fixings of the last 90 days) and ``eurofxref-hist.xml`` (every fixing since the
sandbox's first day, 2025-01-02), newest day first, in the ``gesmes:Envelope`` / ``Cube`` format. Rates are
deterministic per (seed, currency, day), for business days only (no weekends, no TARGET closing days: 1 January,
Good Friday, Easter Monday, 1 May, 25 and 26 December), each published at 16:00 Frankfurt time on the sandbox clock.
BGN stops after 2025-12-31, as it did when Bulgaria joined the euro. No credentials: the files are public.

Fault knobs: the core ``status`` / ``delay`` / ``drop`` on any path, and ``broken_file`` (a 200 whose XML stops
halfway, as a cut-off download).
"""

from sandbox.ecb.service import CREDENTIALS, PREFIX, build

__all__ = ["CREDENTIALS", "PREFIX", "build"]
