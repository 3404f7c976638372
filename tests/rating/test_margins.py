"""The margin and vendor-invoice rules (``rating.margins``): which vendor charge matches which billed line, and
that margins per customer add up to the legal entity's total in each currency."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rating.margins import Charge, margins, match, overlaps, sums, totals

D = dt.date


def charge(ref: str, subscription: int | None, first: dt.date, last: dt.date, amount: str = "10.00",
           links: frozenset[str] = frozenset(), tenant: str = "nl-bv", customer: str = "Contoso",
           currency: str = "EUR") -> Charge:
    return Charge(ref, tenant, customer, "E3", subscription, first, last, Decimal(amount), currency, links)


MATCHING = [
    # vendor charge, billed line, do they match?, why
    (charge("v", 1, D(2026, 10, 1), D(2026, 10, 31)), charge("b", 1, D(2026, 10, 1), D(2026, 10, 31)), True,
     "the same subscription and month"),
    (charge("v", 1, D(2026, 10, 1), D(2026, 10, 31)), charge("b", 1, D(2026, 10, 31), D(2026, 11, 29)), True,
     "one day in common (inclusive ends)"),
    (charge("v", 1, D(2026, 10, 1), D(2026, 10, 31)), charge("b", 1, D(2026, 11, 1), D(2026, 11, 30)), False,
     "adjacent stretches share no day"),
    (charge("v", 1, D(2026, 10, 1), D(2026, 10, 31)), charge("b", 2, D(2026, 10, 1), D(2026, 10, 31)), False,
     "another subscription"),
    (charge("v", None, D(2026, 10, 5), D(2026, 10, 5)), charge("b", None, D(2026, 10, 5), D(2026, 10, 5)), False,
     "no subscription on either side and no lineage link"),
    (charge("cost_line:7", None, D(2026, 10, 5), D(2026, 10, 5)),
     charge("b", None, D(2026, 10, 5), D(2026, 10, 5), links=frozenset({"cost_line:7"})), True,
     "the billed line's lineage names the vendor line (a one-time purchase)"),
    (charge("cost_line:7", 1, D(2026, 9, 1), D(2026, 9, 30)),
     charge("b", 1, D(2026, 10, 1), D(2026, 10, 31), links=frozenset({"cost_line:7"})), True,
     "a lineage link wins even without overlap"),
]


@pytest.mark.parametrize(("vendor", "billed", "expected", "why"), MATCHING, ids=[row[3] for row in MATCHING])
def test_matching_rule(vendor: Charge, billed: Charge, expected: bool, why: str) -> None:
    result = match([vendor], [billed])
    assert bool(result.matched) is expected, why
    assert result.unbilled == (() if expected else (vendor,))
    assert result.unbacked == (() if expected else (billed,))


def test_many_to_many_a_mid_month_change_billed_as_two_lines() -> None:
    vendor = [charge("v1", 1, D(2026, 10, 1), D(2026, 10, 31), "300.00"),
              charge("v2", 1, D(2026, 10, 12), D(2026, 10, 31), "-40.00")]
    billed = [charge("b1", 1, D(2026, 10, 1), D(2026, 10, 11), "120.00"),
              charge("b2", 1, D(2026, 10, 12), D(2026, 10, 31), "190.00"),
              charge("b3", 5, D(2026, 10, 1), D(2026, 10, 31), "50.00")]
    result = match(vendor, billed)
    assert [(m.vendor.ref, [b.ref for b in m.billed]) for m in result.matched] == [("v1", ["b1", "b2"]),
                                                                                    ("v2", ["b2"])]
    assert result.unbilled == ()
    assert [b.ref for b in result.unbacked] == ["b3"]


def test_a_zero_vendor_charge_is_not_leakage() -> None:
    assert match([charge("trial", 1, D(2026, 10, 1), D(2026, 10, 31), "0")], []).unbilled == ()


def test_overlap_needs_a_subscription() -> None:
    assert not overlaps(charge("a", None, D(2026, 10, 1), D(2026, 10, 2)),
                        charge("b", None, D(2026, 10, 1), D(2026, 10, 2)))


def test_margin_rows_by_month_the_stretch_starts_in_and_never_across_currencies() -> None:
    billed = [charge("b1", 1, D(2026, 10, 5), D(2026, 11, 4), "48.47"),
              charge("b2", 1, D(2026, 11, 5), D(2026, 12, 4), "48.47"),
              charge("b3", 9, D(2026, 10, 1), D(2026, 10, 31), "12.00", currency="USD")]
    costs = [charge("c1", 1, D(2026, 10, 5), D(2026, 11, 4), "220.60")]
    rows = margins(billed, costs)
    assert [(r.month, r.currency, r.billed, r.cost, r.margin, r.negative) for r in rows] == [
        ("2026-10", "EUR", Decimal("48.47"), Decimal("220.60"), Decimal("-172.13"), True),
        ("2026-10", "USD", Decimal("12.00"), Decimal(0), Decimal("12.00"), False),
        ("2026-11", "EUR", Decimal("48.47"), Decimal(0), Decimal("48.47"), False),
    ]
    assert [(t.currency, t.margin) for t in totals(rows)] == [("EUR", Decimal("-123.66")), ("USD", Decimal("12.00"))]
    assert sums(billed) == {"EUR": Decimal("96.94"), "USD": Decimal("12.00")}


AMOUNTS = st.decimals(min_value=-10_000, max_value=10_000, places=2, allow_nan=False, allow_infinity=False)
CHARGES = st.lists(st.tuples(st.sampled_from(["nl-bv", "de-gmbh"]), st.sampled_from(["A", "B", "C"]),
                             st.sampled_from(["EUR", "USD"]), st.integers(1, 12), AMOUNTS), max_size=40)


def _charges(drawn: list[tuple[str, str, str, int, Decimal]], prefix: str) -> list[Charge]:
    return [charge(f"{prefix}{i}", 1, D(2026, month, 1), D(2026, month, 28), str(amount), tenant=tenant,
                   customer=customer, currency=currency)
            for i, (tenant, customer, currency, month, amount) in enumerate(drawn)]


@given(CHARGES, CHARGES)
def test_customer_margins_add_up_to_the_entity_total(billed_drawn: list, cost_drawn: list) -> None:
    billed, costs = _charges(billed_drawn, "b"), _charges(cost_drawn, "c")
    rows = margins(billed, costs)
    per_customer: dict[tuple[str, str], Decimal] = {}
    for row in rows:
        per_customer[(row.tenant, row.currency)] = per_customer.get((row.tenant, row.currency), Decimal(0)) + \
            row.margin
    for total in totals(rows):
        billed_sum = sum((c.amount for c in billed if (c.tenant, c.currency) == (total.tenant, total.currency)),
                         Decimal(0))
        cost_sum = sum((c.amount for c in costs if (c.tenant, c.currency) == (total.tenant, total.currency)),
                       Decimal(0))
        assert total.margin == per_customer[(total.tenant, total.currency)] == billed_sum - cost_sum
    across = {t.currency: t.margin for t in totals(rows, across_tenants=True)}
    for currency, margin in across.items():
        assert margin == sum((t.margin for t in totals(rows) if t.currency == currency), Decimal(0))
