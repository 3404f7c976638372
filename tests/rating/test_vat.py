"""VAT determination per buyer: domestic, reverse charge inside the EU, consumers and invalid ids, outside the EU.

Reverse charge for B2B services across EU borders is Art. 44 and 196 of Directive 2006/112/EC; EN 16931 writes it
as category AE with rate 0 and an exemption reason (code VATEX-EU-AE). The VAT numbers used pass python-stdnum's
checksums (https://arthurdejong.org/python-stdnum/doc/latest/stdnum.eu.vat).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rating.invoicing import EU_MEMBER_STATES
from rating.vat import Buyer, OutsideEu, determine_vat, has_valid_vat_id, vat_id_problem

RATE = Decimal("19")
NOT_SUBJECT, STANDARD = OutsideEu.NOT_SUBJECT, OutsideEu.STANDARD


@pytest.mark.parametrize(("seller", "buyer", "outside", "expected"), [
    ("DE", Buyer("DE", True, "DE136695976"), NOT_SUBJECT, ("S", RATE, None)),
    ("DE", Buyer(None, True, None), NOT_SUBJECT, ("S", RATE, None)),
    ("DE", Buyer("FR", True, "FR40303265045"), NOT_SUBJECT, ("AE", Decimal(0), "Reverse charge")),
    ("DE", Buyer("AT", True, "ATU13585627"), NOT_SUBJECT, ("AE", Decimal(0), "Reverse charge")),
    ("DE", Buyer("BE", True, "BE0428759497"), NOT_SUBJECT, ("AE", Decimal(0), "Reverse charge")),
    ("DE", Buyer("NL", True, "NL004495445B01"), NOT_SUBJECT, ("AE", Decimal(0), "Reverse charge")),
    ("DE", Buyer("NL", True, "NL004495445B01", "valid"), NOT_SUBJECT, ("AE", Decimal(0), "Reverse charge")),
    ("DE", Buyer("NL", True, "NL004495445B01", "unavailable"), NOT_SUBJECT, ("AE", Decimal(0), "Reverse charge")),
    ("DE", Buyer("NL", True, "NL004495445B01", "invalid"), NOT_SUBJECT, ("S", RATE, None)),
    ("DE", Buyer("FR", True, None), NOT_SUBJECT, ("S", RATE, None)),
    ("DE", Buyer("FR", True, "FR40303265046"), NOT_SUBJECT, ("S", RATE, None)),  # checksum fails
    ("DE", Buyer("FR", True, "DE136695976"), NOT_SUBJECT, ("S", RATE, None)),  # another country's id
    ("DE", Buyer("FR", False, "FR40303265045"), NOT_SUBJECT, ("S", RATE, None)),  # a consumer: no OSS here
    ("DE", Buyer("CH", True, "CHE-116.281.710 MWST"), NOT_SUBJECT, ("O", Decimal(0), "Not subject to VAT")),
    ("DE", Buyer("US", False, None), NOT_SUBJECT, ("O", Decimal(0), "Not subject to VAT")),
    ("DE", Buyer("US", True, None), STANDARD, ("S", RATE, None)),
    ("NL", Buyer("DE", True, "DE136695976"), NOT_SUBJECT, ("AE", Decimal(0), "Reverse charge")),
    ("CH", Buyer("DE", True, "DE136695976"), NOT_SUBJECT, ("S", RATE, None)),  # seller outside the EU
])
def test_vat_per_buyer(seller: str, buyer: Buyer, outside: OutsideEu, expected: tuple) -> None:
    vat = determine_vat(seller, buyer, RATE, outside)
    assert (vat.category.value, vat.rate, vat.exemption_reason) == expected


@pytest.mark.parametrize(("country", "vat_id", "problem"), [
    ("FR", "FR40303265045", None),
    ("FR", "fr 40 303 265 045", None),
    ("GR", "EL094259216", None),
    ("GR", "GR094259216", "does not start with EL, the prefix of GR"),
    ("AT", "ATU13585628", "is not a valid VAT id of AT"),
    ("NL", "004495445B01", "does not start with NL"),
    ("CH", "CHE-116.281.710 MWST", None),
    ("US", "12-3456789", None),  # no national check known: accepted as entered
    (None, "FR40303265045", "no country"),
])
def test_vat_id_problem(country: str | None, vat_id: str, problem: str | None) -> None:
    found = vat_id_problem(country, vat_id)
    assert (found is None) if problem is None else (problem in (found or ""))


@given(seller=st.sampled_from(sorted(EU_MEMBER_STATES)), buyer=st.sampled_from(sorted(EU_MEMBER_STATES)),
       business=st.booleans(), vies=st.sampled_from([None, "valid", "invalid", "unavailable"]))
def test_reverse_charge_only_for_businesses_with_a_valid_id_in_another_member_state(
        seller: str, buyer: str, business: bool, vies: str | None) -> None:
    customer = Buyer(buyer, business, "FR40303265045" if buyer == "FR" else "NL004495445B01", vies)
    vat = determine_vat(seller, customer, RATE)
    reverse = seller != buyer and business and has_valid_vat_id(customer)
    assert vat.category.value == ("AE" if reverse else "S")
    assert vat.rate == (0 if reverse else RATE)
