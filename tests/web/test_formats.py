"""How the desk shows amounts, instants and which language it speaks: table-driven over Babel's CLDR formats, the
legal entities' zones and ``Accept-Language`` headers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from babel.messages.pofile import read_po

from config import Settings
from desk.web.formats import local_time, money
from desk.web.i18n import LANGUAGES, LOCALE_DIR, from_header, translations


@pytest.mark.parametrize(("value", "currency", "language", "shown"), [
    (Decimal("1234.56"), "EUR", "nl", "€\xa01.234,56"),
    (Decimal("1234.56"), "EUR", "de", "1.234,56\xa0€"),
    (Decimal("1234.56"), "EUR", "en", "1,234.56 EUR"),
    ("1234.5", "EUR", "nl", "€\xa01.234,50"),              # exact text from a service; two decimals at least
    (Decimal("12.31612855"), "EUR", "de", "12,31612855\xa0€"),  # a unit price keeps every digit
    (Decimal("12.31612855"), "EUR", "en", "12.31612855 EUR"),
    (Decimal("-48.47"), "EUR", "nl", "€\xa0-48,47"),
    (Decimal("-48.47"), "EUR", "de", "-48,47\xa0€"),
    (Decimal("1000000"), "USD", "de", "1.000.000,00\xa0$"),
    (Decimal("1234567.891"), "", "nl", "1.234.567,891"),     # a number without a currency
    (Decimal("1234567.891"), "", "en", "1,234,567.891"),
    (None, "EUR", "de", "—"),
])
def test_money_in_each_language(value: Decimal | str | None, currency: str, language: str, shown: str) -> None:
    assert money(value, currency, language) == shown


@pytest.mark.parametrize(("instant", "tenant", "shown"), [
    (dt.datetime(2026, 11, 2, 7, 0, tzinfo=dt.UTC), "nl-bv", "2026-11-02 08:00 CET"),
    (dt.datetime(2026, 7, 2, 7, 0, tzinfo=dt.UTC), "de-gmbh", "2026-07-02 09:00 CEST"),
    ("2026-10-25T00:30:00+00:00", "nl-bv", "2026-10-25 02:30 CEST"),  # ISO text; the night the clocks go back
    ("2026-10-25T01:30:00+00:00", "nl-bv", "2026-10-25 02:30 CET"),
    (dt.datetime(2026, 11, 2, 7, 0, tzinfo=dt.UTC), None, "2026-11-02 07:00 UTC"),  # no legal entity: UTC
    (None, "nl-bv", "—"),
])
def test_instants_in_the_legal_entitys_zone(settings: Settings, instant: dt.datetime | str | None,
                                            tenant: str | None, shown: str) -> None:
    assert local_time(instant, settings, tenant) == shown


@pytest.mark.parametrize(("header", "language"), [
    ("nl-NL,nl;q=0.9,en;q=0.8", "nl"),
    ("de-DE", "de"),
    ("fr-FR,fr;q=0.9,de;q=0.5,en;q=0.4", "de"),  # the best one we speak, by weight
    ("en;q=0.3,nl;q=0.7", "nl"),
    ("fr-FR", None),
    ("nl;q=0, de;q=0.1", "de"),                   # q=0 means "not this one"
    ("", None),
    ("*;q=0.5,???", None),
])
def test_accept_language_picks_the_best_language_we_speak(header: str, language: str | None) -> None:
    assert from_header(header) == language


@pytest.mark.parametrize("language", [code for code in LANGUAGES if code != "en"])
def test_every_catalog_translates_every_extracted_text(language: str) -> None:
    with (LOCALE_DIR / "messages.pot").open("rb") as template:
        wanted = [m.id for m in read_po(template) if m.id]
    with (LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        given = {m.id: m.string for m in read_po(po) if m.id and not m.fuzzy}
    assert [text for text in wanted if not given.get(text)] == []
    assert translations(language).gettext("Customers") == given["Customers"] != "Customers"
