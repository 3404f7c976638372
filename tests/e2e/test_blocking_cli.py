"""Blocking findings through the real console script: `batch show` names customer and field, `batch approve`
refuses with the list and exits non-zero, `customer set` completes the customer, then approval goes through."""

from __future__ import annotations

from pathlib import Path

from config import Settings
from tests.conftest import sqlite_only
from tests.e2e.test_batch_month import config_file, cspbill  # noqa: F401 - the CLI config fixture, reused
from tests.services.batches.test_blocking_findings import draft  # noqa: F401 - the draft batch fixture, reused

pytestmark = sqlite_only  # the CLI over the services: both databases are covered below it


def test_show_lists_approve_refuses_then_completes(settings: Settings, config_file: Path,  # noqa: F811
                                                  draft: dict[str, int]) -> None:  # noqa: F811
    batch = ("--tenant", "de-gmbh", "--month", "2026-04")
    shown = cspbill(config_file, "batch", "show", *batch, "--as", "greta").stdout
    assert f"blocks approval: customer {draft['bare']} (Ohne Adresse GmbH) street: missing" in shown
    assert f"blocks approval: customer {draft['peppol']} (Stad Gent) peppol_id: missing" in shown
    refused = cspbill(config_file, "batch", "approve", *batch, "--as", "ada", ok=False)
    assert "3 blocking findings" in refused.stderr + refused.stdout
    cspbill(config_file, "customer", "set", str(draft["peppol"]), "--peppol", "0208:0428759497", "--as", "dana")
    cspbill(config_file, "customer", "set", str(draft["bare"]), "--street", "Domkloster 4", "--city", "Köln",
            "--as", "dana")
    assert "3 invoices" in cspbill(config_file, "batch", "approve", *batch, "--as", "ada").stdout
