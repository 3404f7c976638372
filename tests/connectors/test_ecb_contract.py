"""Contract: the ECB connector and the ECB sandbox speak the published eurofxref files, not a dialect.

The files and their format, as the ECB publishes them:
- https://www.ecb.europa.eu/stats/policy_and_exchange_rates/euro_reference_exchange_rates/html/index.en.html
  (rates updated around 16:00 CET every working day except TARGET closing days; the XML downloads
  https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml, eurofxref-hist-90d.xml and eurofxref-hist.xml);
- the format: ``gesmes:Envelope`` (xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01", default namespace
  "http://www.ecb.int/vocabulary/2002-08-01/eurofxref") with ``gesmes:subject`` "Reference rates", a
  ``gesmes:Sender`` named "European Central Bank", and ``Cube`` > ``Cube time='YYYY-MM-DD'`` >
  ``Cube currency='USD' rate='1.0705'`` (1 EUR = rate units of the currency);
- TARGET closing days (besides weekends): New Year's Day, Good Friday, Easter Monday, 1 May, 25 and 26 December,
  https://www.ecb.europa.eu/press/pr/date/2000/html/pr001214_4.en.html.
Paging does not apply: each file is one document.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest
import requests

from connectors.ecb import EcbRates, RatesFile
from connectors.errors import SourceError, SourceUnavailable
from connectors.http import HttpPolicy
from sandbox import ecb
from sandbox.core import Clock, SandboxServer
from sandbox.tls import TlsFiles

# Thursday 2026-10-01 02:30 UTC: the latest fixing out is Wednesday 2026-09-30's.
NIGHT = dt.datetime(2026, 10, 1, 2, 30, tzinfo=dt.UTC)


@pytest.fixture
def server(tls: TlsFiles) -> Iterator[SandboxServer]:
    with SandboxServer(ecb.build(Clock(NIGHT), seed=1), tls=tls, prefix=ecb.PREFIX) as running:
        yield running


@pytest.fixture
def connector(server: SandboxServer, policy: HttpPolicy) -> Iterator[EcbRates]:
    reader = EcbRates(server.url, policy)
    yield reader
    reader.close()


def test_every_file_is_the_published_envelope_at_its_published_path(server: SandboxServer, tls: TlsFiles) -> None:
    for file in RatesFile:
        response = requests.get(f"{server.url}{file.value}", verify=str(tls.ca_cert), timeout=5)
        assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/xml")
        text = response.text
        assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<gesmes:Envelope '
                               'xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" '
                               'xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">')
        assert "<gesmes:subject>Reference rates</gesmes:subject>" in text
        assert "<gesmes:name>European Central Bank</gesmes:name>" in text
        assert "<Cube time='2026-09-30'>" in text and "<Cube currency='USD' rate='" in text
    assert requests.get(f"{server.url}/stats/eurofxref/eurofxref-weekly.xml", verify=str(tls.ca_cert),
                        timeout=5).status_code == 404


def test_daily_file_holds_the_latest_fixing_out(connector: EcbRates) -> None:
    pulled = connector.daily()
    assert pulled.days == [dt.date(2026, 9, 30)] and not pulled.errors
    currencies = {rate.currency for rate in pulled.rates}
    assert {"USD", "GBP", "CHF", "SEK", "JPY"} <= currencies and "EUR" not in currencies
    assert "BGN" not in currencies  # Bulgaria uses the euro from 2026
    usd = next(rate for rate in pulled.rates if rate.currency == "USD")
    assert usd.base == "EUR" and isinstance(usd.rate, Decimal) and Decimal("0.9") < usd.rate < Decimal("1.3")


def test_90_day_file_covers_the_last_90_days_without_weekends(connector: EcbRates) -> None:
    days = connector.last_90_days().days
    assert days[0] >= dt.date(2026, 9, 30) - dt.timedelta(days=90) and days[-1] == dt.date(2026, 9, 30)
    assert all(day.weekday() < 5 for day in days)
    assert dt.date(2026, 9, 25) in days and dt.date(2026, 9, 26) not in days and dt.date(2026, 9, 27) not in days
    assert 60 <= len(days) <= 66


def test_history_skips_weekends_and_target_closing_days(connector: EcbRates) -> None:
    pulled = connector.history()
    days = set(pulled.days)
    assert min(days) == dt.date(2025, 1, 2) and max(days) == dt.date(2026, 9, 30)
    closed = [dt.date(2025, 1, 1), dt.date(2025, 4, 18), dt.date(2025, 4, 21), dt.date(2025, 5, 1),
              dt.date(2025, 12, 25), dt.date(2025, 12, 26), dt.date(2026, 1, 1), dt.date(2026, 4, 3),
              dt.date(2026, 4, 6), dt.date(2026, 5, 1)]
    assert not days & set(closed)
    assert {dt.date(2025, 12, 24), dt.date(2025, 12, 29), dt.date(2026, 4, 2), dt.date(2026, 4, 7)} <= days
    assert not any(day.weekday() >= 5 for day in days)
    bgn = [rate for rate in pulled.rates if rate.currency == "BGN"]
    assert bgn and max(rate.day for rate in bgn) == dt.date(2025, 12, 31)


def test_the_same_day_has_the_same_rate_in_every_file(connector: EcbRates) -> None:
    daily = {(r.day, r.currency): r.rate for r in connector.daily().rates}
    history = {(r.day, r.currency): r.rate for r in connector.history().rates}
    assert daily and all(history[key] == rate for key, rate in daily.items())


def test_an_unknown_currency_is_never_invented(connector: EcbRates) -> None:
    currencies = {rate.currency for rate in connector.history().rates}
    assert "XAU" not in currencies and "EUR" not in currencies


def test_a_fixing_appears_at_16_00_frankfurt_time(server: SandboxServer, connector: EcbRates) -> None:
    server.app.clock.set(dt.datetime(2026, 10, 1, 13, 59, tzinfo=dt.UTC))  # 15:59 CEST
    assert connector.daily().days == [dt.date(2026, 9, 30)]
    server.app.clock.set(dt.datetime(2026, 10, 1, 14, 0, tzinfo=dt.UTC))
    assert connector.daily().days == [dt.date(2026, 10, 1)]
    server.app.clock.set(dt.datetime(2026, 10, 4, 12, 0, tzinfo=dt.UTC))  # Sunday: Friday's fixing
    assert connector.daily().days == [dt.date(2026, 10, 2)]


def test_a_cut_off_file_fails_the_read_whole(server: SandboxServer, connector: EcbRates) -> None:
    server.app.faults.arm("GET /stats/eurofxref/eurofxref-hist-90d.xml", "broken_file")
    with pytest.raises(SourceUnavailable, match="unreadable"):
        connector.last_90_days()


def test_server_errors_after_retries_are_unavailable_and_a_404_is_an_error(server: SandboxServer,
                                                                          connector: EcbRates) -> None:
    server.app.faults.arm("*", "status", status=503, times=-1)
    with pytest.raises(SourceUnavailable, match="still failing after retries"):
        connector.daily()
    server.app.faults.clear()
    connector.base_url += "/nowhere"
    with pytest.raises(SourceError, match="404"):
        connector.daily()


def _answer(server: SandboxServer, body: str) -> None:
    server.app.faults.arm("GET /stats/eurofxref/eurofxref-daily.xml", "status", status=200, body=body,
                          headers={"Content-Type": "text/xml"})


ENVELOPE = ('<?xml version="1.0" encoding="UTF-8"?>\n<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01"'
            ' xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref"><Cube>{}</Cube></gesmes:Envelope>')


def test_an_unreadable_entry_is_reported_and_the_others_come_through(server: SandboxServer,
                                                                      connector: EcbRates) -> None:
    _answer(server, ENVELOPE.format("<Cube time='2026-09-30'><Cube currency='USD' rate='1.1170'/>"
                                    "<Cube currency='GBP' rate='n/a'/><Cube currency='usd' rate='1.2'/>"
                                    "<Cube currency='CHF' rate='-0.9'/></Cube><Cube time='30.09.2026'/>"))
    pulled = connector.daily()
    assert [(r.currency, r.rate) for r in pulled.rates] == [("USD", Decimal("1.1170"))]
    assert [(bad.record_id, bad.field) for bad in pulled.errors] == [
        ("2026-09-30/GBP", "rate"), ("2026-09-30/usd", "currency"), ("2026-09-30/CHF", "rate"),
        ("Cube time='30.09.2026'", "time")]


def test_entities_never_reach_the_parser(server: SandboxServer, connector: EcbRates) -> None:
    envelope = ENVELOPE.format("<Cube time='2026-09-30'><Cube currency='USD' rate='&a;'/></Cube>").split("\n", 1)[1]
    _answer(server, '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "1.1">]>' + envelope)
    with pytest.raises(SourceUnavailable, match="DTD"):
        connector.daily()


def test_another_document_is_not_read_as_rates(server: SandboxServer, connector: EcbRates) -> None:
    _answer(server, "<html><body>maintenance</body></html>")
    with pytest.raises(SourceUnavailable, match="not gesmes:Envelope"):
        connector.daily()
