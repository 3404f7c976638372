"""Benchmark: export 10,000 invoices to the BC API v2.0 sandbox under its per-user rate limit.

What it shows: whether the exporter gets the most out of a rate limit it must not exceed. BC allows 6000 requests per
5 minutes per user (each ``$batch`` operation counted); the bench keeps the 6000-request burst but shrinks the
window so the run is limit-bound in seconds rather than minutes (``BENCH_RATE`` requests per second, default 400),
and runs the sandbox in its own process so it does not share our interpreter lock. The exporter does search-then-
create (one look-up and one deep insert per invoice, in ``$batch`` requests of 100) with its token bucket sized like
the server's.

The ceiling is the time the limit itself imposes: the protocol's minimum of operations (2 per invoice + 1 company
look-up) minus the burst, at the refill rate. ``ceiling_fraction`` = ceiling time / measured time (1.0 = as fast as
the limit allows); ``throttled`` counts the 429s the sandbox had to send (0 = we never overran it).

``python -m bench.export_bc_rest``; ``BENCH_SCALE=0.01`` for a quick run. Prints, never asserts.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import tempfile
import time
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import requests

from bench.common import measure, scaled
from connectors.auth import TokenProvider
from connectors.http import HttpPolicy
from erp_export.base import ExportResult, RetryPolicy
from erp_export.bc_rest import BcRestConfig, BcRestExporter
from erp_export.documents import Address, Buyer, InvoiceDocument, InvoiceLine, Seller, compose

BURST = 6000


def _serve(state_dir: str, rate_limit: int, rate_period: float, ready: Any) -> None:
    """The sandbox process: Entra and BC REST over TLS on free ports, announced through ``ready``."""
    from sandbox import bc_rest, entra
    from sandbox.core import Clock, SandboxServer
    from sandbox.tls import make_tls_files

    clock = Clock()
    tls = make_tls_files(Path(state_dir) / "tls")
    entra_server = SandboxServer(entra.build(clock), tls=tls, prefix=entra.PREFIX).start()
    bc_server = SandboxServer(bc_rest.build(clock, rate_limit=rate_limit, rate_period=rate_period), tls=tls,
                              prefix=bc_rest.PREFIX).start()
    ready.send({"entra": entra_server.url, "bc": bc_server.url, "ca": str(tls.ca_cert)})
    ready.recv()  # block until the bench is done


def documents(count: int) -> list[InvoiceDocument]:
    seller = Seller("nl01", "Example Cloud B.V.", Address("NL", "Keizersgracht 1", "Amsterdam", "1015 AA"),
                    vat_id="NL123456789B01")
    docs = []
    for n in range(1, count + 1):
        customer = f"C{1 + n % 50:05d}"
        lines = []
        for k, (quantity, price, rate) in enumerate((("25", "31.20", "21"), ("3", "10.555", "21"),
                                                     ("1", f"{n % 400 + 12}.37", "9")), start=1):
            net = (Decimal(quantity) * Decimal(price)).quantize(Decimal("0.01"), ROUND_HALF_UP)
            lines.append(InvoiceLine(f"nl01.{customer}.s{k}.202605.v1.{n}", f"Service {k} May 2026",
                                     Decimal(quantity), Decimal(price), net, "S", Decimal(rate),
                                     date(2026, 5, 1), date(2026, 5, 31), str(8010 + k)))
        docs.append(compose(external_ref=f"CSP-NL01-202605-{n:05d}", invoice_number=f"NL01-2026-{n:06d}",
                            issue_date=date(2026, 6, 1), due_date=date(2026, 7, 1), period_start=date(2026, 5, 1),
                            period_end=date(2026, 5, 31), seller=seller,
                            buyer=Buyer(customer, f"Customer {customer}", Address("NL")), currency="EUR",
                            lines=tuple(lines)))
    return docs


def main() -> None:
    count = scaled(10_000)
    rate = float(os.environ.get("BENCH_RATE", "400"))
    burst = min(BURST, scaled(BURST))
    period = burst / rate
    docs = documents(count)
    with tempfile.TemporaryDirectory() as state_dir:
        parent, child = multiprocessing.Pipe()
        server = multiprocessing.get_context("spawn").Process(target=_serve, args=(state_dir, burst, period, child),
                                                              daemon=True)
        server.start()
        urls = parent.recv()
        try:
            from sandbox import bc_rest, entra  # the credentials the sandbox publishes

            tokens = TokenProvider("bench", f"{urls['entra']}/{entra.TENANT_ID}", entra.CREDENTIALS["client_id"],
                                   entra.CREDENTIALS["client_secret"], bc_rest.CREDENTIALS["scope"],
                                   policy=HttpPolicy(verify=urls["ca"]))
            tokens.token()
            api = f"{urls['bc']}{bc_rest.PREFIX}/{entra.TENANT_ID}/{bc_rest.ENVIRONMENT}/api/v2.0"
            exporter = BcRestExporter(BcRestConfig(api_url=api, company_name=bc_rest.COMPANY_NAME,
                                                   verify=urls["ca"], rate_limit=burst, rate_period=period,
                                                   batch_size=min(100, max(1, burst // 4))),
                                      tokens.token, on_unauthorized=tokens.invalidate)
            operations = 2 * count + 1
            ceiling = max(0.0, operations - burst) / rate
            exporter.company()  # the one company look-up, inside the ceiling's operation count
            with measure("export_bc_rest", count, ceiling_fraction=_LimitFraction(ceiling)):
                results = exporter.export_many(docs, policy=RetryPolicy(attempts=10))
            state = json.loads(requests.get(f"{urls['bc']}{bc_rest.PREFIX}/__admin/state", verify=urls["ca"],
                                            timeout=60).text)
        finally:
            parent.send("stop")
            server.join(timeout=10)
    exported = sum(isinstance(result, ExportResult) for result in results.values())
    print(f"exported={exported}/{count} in_erp={len(state['invoices'])} throttled={state['throttled']} "
          f"limit={burst}/{period:.1f}s ceiling_seconds={ceiling:.2f}", flush=True)


class _LimitFraction:
    """Ceiling time over elapsed time, evaluated when ``measure`` prints its line (right after the block)."""

    def __init__(self, ceiling: float) -> None:
        self.ceiling = ceiling
        self.start = time.perf_counter()

    def __str__(self) -> str:
        return f"{self.ceiling / (time.perf_counter() - self.start):.3f}"


if __name__ == "__main__":
    main()
