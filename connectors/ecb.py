"""The European Central Bank's euro foreign exchange reference rates, read from its published ``eurofxref`` files.

Why these files: they are the ECB's own publication (no key, no account), in one stable XML format since 2002: a
``gesmes:Envelope`` whose default namespace is the eurofxref vocabulary, holding ``Cube`` > ``Cube time="YYYY-MM-DD"``
> ``Cube currency="USD" rate="1.0834"``. Every rate is euro-based: ``1 EUR = rate`` units of the currency. There are
three files under ``/stats/eurofxref/`` on the ECB site: ``eurofxref-daily.xml`` (the latest business day),
``eurofxref-hist-90d.xml`` (about the last 90 days) and ``eurofxref-hist.xml`` (every day since 1999). Days without
a fixing (weekends, TARGET closing days) are simply absent; rates appear around 16:00 CET.

The body is parsed with ``defusedxml`` with DTDs forbidden: the file is a known format, but it still arrives over the
network, and an entity expansion must never reach the parser. An unreadable (e.g. truncated) body fails the read as
``SourceUnavailable``; a single unreadable entry is a ``MalformedRecord`` and the others still come through.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, NoReturn
from xml.etree.ElementTree import Element, ParseError

import requests
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from connectors.base import VendorConnector
from connectors.errors import MalformedRecord, SourceUnavailable
from connectors.http import HttpPolicy

SOURCE = "ECB"
BASE = "EUR"
DEFAULT_BASE_URL = "https://www.ecb.europa.eu"
GESMES = "http://www.gesmes.org/xml/2002-08-01"
EUROFXREF = "http://www.ecb.int/vocabulary/2002-08-01/eurofxref"
_CUBE = f"{{{EUROFXREF}}}Cube"
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class RatesFile(StrEnum):
    """The three published files, by the path under the site's base URL."""

    DAILY = "/stats/eurofxref/eurofxref-daily.xml"
    LAST_90_DAYS = "/stats/eurofxref/eurofxref-hist-90d.xml"
    HISTORY = "/stats/eurofxref/eurofxref-hist.xml"


@dataclass(frozen=True, slots=True)
class ReferenceRate:
    """``1 EUR = rate currency`` as fixed on ``day``."""

    day: dt.date
    currency: str
    rate: Decimal
    base: str = BASE


@dataclass(frozen=True)
class RatesPull:
    """What one file said: its rates (oldest day first) and the entries that could not be read."""

    file: RatesFile
    rates: list[ReferenceRate]
    errors: list[MalformedRecord] = field(default_factory=list)

    @property
    def days(self) -> list[dt.date]:
        return sorted({rate.day for rate in self.rates})


class _Public:
    """The ECB files need no credentials: a bearer that is never asked (``EcbRates._send`` sends none)."""

    source = SOURCE

    def token(self) -> NoReturn:
        raise AssertionError("the ECB reference rates are public; no token is ever sent")

    renew = token


class EcbRates(VendorConnector):
    """Reads the reference-rate files from ``base_url`` (the ECB site, or a sandbox speaking the same files)."""

    def __init__(self, base_url: str = DEFAULT_BASE_URL, policy: HttpPolicy | None = None, *,
                 ca_bundle: str | None = None) -> None:
        super().__init__(SOURCE, _Public(), policy, ca_bundle=ca_bundle)
        self.base_url = base_url.rstrip("/")

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        headers = {"Accept": "application/xml, text/xml", **(kwargs.pop("headers", None) or {})}
        try:
            return self.session.request(method, url, headers=headers, **kwargs)
        except requests.RequestException as exc:
            raise SourceUnavailable(self.source, f"{method} {url} failed after retries: {exc}") from exc

    def read(self, file: RatesFile) -> RatesPull:
        """Every rate of one file; raises ``SourceUnavailable`` when the file cannot be fetched or read whole."""
        response = self._send("GET", f"{self.base_url}{file.value}")
        self._check(response, f"GET {file.value}")
        try:
            root = fromstring(response.content, forbid_dtd=True)
        except (ParseError, DefusedXmlException) as exc:
            raise SourceUnavailable(self.source, self._describe("unreadable", response, f"GET {file.value}", exc)
                                    ) from exc
        return self._parse(file, root)

    def daily(self) -> RatesPull:
        return self.read(RatesFile.DAILY)

    def last_90_days(self) -> RatesPull:
        return self.read(RatesFile.LAST_90_DAYS)

    def history(self) -> RatesPull:
        return self.read(RatesFile.HISTORY)

    def _parse(self, file: RatesFile, root: Element) -> RatesPull:
        if root.tag != f"{{{GESMES}}}Envelope":
            raise SourceUnavailable(self.source, f"{file.value}: root element {root.tag!r} is not gesmes:Envelope")
        outer = root.find(_CUBE)
        if outer is None:
            raise SourceUnavailable(self.source, f"{file.value}: no Cube element under the envelope")
        rates: list[ReferenceRate] = []
        errors: list[MalformedRecord] = []
        for day_cube in outer.findall(_CUBE):
            text = day_cube.get("time", "")
            try:
                day = dt.date.fromisoformat(text)
            except ValueError:
                errors.append(MalformedRecord(self.source, f"Cube time={text!r}", "time", "is not a YYYY-MM-DD date"))
                continue
            for cube in day_cube.findall(_CUBE):
                try:
                    rates.append(self._rate(day, cube))
                except MalformedRecord as bad:
                    errors.append(bad)
        rates.sort(key=lambda rate: (rate.day, rate.currency))
        return RatesPull(file, rates, errors)

    def _rate(self, day: dt.date, cube: Element) -> ReferenceRate:
        currency, text = cube.get("currency", ""), cube.get("rate", "")
        record = f"{day.isoformat()}/{currency or '?'}"
        if not _CURRENCY.match(currency):
            raise MalformedRecord(self.source, record, "currency", f"{currency!r} is not an ISO 4217 code")
        try:
            rate = Decimal(text)
        except InvalidOperation:
            raise MalformedRecord(self.source, record, "rate", f"{text!r} is not a number") from None
        if not rate.is_finite() or rate <= 0:
            raise MalformedRecord(self.source, record, "rate", f"{text!r} is not a positive rate")
        return ReferenceRate(day, currency, rate)
