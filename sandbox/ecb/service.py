"""The ECB reference-rate files served from the sandbox clock: which fixings are out, and the XML they are written in.

A fixing is published at 16:00 Frankfurt time on its day, so a read at 02:30 sees the previous business day's rates
(as the nightly sync does against the real site). The XML follows the published files: the ``gesmes`` envelope with
its subject and sender, one outer ``Cube``, a ``Cube time`` per day (newest first) and a ``Cube currency rate`` per
currency.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sandbox.core import Clock, Request, Response, SandboxApp
from sandbox.ecb.fixings import LAST_DAY, fixing, fixing_days
from sandbox.routing import Routes

PREFIX = ""  # served at the root, like https://www.ecb.europa.eu
CREDENTIALS: dict[str, str] = {}
FRANKFURT = ZoneInfo("Europe/Berlin")
PUBLISHED_AT = dt.time(16, 0)
HISTORY_WINDOW = dt.timedelta(days=90)
_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
         '<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" '
         'xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">\n'
         '\t<gesmes:subject>Reference rates</gesmes:subject>\n'
         '\t<gesmes:Sender>\n\t\t<gesmes:name>European Central Bank</gesmes:name>\n\t</gesmes:Sender>\n\t<Cube>\n')
_TAIL = "\t</Cube>\n</gesmes:Envelope>\n"


def latest_published(now: dt.datetime) -> dt.date:
    """The last day whose fixing is out at ``now`` (16:00 Frankfurt time on its day)."""
    local = now.astimezone(FRANKFURT)
    day = local.date() if local.time() >= PUBLISHED_AT else local.date() - dt.timedelta(days=1)
    return min(day, LAST_DAY)


def document(seed: int, days: list[dt.date]) -> str:
    """The eurofxref XML of ``days`` (any order; written newest first)."""
    parts = [_HEAD]
    for day in sorted(days, reverse=True):
        parts.append(f"\t\t<Cube time='{day.isoformat()}'>\n")
        parts += [f"\t\t\t<Cube currency='{currency}' rate='{rate}'/>\n" for currency, rate in fixing(seed, day)]
        parts.append("\t\t</Cube>\n")
    parts.append(_TAIL)
    return "".join(parts)


def build(clock: Clock, seed: int = 1) -> SandboxApp:
    app = SandboxApp("ecb", clock)
    routes = Routes(app, "/stats/eurofxref")

    def answer(request: Request, days: list[dt.date]) -> Response:
        body = document(seed, days)
        if request.has_fault("broken_file"):
            body = body[: len(body) // 2]
        return Response(200, body, content_type="text/xml")

    @routes("GET", r"/eurofxref-daily\.xml")
    def daily(request: Request) -> Response:
        last = latest_published(request.clock.now())
        found = fixing_days(last - dt.timedelta(days=14), last)
        return answer(request, found[-1:])

    @routes("GET", r"/eurofxref-hist-90d\.xml")
    def last_90_days(request: Request) -> Response:
        last = latest_published(request.clock.now())
        return answer(request, fixing_days(last - HISTORY_WINDOW, last))

    @routes("GET", r"/eurofxref-hist\.xml")
    def history(request: Request) -> Response:
        return answer(request, fixing_days(dt.date.min, latest_published(request.clock.now())))

    @routes.not_found
    def missing(request: Request) -> Response:
        return Response(404, "<html><body><h1>404 Not Found</h1></body></html>", content_type="text/html")

    return app
