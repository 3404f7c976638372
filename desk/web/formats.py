"""How the desk shows amounts and instants: money in the reader's language (Babel, CLDR), instants in the legal
entity's own time zone; the ledger keeps UTC and exact decimals.

Why English keeps the ISO code after the amount (``1,234.50 EUR``) while Dutch and German use their CLDR currency
format (``€ 1.234,50``, ``1.234,50 €``): the English desk, its tests and the CLI have always shown amounts that way,
and an ISO code cannot be mistaken between the EUR, USD and GBP a reseller bills in. Decimals are never cut: a unit
price keeps its digits (at least two are shown).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.numbers import format_currency, format_decimal

from config import Settings
from desk.web import i18n

PATTERNS = {"en": "#,##0.00 ¤¤"}  # the other languages: their CLDR standard currency pattern


def money(value: Decimal | str | None, currency: str = "", language: str | None = None) -> str:
    """``1234.5`` -> ``1,234.50 EUR`` (en), ``€ 1.234,50`` (nl), ``1.234,50 €`` (de); without a currency, the
    number alone. Amounts arrive as ``Decimal`` or exact text and never pass through float."""
    if value is None:
        return "—"
    amount = Decimal(value)
    language = language or i18n.current.get()
    if not currency:
        return format_decimal(amount, format="#,##0.00", locale=language, decimal_quantization=False)
    return format_currency(amount, currency, format=PATTERNS.get(language), locale=language,
                           currency_digits=False, decimal_quantization=False)


def local_time(value: dt.datetime | str | None, settings: Settings, tenant_code: str | None) -> str:
    """An instant in ``tenant_code``'s ``timezone`` (config ``tenants[].timezone``) with the zone's abbreviation;
    without a known legal entity, in UTC."""
    if not value:
        return "—"
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    zone = next((t.timezone for t in settings.tenants if t.code == tenant_code), "UTC")
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")
