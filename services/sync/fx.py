"""Exchange rates into the ledger: `cspbill fx sync` (and the nightly ``sync:fx`` job), and `cspbill fx list`.

Why here: rates are read like any source (a ``sync_run`` row with counts and errors, nothing stored when the read
fails) and serve every legal entity, so they are not a tenant's source. Which file is read: the full history when
asked (``--history``), the 90-day file when the ledger holds no rate of the source yet or its newest rate is older
than a long weekend (a missed night never leaves a gap), else the daily file. Storing is idempotent: a rate already
recorded for (base, quote, day, source) is never stored twice or replaced (lines name the rate they used); a
differing value is reported on the run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from contextlib import closing
from dataclasses import dataclass
from decimal import Decimal

from config import Settings
from config.schema import FxConfig
from connectors.ecb import BASE, SOURCE, EcbRates, RatesFile, RatesPull
from connectors.errors import SourceError
from connectors.http import HttpPolicy
from ledger.models import SyncRun
from ledger.repositories.fx_rates import RateRow
from services.access import Actor, require
from services.clock import Clock, SystemClock
from services.errors import BadSetting, NotFound, ValidationFailed
from services.runners import running
from services.runtime import engine_for
from services.sync.run import SourceRunReport
from services.sync.runs import close_abandoned_sync_runs
from services.uow import UnitOfWork

log = logging.getLogger("cspbill.services.fx")

RUN_SOURCE = "fx:ecb"  # the sync_run source name
ALL_TENANTS = "all"  # rates serve every legal entity
STALE_AFTER = dt.timedelta(days=4)  # newest stored rate older than this: read the 90-day file, not the daily one


@dataclass(frozen=True)
class FxRateView:
    base: str
    quote: str
    rate_date: dt.date
    rate: Decimal
    source: str


def fx_config(settings: Settings) -> FxConfig:
    """The ``fx:`` section; a clear error when rates are not configured."""
    if settings.fx is None or not settings.fx.enabled:
        raise BadSetting("config fx: no exchange-rate source configured (add `fx: {source: ecb}` to "
                               "config.yaml)")
    return settings.fx


def _connector(settings: Settings, config: FxConfig) -> EcbRates:
    ca = str((settings.base_dir / config.ca_bundle).resolve()) if config.ca_bundle else None
    return EcbRates(config.base_url, dataclasses.replace(HttpPolicy(), verify=ca or True))


def _file(latest: dt.date | None, today: dt.date, history: bool) -> RatesFile:
    if history:
        return RatesFile.HISTORY
    if latest is None or today - latest > STALE_AFTER:
        return RatesFile.LAST_90_DAYS
    return RatesFile.DAILY


def sync_fx(settings: Settings, clock: Clock | None = None, *, history: bool = False,
            who: Actor) -> SourceRunReport:
    """Read the configured rates into the ledger (one ``sync_run``); a failed read stores nothing."""
    require(who, "sync")
    config = fx_config(settings)
    as_of = (clock or SystemClock()).now()
    engine = engine_for(settings)
    close_abandoned_sync_runs(engine)
    with running() as runner:
        with UnitOfWork(engine, write=True) as uow:
            run_id = uow.sync_runs.start(RUN_SOURCE, as_of, runner=runner).id
            file = _file(uow.fx_rates.latest_day(SOURCE), as_of.date(), history)
        try:
            with closing(_connector(settings, config)) as connector:
                pulled = connector.read(file)
            with UnitOfWork(engine, write=True) as uow:
                counts, errors = _store(uow, pulled)
                status = "partial" if errors else "succeeded"
                uow.sync_runs.finish(uow.session.get(SyncRun, run_id), status, counts, errors)
                uow.audit.record(who.username, "fx.sync", "sync_run", run_id, None,
                                 after={"status": status, **counts}, at=as_of)
        except Exception as exc:  # a failed read fails this run only; nothing of it is stored
            message = f"{type(exc).__name__}: {exc}"
            log.warning("fx sync run=%s failed: %s", run_id, message, exc_info=not isinstance(exc, SourceError))
            with UnitOfWork(engine, write=True) as uow:
                uow.sync_runs.finish(uow.session.get(SyncRun, run_id), "failed", {}, [], error=message)
            return SourceRunReport(RUN_SOURCE, ALL_TENANTS, run_id, "failed", {}, (), message)
        log.info("fx sync run=%s %s %s", run_id, status, counts)
        messages = tuple(e["message"] for e in errors)
        return SourceRunReport(RUN_SOURCE, ALL_TENANTS, run_id, status, counts, messages, None)


def _store(uow: UnitOfWork, pulled: RatesPull) -> tuple[dict[str, int], list[dict[str, str]]]:
    rows = [RateRow(BASE, rate.currency, rate.day, rate.rate, SOURCE) for rate in pulled.rates]
    stored = uow.fx_rates.store(rows)
    errors = [{"record": bad.record_id, "field": bad.field, "message": str(bad)} for bad in pulled.errors]
    errors += [{"record": f"{row.rate_date.isoformat()}/{row.quote}", "field": "rate",
                "message": f"{SOURCE} {row.base}->{row.quote} {row.rate_date.isoformat()}: published {row.rate}, "
                           f"but another rate is recorded (kept; lines may name it)"} for row in stored.conflicts]
    days = pulled.days
    counts = {"days": len(days), "rates_read": len(rows), "rates_stored": stored.inserted,
              "rates_already_stored": stored.unchanged, "errors": len(errors)}
    if days:
        log.info("fx %s: %s..%s", pulled.file.name, days[0].isoformat(), days[-1].isoformat())
    return counts, errors


def list_fx(settings: Settings, who: Actor, currency: str | None = None, first: dt.date | None = None,
            last: dt.date | None = None) -> list[FxRateView]:
    """Recorded rates, newest day first; a currency with no recorded rate is ``NotFound``."""
    require(who, "desk")
    if currency is not None:
        currency = currency.strip().upper()
        if len(currency) != 3 or not currency.isalpha():
            raise ValidationFailed(f"fx list --currency: {currency!r} is not an ISO 4217 code")
    if first is not None and last is not None and first > last:
        raise ValidationFailed(f"fx list --from: {first.isoformat()} is after --to {last.isoformat()}")
    with UnitOfWork(engine_for(settings)) as uow:
        rows = [FxRateView(r.base, r.quote, r.rate_date, r.rate, r.source)
                for r in uow.fx_rates.listing(currency, first, last)]
    if currency is not None and not rows:
        raise NotFound(f"fx rates of {currency}: none recorded in that range (run `cspbill fx sync`)")
    return rows
