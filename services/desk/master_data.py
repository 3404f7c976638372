"""A customer's master data as the desk edits it: address, VAT id, Peppol id, Leitweg-ID, payment terms, channel.

Why here: e-invoices and delivery need these fields, and a wrong one is found only when a recipient refuses the
invoice. So every change is checked as it is entered (the VAT id against its country with python-stdnum, the Peppol
scheme against the EAS code list, the e-mail's syntax, payment terms 0..365), refused with a sentence naming the
customer and field, and audited with its before and after. The CLI (`cspbill customer set`), the desk's customer
page and the demo all come through :func:`update_master_data`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from config import Settings
from ledger.models import Customer, Tenant
from rating.vat import vat_id_problem
from services.access import Actor, require
from services.clock import Clock
from services.errors import NotFound, ValidationFailed
from services.identity import confirm
from services.runtime import engine_for
from services.uow import UnitOfWork

CHANNELS = ("email", "peppol", "erp")
# Peppol EAS code list (electronic address schemes), as the Peppol BIS 3 rules check PEPPOL-EN16931-CL008.
EAS_LIST = (
    "0002 0007 0009 0037 0060 0088 0096 0097 0106 0130 0135 0142 0147 0151 0154 0158 0170 0177 0183 0184 0188 0190 "
    "0191 0192 0193 0194 0195 0196 0198 0199 0200 0201 0202 0203 0204 0205 0208 0209 0210 0211 0212 0213 0215 0216 "
    "0217 0218 0221 0225 0230 0235 0240 9910 9913 9914 9915 9918 9919 9920 9922 9923 9924 9925 9926 9927 9928 9929 "
    "9930 9931 9932 9933 9934 9935 9936 9937 9938 9939 9940 9941 9942 9943 9944 9945 9946 9947 9948 9949 9950 9951 "
    "9952 9953 9957 9959")
EAS_CODES = frozenset(EAS_LIST.split())
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
LANGUAGE = re.compile(r"^[a-z]{2}(-[A-Z]{2})?$")
LEITWEG = re.compile(r"^[0-9]{2,12}(-[A-Za-z0-9]{1,30})?-[0-9]{2}$")  # coarse - fine - check digits (XRechnung)
# What a person may set, in the order the CLI and the page show them; ``peppol`` is "SCHEME:ID".
EDITABLE = ("street", "city", "postal_code", "country", "vat_id", "peppol", "leitweg_id", "payment_terms_days",
            "delivery_channel", "email", "contact_name", "language")
STORED = ("street", "city", "postal_code", "country", "vat_id", "peppol_scheme", "peppol_id", "leitweg_id",
          "payment_terms_days", "delivery_channel", "email", "contact_name", "language")


@dataclass(frozen=True)
class CustomerDetail:
    id: int
    tenant: str
    name: str
    reference: str | None
    is_business: bool
    street: str | None
    city: str | None
    postal_code: str | None
    country: str | None
    vat_id: str | None
    vat_checked_at: dt.datetime | None
    vat_check_result: str | None
    peppol_scheme: str | None
    peppol_id: str | None
    leitweg_id: str | None
    payment_terms_days: int | None
    delivery_channel: str | None
    email: str | None
    contact_name: str | None
    language: str | None

    @property
    def peppol(self) -> str | None:
        return f"{self.peppol_scheme}:{self.peppol_id}" if self.peppol_scheme and self.peppol_id else None


def detail_of(customer: Customer, tenant_code: str) -> CustomerDetail:
    return CustomerDetail(
        customer.id, tenant_code, customer.name, customer.reference, customer.is_business, customer.street,
        customer.city, customer.postal_code, customer.country, customer.vat_id, customer.vat_checked_at,
        customer.vat_check_result, customer.peppol_scheme, customer.peppol_id, customer.leitweg_id,
        customer.payment_terms_days, customer.delivery_channel, customer.email, customer.contact_name,
        customer.language)


def owned_customer(uow: UnitOfWork, who: Actor, customer_id: int) -> tuple[Customer, Tenant]:
    """The customer and its legal entity, if ``who`` (desk or finance) may see it; NotFound otherwise."""
    customer = uow.customers.get(customer_id)
    tenant = customer and uow.session.get(Tenant, customer.tenant_id)
    if customer is None or tenant is None or not who.can_see(tenant.code):
        raise NotFound(f"customer {customer_id}: not found")
    require(who, "desk", tenant.code)
    return customer, tenant


def customer_detail(settings: Settings, who: Actor, customer_id: int) -> CustomerDetail:
    require(who, "desk")
    with UnitOfWork(engine_for(settings)) as uow:
        customer, tenant = owned_customer(uow, who, customer_id)
        return detail_of(customer, tenant.code)


def _text(limit: int) -> Callable[[str], str | None]:
    def parse(value: str) -> str | None:
        if len(value) > limit:
            raise ValueError(f"is longer than {limit} characters")
        return value or None
    return parse


def _postal_code(value: str) -> str:
    if not value:
        raise ValueError("must not be empty where given")
    if len(value) > 20:
        raise ValueError("is longer than 20 characters")
    return value


def _country(value: str) -> str:
    value = value.upper()
    if not COUNTRY.fullmatch(value):
        raise ValueError(f"{value!r} is not a two-letter ISO country code")
    return value


def _peppol(value: str) -> tuple[str | None, str | None]:
    if not value:
        return None, None
    scheme, sep, ident = value.partition(":")
    if not sep or not ident.strip():
        raise ValueError(f"{value!r} is not SCHEME:ID (e.g. 0106:12345678)")
    if scheme.strip() not in EAS_CODES:
        raise ValueError(f"scheme {scheme!r} is not a known Peppol EAS code (e.g. 0106, 0208, 9930, 9944)")
    return scheme.strip(), ident.strip()


def _leitweg(value: str) -> str | None:
    if value and not LEITWEG.fullmatch(value):
        raise ValueError(f"{value!r} is not a Leitweg-ID (e.g. 991-12345-67: coarse-fine-check digits)")
    return value or None


def _payment_terms(value: str) -> int | None:
    if not value:
        return None
    try:
        days = int(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a whole number of days") from None
    if not 0 <= days <= 365:
        raise ValueError(f"{days} is not between 0 and 365 days")
    return days


def _channel(value: str) -> str | None:
    if value and value not in CHANNELS:
        raise ValueError(f"{value!r} is not one of {', '.join(CHANNELS)}")
    return value or None


def _email(value: str) -> str | None:
    if value and (len(value) > 254 or not EMAIL.fullmatch(value)):
        raise ValueError(f"{value!r} is not an e-mail address")
    return value or None


def _language(value: str) -> str | None:
    if value and not LANGUAGE.fullmatch(value):
        raise ValueError(f"{value!r} is not a language code such as de, nl or en-GB")
    return value or None


PARSERS: dict[str, Callable[[str], Any]] = {
    "street": _text(200), "city": _text(100), "contact_name": _text(200),
    "postal_code": _postal_code, "country": _country, "vat_id": lambda value: value.replace(" ", "").upper() or None,
    "leitweg_id": _leitweg, "payment_terms_days": _payment_terms, "delivery_channel": _channel, "email": _email,
    "language": _language,
}


def parse_changes(customer_id: int, changes: Mapping[str, str]) -> dict[str, Any]:
    """Text as entered -> column values; an empty text clears the field. Raises naming the first bad field."""
    parsed: dict[str, Any] = {}
    for field, raw in changes.items():
        if field not in EDITABLE:
            raise ValidationFailed(f"customer {customer_id} {field}: not a master-data field ({', '.join(EDITABLE)})")
        try:
            if field == "peppol":
                parsed["peppol_scheme"], parsed["peppol_id"] = _peppol(raw.strip())
            else:
                parsed[field] = PARSERS[field](raw.strip())
        except ValueError as exc:
            raise ValidationFailed(f"customer {customer_id} {field}: {exc}") from None
    return parsed


def apply_master_data(uow: UnitOfWork, customer: Customer, tenant: Tenant, values: Mapping[str, Any], actor: str,
                      at: dt.datetime, action: str = "customer.master_data", detail: str | None = None) -> bool:
    """Write the values that differ, check the VAT id against the resulting country, audit before/after."""
    vat_id = values.get("vat_id", customer.vat_id)
    country = values.get("country", customer.country)
    if vat_id and ("vat_id" in values or "country" in values):
        problem = vat_id_problem(country, vat_id)
        if problem:
            raise ValidationFailed(f"customer {customer.id} vat_id: {problem}")
    changed = {name: value for name, value in values.items() if getattr(customer, name) != value}
    if not changed:
        return False
    before = {name: getattr(customer, name) for name in changed}
    if "vat_id" in changed or "country" in changed:  # a VIES answer was about the old number
        before.update(vat_checked_at=customer.vat_checked_at, vat_check_result=customer.vat_check_result)
        customer.vat_checked_at, customer.vat_check_result = None, None
    for name, value in changed.items():
        setattr(customer, name, value)
    uow.audit.record(actor, action, "customer", customer.id, tenant.id, before=_jsonable(before),
                     after=_jsonable(changed), detail=detail, at=at)
    return True


def _jsonable(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value.isoformat() if isinstance(value, dt.datetime) else value for name, value in values.items()}


def update_master_data(settings: Settings, who: Actor, customer_id: int, changes: Mapping[str, str],
                       clock: Clock) -> CustomerDetail:
    """Set the given fields (text as entered; empty clears) of a customer the desk or finance may see."""
    require(who, "desk")
    values = parse_changes(customer_id, changes)
    with UnitOfWork(engine_for(settings), write=True) as uow:
        confirm(uow, who)
        customer, tenant = owned_customer(uow, who, customer_id)
        apply_master_data(uow, customer, tenant, values, who.username, clock.now())
        return detail_of(customer, tenant.code)
