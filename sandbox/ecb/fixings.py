"""The ECB's fixing days and the sandbox's deterministic reference rates.

Why integers only: the same (seed, currency, day) must give the same published rate on every machine, so the
rate is a currency's base level moved by a yearly triangle wave and a hashed daily wiggle, all in integer steps,
and rounded to five significant digits as the ECB publishes them.
"""

from __future__ import annotations

import datetime as dt
import zlib
from decimal import ROUND_HALF_EVEN, Decimal

FIRST_DAY = dt.date(2025, 1, 2)  # the first fixing the sandbox knows (1 January is a TARGET closing day)
LAST_DAY = dt.date(2027, 1, 29)  # the last one: the range the demo and the tests use
# Euro-based levels (1 EUR = level) of the currencies the ECB fixes; BGN is pegged and ends with 2025.
LEVELS: dict[str, Decimal] = {
    "USD": Decimal("1.0850"), "JPY": Decimal("162.40"), "BGN": Decimal("1.9558"), "CZK": Decimal("25.120"),
    "DKK": Decimal("7.4610"), "GBP": Decimal("0.84620"), "HUF": Decimal("405.10"), "PLN": Decimal("4.2710"),
    "RON": Decimal("4.9770"), "SEK": Decimal("11.352"), "CHF": Decimal("0.94210"), "ISK": Decimal("148.90"),
    "NOK": Decimal("11.624"), "TRY": Decimal("38.512"), "AUD": Decimal("1.6612"), "BRL": Decimal("6.0480"),
    "CAD": Decimal("1.5214"), "CNY": Decimal("7.8510"), "HKD": Decimal("8.4390"), "IDR": Decimal("17650"),
    "ILS": Decimal("3.9810"), "INR": Decimal("91.215"), "KRW": Decimal("1520.4"), "MXN": Decimal("21.304"),
    "MYR": Decimal("4.8530"), "NZD": Decimal("1.8321"), "PHP": Decimal("62.410"), "SGD": Decimal("1.4512"),
    "THB": Decimal("37.408"), "ZAR": Decimal("20.112"),
}
PEGGED = {"BGN"}
ENDED = {"BGN": dt.date(2025, 12, 31)}


def easter(year: int) -> dt.date:
    """Easter Sunday (Gregorian computus, anonymous algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    weekday = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * weekday) // 451
    n = h + weekday - 7 * m + 114
    return dt.date(year, n // 31, n % 31 + 1)


def target_closed(day: dt.date) -> bool:
    """Weekends and the TARGET closing days: New Year's Day, Good Friday, Easter Monday, 1 May, 25 and 26 December."""
    if day.weekday() >= 5:
        return True
    sunday = easter(day.year)
    fixed = {(1, 1), (5, 1), (12, 25), (12, 26)}
    return (day.month, day.day) in fixed or day in (sunday - dt.timedelta(days=2), sunday + dt.timedelta(days=1))


def fixing_days(first: dt.date, last: dt.date) -> list[dt.date]:
    """Fixing days from ``first`` to ``last`` (inclusive) within the sandbox's range, oldest first."""
    day, days = max(first, FIRST_DAY), []
    while day <= min(last, LAST_DAY):
        if not target_closed(day):
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def _five_digits(value: Decimal) -> Decimal:
    exponent = value.adjusted() - 4
    return value.quantize(Decimal(1).scaleb(exponent), rounding=ROUND_HALF_EVEN)


def rate(seed: int, currency: str, day: dt.date) -> Decimal:
    """``1 EUR = rate currency`` on fixing day ``day``."""
    level = LEVELS[currency]
    if currency in PEGGED:
        return level
    phase = zlib.crc32(currency.encode()) % 360
    position = (day.toordinal() + phase) % 360
    wave = (position if position < 180 else 360 - position) - 90  # -90..90: ±3.6 % over a year
    wiggle = zlib.crc32(f"{seed}:{currency}:{day.isoformat()}".encode()) % 101 - 50  # ±0.5 % a day
    return _five_digits(level * (1 + Decimal(wave * 4 + wiggle) / 10000))


def fixing(seed: int, day: dt.date) -> list[tuple[str, Decimal]]:
    """Every currency fixed on ``day``, in the order the ECB lists them."""
    return [(currency, rate(seed, currency, day)) for currency in LEVELS if day <= ENDED.get(currency, LAST_DAY)]
