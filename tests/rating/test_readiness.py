"""Blocking findings per customer: the postal address always, the channel's address, the VAT id under reverse charge."""

from __future__ import annotations

import pytest

from rating.readiness import BuyerData, blocking_findings

COMPLETE = dict(customer_id=7, name="Wiener Kaffee GmbH", channel=None, email=None, peppol_id=None,
                street="Ringstraße 1", city="Wien", postal_code="1010", vat_id=None)


@pytest.mark.parametrize(("changes", "categories", "fields"), [
    ({}, {"S"}, []),
    ({"street": None, "postal_code": " "}, {"S"}, ["street", "postal_code"]),
    ({"channel": "peppol"}, {"S"}, ["peppol_id"]),
    ({"channel": "peppol", "peppol_id": "0208:0428759497"}, {"S"}, []),
    ({"channel": "email"}, {"S"}, ["email"]),
    ({"channel": "email", "email": "a@b.example"}, {"S"}, []),
    ({"channel": "erp"}, {"S"}, []),
    ({}, {"AE"}, ["vat_id"]),
    ({"vat_id": "ATU13585627"}, {"AE", "S"}, []),
    ({"city": None, "channel": "email"}, {"AE"}, ["city", "email", "vat_id"]),
])
def test_findings(changes: dict, categories: set[str], fields: list[str]) -> None:
    findings = blocking_findings(BuyerData(**{**COMPLETE, **changes}), categories)
    assert [finding.field for finding in findings] == fields
    assert all(str(finding).startswith("customer 7 (Wiener Kaffee GmbH) ") for finding in findings)
