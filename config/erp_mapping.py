"""Where a legal entity's invoice lines land in its ERP: the revenue account per billing type and the ERP's VAT code per
VAT key.

Why in config and keyed like the batch totals: the ERP's chart of accounts and VAT setup belong to the reseller's
bookkeeper, not to cspbill; a line's VAT is identified by its category and rate (``"S 21"``, ``"AE 0"``), the same key
the batch totals show under ``by_rate`` (there with a ``%``), so a person can read one beside the other.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from config.base import Strict

VAT_CATEGORIES = ("S", "Z", "E", "AE", "K", "G", "O", "L", "M", "B")  # UNCL 5305 as EN 16931 uses it
BILLING_TYPES = ("license", "usage", "one_time", "trial")
ErpCode = Annotated[str, Field(min_length=1, max_length=40)]
_VAT_KEY = re.compile(r"^\s*([A-Z]{1,2})\s+(\d+(?:\.\d+)?)\s*%?\s*$")


def parse_vat_key(text: str) -> tuple[str, Decimal]:
    """``"S 21"`` (or the batch totals' ``"S 21%"``) as ``("S", Decimal("21"))``; ``ValueError`` naming the key."""
    found = _VAT_KEY.match(text)
    if found is None or found.group(1) not in VAT_CATEGORIES:
        raise ValueError(f"VAT key {text!r}: write the category ({'/'.join(VAT_CATEGORIES)}) and the rate, e.g. "
                         "'S 21' or 'AE 0'")
    try:
        return found.group(1), Decimal(found.group(2))
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only numbers
        raise ValueError(f"VAT key {text!r}: rate is not a number") from exc


def vat_key_text(category: str, rate: Decimal) -> str:
    """The config key of a line's VAT: ``"S 21"``, ``"S 5.5"``, ``"AE 0"``."""
    return f"{category} {format(rate.normalize(), 'f')}"


class RevenueAccounts(Strict):
    """``erp.revenue_account``: the default revenue account (BC G/L account no., Exact G/L account code, Tryton
    account code) and, optionally, one per billing type: licences, Azure usage, one-time purchases, trials. Written
    as a bare string it is the default alone."""

    default: ErpCode = "8010"
    license: ErpCode | None = None
    usage: ErpCode | None = None
    one_time: ErpCode | None = None
    trial: ErpCode | None = None

    @model_validator(mode="before")
    @classmethod
    def _bare_code(cls, value: object) -> object:
        return {"default": value} if isinstance(value, str) else value

    def account(self, billing_type: str | None) -> str:
        """The account of a line of ``billing_type`` (``None``: not known, the default)."""
        chosen = getattr(self, billing_type) if billing_type in BILLING_TYPES else None
        return chosen or self.default


def normalised_vat_map(value: dict[str, str]) -> dict[str, str]:
    """Keys parsed and written one way (``"S 21%"`` -> ``"S 21"``); two spellings of one key are an error."""
    result: dict[str, str] = {}
    for key, code in value.items():
        text = vat_key_text(*parse_vat_key(str(key)))
        if text in result:
            raise ValueError(f"VAT key {key!r} is given twice (as {text!r})")
        result[text] = code
    return result


class ErpMappingFields(Strict):
    """The mapping part of ``erp``: shared by every ERP kind (mixed into ``config.schema.ErpTarget``)."""

    revenue_account: RevenueAccounts = RevenueAccounts()
    # VAT key ("S 21", "AE 0", "O 0") -> the ERP's code: BC VAT Prod. Posting Group (API taxCode), Exact VATCode,
    # Tryton tax name. Unset: derived from vat_rates (rate names upper-cased) for BC, Exact's standard Dutch codes.
    vat_codes: dict[str, ErpCode] | None = None
    # VAT category ("S", "AE", "O", ...) -> BC VAT Bus. Posting Group (domestic / EU / export) of the invoice
    vat_business_posting_groups: dict[str, ErpCode] = Field(default_factory=dict)

    @field_validator("vat_codes")
    @classmethod
    def _vat_keys(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        return None if value is None else normalised_vat_map(value)

    @field_validator("vat_business_posting_groups")
    @classmethod
    def _categories(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(VAT_CATEGORIES))
        if unknown:
            raise ValueError(f"unknown VAT categories {unknown}: use {'/'.join(VAT_CATEGORIES)}")
        return value
