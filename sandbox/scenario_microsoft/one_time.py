"""One-time purchases in the Microsoft world: perpetual software and an Azure reservation bought during the month,
and a refund of part of the software inside Microsoft's window.

Why here: Partner Center reports them in the same ``provider=onetime`` recon line items as NCE licences, but with
a blank ``billingFrequency`` (microsoft.md §2.6 "Meanings"), ``chargeStartDate`` = ``chargeEndDate`` = the order
day, and the refund as a negative line of the same order (same ``orderId`` and ``referenceId``). Field names follow
Microsoft's ``OneTimeInvoiceLineItem`` (Partner Center SDK) and the new-commerce recon file page
(https://learn.microsoft.com/partner-center/billing/modern-invoice-reconciliation-file). The purchases come from
their own random stream, so adding them changes nothing else in the world.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sandbox.scenario_microsoft.subscriptions import at_time, random_uuid, reference

if TYPE_CHECKING:
    from sandbox.scenario_microsoft.world import Customer, MicrosoftScenario

CURRENCY = "EUR"
# (product id, sku id, availability id, name, unit price EUR, term and billing cycle); ids invented in Microsoft's
# format (software DG7…, reservations DZH…).
SOFTWARE = ("DG7GMGF0SBX1", "0002", "DG7GMGF0SBX2", "Example Server 2025 Standard - 16 Core License Pack",
            Decimal("780.00"), "One-Time")
RESERVATION = ("DZH318Z0SBX3", "0001", "DZH318Z0SBX4", "Example Reserved VM Instance, D2s v5, West Europe, 1 Year",
               Decimal("612.00"), "1 Year Reservation")


@dataclass(frozen=True)
class OneTimePurchase:
    """One order: bought at ``ordered_at``; ``refunded`` units returned at ``refunded_at`` (if any)."""

    customer: Customer
    subscription_id: str
    order_id: str
    product: tuple[str, str, str, str, Decimal, str]
    quantity: int
    ordered_at: dt.datetime
    refunded: int = 0
    refunded_at: dt.datetime | None = None

    def recon_lines(self, world: MicrosoftScenario, start: dt.date, end: dt.date, now: dt.datetime) -> list[dict]:
        """The purchase line and the refund line whose order day falls in ``[start, end]`` and is past by ``now``."""
        events = [(self.ordered_at, "new", self.quantity, 1)]
        if self.refunded_at is not None:
            events.append((self.refunded_at, "refund", self.refunded, -1))
        return [self._line(world, at, kind, quantity, sign) for at, kind, quantity, sign in events
                if start <= at.date() <= end and at <= now]

    def _line(self, world: MicrosoftScenario, at: dt.datetime, charge_type: str, quantity: int,
              sign: int) -> dict:
        product_id, sku_id, availability_id, name, price, term = self.product
        day = at_time(at.date(), dt.time(0, 0))
        event = reference(self.order_id, "order")
        return recon_item(world, self.customer, {
            "orderId": self.order_id, "orderDate": at, "productId": product_id, "skuId": sku_id,
            "availabilityId": availability_id, "productName": name, "skuName": name, "chargeType": charge_type,
            "unitPrice": price, "effectiveUnitPrice": price * sign, "unitType": "Units", "quantity": quantity,
            "subtotal": price * sign * quantity, "subscriptionId": self.subscription_id,
            "subscriptionDescription": name, "subscriptionStartDate": at_time(self.ordered_at.date(), dt.time(0, 0)),
            "subscriptionEndDate": at_time(self.ordered_at.date(), dt.time(0, 0)), "chargeStartDate": day,
            "chargeEndDate": day, "termAndBillingCycle": term, "billingFrequency": "", "referenceId": event,
            "alternateId": reference(event, sign)[:12],
            "reservationOrderId": reference(self.order_id, "reservation") if product_id.startswith("DZH") else "",
        })


def one_time_purchases(seed: int, month: dt.date, customers: list[Customer]) -> list[OneTimePurchase]:
    """Software for the first customer on the 5th, one unit of it returned two days later (inside the 168-hour
    window); a reservation for the second customer on the 12th."""
    rng = random.Random(f"{seed}:one-time")
    software = OneTimePurchase(customers[0], random_uuid(rng), random_uuid(rng), SOFTWARE, 4,
                               at_time(month.replace(day=5), dt.time(10, 12, 5)), 1,
                               at_time(month.replace(day=7), dt.time(9, 40, 0)))
    reservation = OneTimePurchase(customers[1 % len(customers)], random_uuid(rng), random_uuid(rng), RESERVATION,
                                  1, at_time(month.replace(day=12), dt.time(14, 3, 30)))
    return [software, reservation]


def recon_item(world: MicrosoftScenario, customer: Customer, fields: dict[str, Any]) -> dict:
    """A ``OneTimeInvoiceLineItem`` of ``customer``: the partner and customer fields every line shares, ``fields``
    (order, product, charge, subscription and dates), and the totals derived from them (no tax in the sandbox)."""
    return {
        "partnerId": world.partner_id,
        "customerId": customer.id,
        "customerName": customer.company_name,
        "customerDomainName": customer.domain,
        "customerCountry": customer.country,
        "invoiceNumber": "",
        "mpnId": "1234567",
        "resellerMpnId": "",
        "productQualifiers": [],
        "billableQuantity": fields["quantity"],
        "taxTotal": Decimal(0),
        "totalForCustomer": fields["subtotal"],
        "currency": CURRENCY,
        "pricingCurrency": CURRENCY,
        "pcToBCExchangeRate": 1,
        "pcToBCExchangeRateDate": world.month,
        "priceAdjustmentDescription": "",
        "discountDetails": "",
        "meterDescription": "",
        "publisherName": "Microsoft Corporation",
        "publisherId": "",
        "reservationOrderId": "",
        "promotionId": "",
        **fields,
        "invoiceLineItemType": "billing_line_items",
        "billingProvider": "one_time",
        "attributes": {"objectType": "OneTimeInvoiceLineItem"},
    }
