"""The settled day counts (rating-cases.md precise rules 3 and 4) reach the month-end batch and ``batch explain``:
the build rates licences with the same engine as ``cspbill rate``, by the tenant's convention, and explain shows
the count each line was rated with. Unit price: cost 30.00 with nl-bv's 15 % markup, 34.5."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from config import Settings
from config.loader import parse_settings
from ledger.models import InvoiceLine
from services.batches import build_batch, explain_line
from services.clock import FixedClock
from services.operations import initialise
from services.runtime import engine_for
from services.uow import UnitOfWork
from tests.conftest import demo_config_data
from tests.e2e.test_batch_month import as_json
from tests.identity import actor
from tests.services.batches.test_batch_support import add_customer, add_subscription, mutation, snapshot

CLOCK = FixedClock(dt.datetime(2026, 4, 2, 7, tzinfo=dt.UTC))


def convention_config(settings: Settings, tmp_path: Path, convention: str) -> tuple[Settings, Path]:
    """The demo config on this test's database with nl-bv rating by ``convention``, as settings and as a file."""
    data = demo_config_data()
    data["database"] = {"url": settings.database_url(), "url_env": None}
    data["tenants"][0]["rating"] = {"convention": convention, "rounding": "half_up"}
    path = tmp_path / f"{convention}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return parse_settings(data, path), path


def lines_ending(settings: Settings, stretch: str) -> dict[str, InvoiceLine]:
    """The credit and the charge over ``stretch`` (``FROM..TO``), by kind."""
    with UnitOfWork(engine_for(settings)) as uow:
        rows = uow.session.scalars(select(InvoiceLine).where(InvoiceLine.line_key.contains(f"/{stretch}/"))).all()
        return {row.kind: row for row in rows}


def seat_change(settings: Settings, start: str, change: str, months: list[str]) -> None:
    """10 seats from ``start`` (also the anchor), raised to 12 on ``change``; the batches of ``months`` built."""
    initialise(settings)
    customer = add_customer(settings, "nl-bv", "Contoso")
    subscription = add_subscription(settings, "nl-bv", customer, "sub-contoso", start)
    snapshot(settings, subscription, start, 10)
    mutation(settings, "nl-bv", customer, subscription, "increase", change, new_quantity=12)
    snapshot(settings, subscription, change, 12)
    for month in months:
        build_batch(settings, "nl-bv", month, actor(settings, "finn"), CLOCK)


@pytest.mark.parametrize(
    ("convention", "start", "change", "months", "stretch", "days", "credit", "rebill"),
    [
        # Rule 3: anchor 01-31, the cycle 02-28..03-30 has 31 period days (it had 28: credit capped at -345.00).
        ("microsoft", "2026-01-31", "2026-03-01", ["2026-02", "2026-03"], "2026-03-01..2026-03-30", "30/31",
         "-333.87", "400.65"),
        # Rule 4: one day at the end of February is one slot (it counted 3: -34.50 and 41.40).
        ("thirty", "2026-01-01", "2026-02-28", ["2026-01", "2026-02"], "2026-02-28..2026-02-28", "1/30",
         "-11.50", "13.80"),
    ],
)
def test_the_batch_and_explain_count_days_by_the_settled_rules(
        settings: Settings, tmp_path: Path, convention: str, start: str, change: str, months: list[str],
        stretch: str, days: str, credit: str, rebill: str) -> None:
    tenant_settings, config = convention_config(settings, tmp_path, convention)
    seat_change(tenant_settings, start, change, months)
    built = lines_ending(tenant_settings, stretch)
    assert {kind: (line.amount, line.lineage["days"]) for kind, line in built.items()} == {
        "credit": (Decimal(credit), days), "charge": (Decimal(rebill), days)}
    explained = explain_line(tenant_settings, built["credit"].line_key, actor(tenant_settings, "finn"))
    assert explained["lineage"]["days"] == days
    assert explained["lineage"]["formula"].startswith("-10 × 34.5")
    assert explained["lineage"]["formula"].endswith(f" × {days}")
    assert explained["lineage"]["convention"] == convention
    through_cli = as_json(config, "batch", "explain", built["charge"].line_key, "--as", "finn")
    assert Decimal(through_cli["amount"]) == Decimal(rebill)
    assert through_cli["lineage"]["formula"].endswith(f" × {days}")
