"""Change against last month per customer on the batch review: amount, percent, and a flag beyond the thresholds
of config.yaml's ``review:`` section (a tenant's own section wins over the global one)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from config import Settings
from config.review import ReviewConfig
from services.batches import batch_summary, build_batch
from services.clock import FixedClock
from services.operations import initialise
from tests.identity import actor
from tests.services.batches.test_batch_support import add_customer, add_subscription, snapshot


def _with_review(settings: Settings, percent: str, amount: str) -> Settings:
    review = ReviewConfig(change_threshold_percent=Decimal(percent), change_threshold_amount=Decimal(amount))
    tenants = [t.model_copy(update={"review": review}) if t.code == "nl-bv" else t for t in settings.tenants]
    return settings.model_copy(update={"tenants": tenants})


@pytest.mark.parametrize(("review", "flagged"), [
    (None, {"Groot BV": True, "Klein BV": False}),  # the global default: 20 % and 100
    (("20", "10"), {"Groot BV": True, "Klein BV": True}),
    (("150", "0"), {"Groot BV": False, "Klein BV": False}),  # both doubled: +100 % is below 150 %
])
def test_customers_beyond_the_thresholds_are_flagged(settings: Settings, review: tuple[str, str] | None,
                                                     flagged: dict[str, bool]) -> None:
    initialise(settings)
    for name, seats in (("Groot BV", 10), ("Klein BV", 1)):
        sub = add_subscription(settings, "nl-bv", add_customer(settings, "nl-bv", name), name, "2026-03-01")
        snapshot(settings, sub, "2026-03-01", seats)
        snapshot(settings, sub, "2026-04-01", seats * 2)
    finn = actor(settings, "finn")
    build_batch(settings, "nl-bv", "2026-03", finn, FixedClock(dt.datetime(2026, 4, 2, 7, tzinfo=dt.UTC)))
    build_batch(settings, "nl-bv", "2026-04", finn, FixedClock(dt.datetime(2026, 5, 2, 7, tzinfo=dt.UTC)))
    shown = settings if review is None else _with_review(settings, *review)
    changes = batch_summary(shown, "nl-bv", "2026-04", finn)["diff"]["customers"]
    assert {c["name"]: c["flagged"] for c in changes} == flagged
    assert {c["name"]: c["percent"] for c in changes} == {"Groot BV": "100.0", "Klein BV": "100.0"}
