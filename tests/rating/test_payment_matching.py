"""The cash-application rules as tables: each row a bank entry against the same open items, and what the matcher
must propose (invoices and amounts, score band, whether it applies alone); plus the invariants under hypothesis."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rating.payments.matching import BankPayment, Known, OpenItem, Policy, normalised_name, propose
from rating.payments.reference import creditor_reference, printed, references_in

D = Decimal
POLICY = Policy(auto_apply_score=85, charges_tolerance=D("5.00"), name_threshold=85)
CUSTOMERS = {1: "Contoso Zorg B.V.", 2: "Fabrikam Logistiek", 3: "Müller Maschinenbau GmbH", 4: "Contoso Retail B.V."}
ITEMS = [
    OpenItem(11, "NL2026-00011", 1, D("121.00"), "EUR", dt.date(2026, 9, 3)),
    OpenItem(12, "NL2026-00012", 1, D("242.00"), "EUR", dt.date(2026, 10, 3)),
    OpenItem(21, "NL2026-00021", 2, D("605.00"), "EUR", dt.date(2026, 10, 3)),
    OpenItem(31, "NL2026-00031", 3, D("99.99"), "EUR", dt.date(2026, 10, 3)),
    OpenItem(32, "NL2026-00032", 3, D("-50.00"), "EUR", dt.date(2026, 10, 4)),  # a credit note
    OpenItem(41, "NL2026-00041", 4, D("77.00"), "EUR", dt.date(2026, 10, 3)),
]
LEARNED = Known(CUSTOMERS, {"NL20INGB0001234567": 2}, {"wolkwerk klant zorg": 1})
REF_12 = creditor_reference("NL2026-00012")

CASES = [
    # (case, payment, allocations {number: amount}, minimum score, maximum score, applied alone)
    ("structured reference, exact", BankPayment(D("242.00"), "EUR", reference=REF_12),
     {"NL2026-00012": "242.00"}, 100, 100, True),
    ("reference printed in groups inside the free text", BankPayment(D("242.00"), "EUR", text=f"pay {printed(REF_12)}"),
     {"NL2026-00012": "242.00"}, 100, 100, True),
    ("invoice number in free text", BankPayment(D("605.00"), "EUR", text="Factuur NL2026-00021 dank u"),
     {"NL2026-00021": "605.00"}, 95, 95, True),
    ("invoice number with a space for the dash", BankPayment(D("605.00"), "EUR", text="INV NL2026 00021"),
     {"NL2026-00021": "605.00"}, 95, 95, True),
    ("known IBAN and the exact amount", BankPayment(D("605.00"), "EUR", "Someone", "NL20 INGB 0001 2345 67"),
     {"NL2026-00021": "605.00"}, 92, 92, True),
    ("fuzzy name with a typo and the exact amount", BankPayment(D("99.99"), "EUR", "Muller Maschinenbau"),
     {"NL2026-00031": "99.99"}, 85, 90, True),
    ("learned name variant", BankPayment(D("121.00"), "EUR", "Wolkwerk-Klant Zorg"),
     {"NL2026-00011": "121.00"}, 90, 90, True),
    ("one payment for two invoices by name", BankPayment(D("363.00"), "EUR", "Contoso Zorg BV"),
     {"NL2026-00011": "121.00", "NL2026-00012": "242.00"}, 85, 90, True),
    ("two invoice numbers in the text", BankPayment(D("363.00"), "EUR", text="NL2026-00011 + NL2026-00012"),
     {"NL2026-00011": "121.00", "NL2026-00012": "242.00"}, 95, 95, True),
    ("partial payment with the reference", BankPayment(D("100.00"), "EUR", reference=REF_12),
     {"NL2026-00012": "100.00"}, 85, 85, True),
    ("over-payment: the rest stays on account", BankPayment(D("250.00"), "EUR", reference=REF_12),
     {"NL2026-00012": "242.00"}, 90, 90, True),
    ("bank charges within the tolerance", BankPayment(D("602.50"), "EUR", text="NL2026-00021"),
     {"NL2026-00021": "602.50"}, 90, 90, True),
    ("a refund settles the credit note", BankPayment(D("-50.00"), "EUR", "Müller Maschinenbau GmbH"),
     {"NL2026-00032": "-50.00"}, 85, 90, True),
    ("payer unknown, amount unique: review", BankPayment(D("77.00"), "EUR", "Somebody Else"),
     {"NL2026-00041": "77.00"}, 40, 60, False),
    ("known payer, amount fits nothing: review", BankPayment(D("10.00"), "EUR", "Fabrikam Logistiek"),
     {"NL2026-00021": "10.00"}, 40, 84, False),
    ("two similar customer names: nobody is sure", BankPayment(D("5.00"), "EUR", "Contoso"),
     {}, 0, 0, False),
    ("a stranger with an amount nobody owes", BankPayment(D("318.40"), "EUR", "Stichting Onbekend"),
     {}, 0, 0, False),
    ("another currency never matches", BankPayment(D("242.00"), "USD", reference=REF_12), {}, 0, 0, False),
    ("a reference of the wrong direction is ignored", BankPayment(D("-242.00"), "EUR", reference=REF_12),
     {}, 0, 0, False),
]


@pytest.mark.parametrize(("case", "payment", "allocations", "low", "high", "alone"), CASES, ids=[c[0] for c in CASES])
def test_the_rules_table(case: str, payment: BankPayment, allocations: dict[str, str], low: int, high: int,
                         alone: bool) -> None:
    proposal = propose(payment, ITEMS, LEARNED, POLICY)
    assert {a.number: str(a.amount) for a in proposal.allocations} == allocations, proposal.reasons
    assert low <= proposal.score <= high, (proposal.score, proposal.reasons)
    assert proposal.automatic(POLICY) is alone
    assert proposal.reasons


def test_charges_and_over_payment_are_said_and_counted() -> None:
    charged = propose(BankPayment(D("602.50"), "EUR", text="NL2026-00021"), ITEMS, LEARNED, POLICY)
    assert charged.charges == D("2.50") and charged.allocations[0].settles
    assert any("bank charges" in r for r in charged.reasons)
    over = propose(BankPayment(D("250.00"), "EUR", reference=REF_12), ITEMS, LEARNED, POLICY)
    assert over.unapplied == D("8.00") and any("over-payment" in r for r in over.reasons)
    partial = propose(BankPayment(D("100.00"), "EUR", reference=REF_12), ITEMS, LEARNED, POLICY)
    assert not partial.allocations[0].settles and any("partial" in r for r in partial.reasons)


def test_a_shortfall_beyond_the_tolerance_is_partial_not_charges() -> None:
    proposal = propose(BankPayment(D("590.00"), "EUR", text="NL2026-00021"), ITEMS, LEARNED, POLICY)
    assert proposal.charges == 0 and not proposal.allocations[0].settles


def test_creditor_reference_is_valid_deterministic_and_found_again() -> None:
    assert creditor_reference("NL2026-00012") == creditor_reference("NL2026-00012") == "RF50NL202600012"
    assert creditor_reference("DE-2026-100001").startswith("RF") and len(creditor_reference("X" * 40)) == 25
    assert references_in(f"Rechnung {printed(REF_12)}, danke") == [REF_12]
    with pytest.raises(ValueError, match="no letters or digits"):
        creditor_reference("--")


def test_names_lose_case_punctuation_and_legal_forms() -> None:
    assert normalised_name("Contoso Zorg B.V.") == normalised_name("CONTOSO ZORG BV") == "contoso zorg"


amounts = st.decimals(min_value=D("-5000"), max_value=D("5000"), places=2).filter(lambda d: d != 0)
items = st.lists(st.builds(OpenItem, st.integers(1, 10_000), st.sampled_from(["A-1", "A-2", "B-7", "C-10", "C-11"]),
                           st.integers(1, 4), amounts, st.sampled_from(["EUR", "USD"]),
                           st.dates(dt.date(2026, 1, 1), dt.date(2026, 12, 31))),
                 max_size=8, unique_by=lambda i: i.invoice_id)
payments = st.builds(BankPayment, amounts, st.sampled_from(["EUR", "USD"]),
                     st.sampled_from([None, "Contoso Zorg BV", "Fabrikam", "Muller"]),
                     st.sampled_from([None, "NL20INGB0001234567"]),
                     st.sampled_from([None, creditor_reference("A-1"), creditor_reference("C-10")]),
                     st.sampled_from(["", "A-2", "C-10 and C-11", "nothing"]))


@given(payments, items, st.decimals(min_value=0, max_value=20, places=2))
def test_never_applies_more_than_the_entry_nor_more_than_an_invoice_owes(payment: BankPayment,
                                                                           open_items: list[OpenItem],
                                                                           tolerance: Decimal) -> None:
    policy = Policy(85, tolerance, 85)
    proposal = propose(payment, open_items, LEARNED, policy)
    owed = {i.invoice_id: i for i in open_items}
    assert abs(proposal.applied) <= abs(payment.amount)
    assert proposal.applied + proposal.unapplied == (payment.amount if proposal.allocations else proposal.unapplied)
    for allocation in proposal.allocations:
        item = owed[allocation.invoice_id]
        assert item.currency == payment.currency
        assert allocation.amount * payment.amount > 0 and allocation.amount * item.open > 0
        assert abs(allocation.amount) <= abs(item.open)
    assert len({a.invoice_id for a in proposal.allocations}) == len(proposal.allocations)
    assert 0 <= proposal.charges <= tolerance
