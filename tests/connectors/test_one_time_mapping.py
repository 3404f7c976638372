"""How connectors tell one-time purchases, licences and trials apart (table-driven).

Partner Center: ``billingFrequency`` is ``Monthly``/``Annual`` for licences and blank for one-time purchases
(microsoft.md §2.6 "Meanings"); trials carry ``productQualifiers: ["Trial"]`` (§3.6); field names as in Microsoft's
``OneTimeInvoiceLineItem`` (Partner Center SDK, ``src/PartnerCenter/Models/Invoices/OneTimeInvoiceLineItem.cs``) and
https://learn.microsoft.com/partner-center/billing/modern-invoice-reconciliation-file . A subscription's
``billingCycle: oneTime`` is a one-time purchase. Pax8 invoice items: ``type`` ``one-time`` and ``term``
``One-Time``/``One-time``/``Activation``/``Trial`` (distributors.md §2.3, https://devx.pax8.com/docs/public-api-details).
"""

from __future__ import annotations

from typing import Any

import pytest

from connectors.partner_center import licence_billing_type
from connectors.pax8 import item_billing_type
from connectors.recon_lines import billing_type, v2_name
from connectors.records import FieldReader


@pytest.mark.parametrize("fields, expected", [
    ({"billingFrequency": "Monthly"}, "license"),
    ({"billingFrequency": "Annual", "productQualifiers": []}, "license"),
    ({"billingFrequency": ""}, "one_time"),
    ({"billingFrequency": None, "termAndBillingCycle": "1 Year Reservation"}, "one_time"),
    ({"billingFrequency": "OneTime"}, "one_time"),
    ({"termAndBillingCycle": "One-Time"}, "one_time"),
    ({"termAndBillingCycle": "1 Year - Monthly Billing"}, None),  # says nothing: never guessed as a purchase
    ({}, None),
    ({"billingFrequency": "Monthly", "productQualifiers": ["Trial"]}, "trial"),
    ({"billingFrequency": "", "productQualifiers": "['Trial']"}, "trial"),
])
def test_recon_line_billing_type(fields: dict[str, Any], expected: str | None) -> None:
    assert billing_type(FieldReader("pc", "line", fields)) == expected
    pascal = {v2_name(name): value for name, value in fields.items()}
    assert billing_type(FieldReader("pc", "line", pascal), v2_name) == expected


@pytest.mark.parametrize("trial, kind, frequency, expected", [
    (False, "license", "ONE_TIME", "one_time"),
    (False, "license", "P1M", "license"),
    (True, "license", "P1M", "trial"),
    (False, "usage", "USAGE", "usage"),
])
def test_partner_center_subscription_billing_type(trial: bool, kind: str, frequency: str, expected: str) -> None:
    assert licence_billing_type(trial, kind, frequency) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("kind, term, expected", [
    ("one-time", None, "one_time"),
    ("subscription", "One-Time", "one_time"),
    ("subscription", "One-time", "one_time"),
    ("subscription", "Activation", "one_time"),
    ("subscription", "Trial", "trial"),
    ("subscription", "Monthly", "license"),
    ("prorate", "3 Year", "license"),
    ("rebate", "Rebate", None),
])
def test_pax8_invoice_item_billing_type(kind: str, term: str | None, expected: str | None) -> None:
    assert item_billing_type(kind, term) == expected
