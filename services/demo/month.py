"""`cspbill demo`: a believable month of a reseller, end to end, against the loopback sandboxes.

What it does, in the order a real month happens:
1. starts every vendor and ERP sandbox (one shared sandbox clock) and writes ``DIR/config.yaml``: the given config
   (tenants, users, price rules) with its sources and ERP targets pointed at the sandboxes and its ledger in ``DIR``;
   the sandbox credentials go into the environment variables that config names, never into the file;
2. replays the month night by night, starting with the previous month's last night: the sandbox clock and ours move
   to 02:30, ``sync`` reads every source and ``sync_fx`` the ECB's exchange rates (when ``fx:`` is configured); on
   the 1st the previous month's batches are built and approved and the desk cancels a term inside its 7-day window
   (``services.demo.close``), so the month shows a credit note;
3. finance imports Microsoft's licence price list on the 1st and changes price rules on the 15th (see
   ``services.demo.prices``); the service desk works during the month: a seat increase provisioned at Partner Center
   through the provisioning outbox (and confirmed by the next night's sync),
   a late NCE reduction that is refused (with the rule and the next allowed date), and an increase that is never
   provisioned (a discrepancy); each night it also enters a ticket for every customer request the vendors will show
   that day, but for a few made in the vendor's portal (``services.demo.tickets``);
4. builds a draft batch per legal entity on the 2nd of the next month and reconciles vendor, desk and billed;
5. ``--once``: the builder acknowledges each finding of the draft with a reason (``services.demo.review``), a second
   person approves each batch (four-eyes), reconciles again (only approved lines count as billed, so the billed view
   and margins are compared now), connects an Exact Online administration through its
   onboarding flow (``services.demo.erp``), the outbox exports to the ERP sandboxes (whose state persists under
   ``DIR``), the invoices are delivered by e-mail and Peppol (``services.demo.delivery``), and a JSON summary is
   returned; a second ``--once`` on the same ``DIR`` exports and delivers nothing new. Without ``--once`` the caller
   serves the web desk on the ledger the demo built.

Everything goes through the same services the CLI, web desk and scheduler use; nothing here computes a bill.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import func, select

from config import Settings, load_config
from ledger.models import (
    Batch,
    Discrepancy,
    Export,
    FindingAck,
    FxRate,
    Invoice,
    Mutation,
    Provisioning,
    Snapshot,
    Subscription,
    SyncRun,
    Tenant,
)
from rating.months import month_end
from sandbox.core import Clock as SandboxClock
from sandbox.smtp_catcher import SmtpCatcher
from sandbox.smtp_catcher import start as start_mail
from services.access import scheduler
from services.batches import approve_batch, build_batch
from services.batches.credit_notes import CREDIT_NOTE
from services.clock import FixedClock
from services.demo.close import cancel_inside_window, close_previous_month
from services.demo.customers import complete_master_data
from services.demo.delivery import deliver_month, give_channels
from services.demo.erp import connect_exact
from services.demo.people import DemoPeople
from services.demo.prices import PRICE_DAY, change_prices, import_price_lists
from services.demo.review import acknowledge_findings
from services.demo.sandboxes import DEFAULT_PORTS, RunningSandbox, run_all, stop_all
from services.demo.settings import demo_config, sandbox_options
from services.demo.tickets import DeskTickets, plan_tickets
from services.desk import MutationRequest, add_mutation, list_customers, provision, reconcile, set_reference
from services.errors import NotAllowed, ValidationFailed
from services.export import export_invoices
from services.notifications.outbox import notify_due
from services.operations import initialise
from services.runtime import dispose_engines, engine_for
from services.sync import sync, sync_fx
from services.uow import UnitOfWork

log = logging.getLogger("cspbill.demo")

NIGHT = dt.time(2, 30)
BUILD_TIME = dt.time(7, 0)
DESK_DAY = 11  # the day the service desk works its tickets
# Who builds and who approves each legal entity's batch in the demo (four-eyes: never the same person)
BUILDERS = {"nl-bv": "finn", "de-gmbh": "ada"}
APPROVERS = {"nl-bv": "anna", "de-gmbh": "greta"}
DESK_USER = "dana"
MAIL_PORT = 8025  # the SMTP catcher's port when the sandboxes run on the ports config.yaml expects
Progress = Callable[[str], None]


@dataclass
class DemoSummary:
    """What the demo did; printed as the last line of ``cspbill demo --once``."""

    month: str
    dir: str
    sources_synced: int = 0  # vendor sources; exchange rates are counted in fx_rates
    fx_rates: int = 0
    nights: int = 0
    snapshots: int = 0
    mutations: int = 0
    refused_mutations: int = 0  # the desk's requests our rules refused (DEMO-1002 and refused customer tickets)
    tickets: dict[str, int] = field(default_factory=dict)  # customer requests this run: "<source>_entered" etc.
    provisioned: int = 0  # mutations applied at the vendor through the provisioning outbox
    discrepancies: int = 0  # findings open at the end (by kind in ``open_findings``)
    open_findings: dict[str, int] = field(default_factory=dict)
    invoices: int = 0
    credit_notes: int = 0  # invoices of type 381 (money back to the customer), among ``invoices``
    approved_batches: int = 0
    acknowledged: int = 0  # review findings finance acknowledged with a reason before approval (services.demo.review)
    exported: int = 0
    skipped: int = 0
    failed_exports: int = 0
    delivered: int = 0  # invoices this run delivered by e-mail or Peppol
    delivery_failed: int = 0
    notified: int = 0  # notification e-mails to finance this run sent (batch ready, export failed, findings)
    deliveries: dict[str, int] = field(default_factory=dict)  # the delivery outbox: "<channel>_<status>" -> count
    refusal: str | None = None
    erp_connections: dict[str, str] = field(default_factory=dict)  # tenant -> how its ERP was connected
    batches: dict[str, dict[str, Any]] = field(default_factory=dict)
    payments: dict[str, Any] = field(default_factory=dict)  # the demo statement's import (services.demo.statement)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DemoRun:
    """A prepared demo: its config, settings and running sandboxes (stop them with ``close``)."""

    dir: Path
    config_path: Path
    settings: Settings
    sandboxes: list[RunningSandbox]
    sandbox_clock: SandboxClock
    month: dt.date
    people: DemoPeople
    mail: SmtpCatcher | None = None  # the SMTP catcher e-mail deliveries go to
    seed: int = 1  # the sandboxes' scenario seed (the desk's tickets follow the same plan)

    def close(self) -> None:
        self.people.close()
        if self.mail is not None:
            self.mail.stop()
        stop_all(self.sandboxes)
        dispose_engines()


def prepare(base_config: Path, directory: Path, month: dt.date, seed: int = 1, fixed_ports: bool = False) -> DemoRun:
    """Start the sandboxes on the demo month, write ``DIR/config.yaml``, set the credentials, initialise the ledger."""
    directory.mkdir(parents=True, exist_ok=True)
    zone = ZoneInfo(load_config(base_config).schedule.timezone)
    sandbox_clock = SandboxClock(_night(month, 1, zone))
    sandbox_dir = directory / "sandbox"
    sandboxes = run_all(sandbox_dir, seed, DEFAULT_PORTS if fixed_ports else None, clock=sandbox_clock,
                        options=sandbox_options(load_config(base_config)))
    mail = None
    try:
        mail = start_mail(sandbox_dir / "mail", MAIL_PORT if fixed_ports else 0)
        urls = {s.name: s.url for s in sandboxes}
        data, environment = demo_config(yaml.safe_load(base_config.read_text(encoding="utf-8")), urls,
                                        sandbox_dir / "tls" / "sandbox-ca.pem", directory, seed, month, mail)
        config_path = directory / "config.yaml"
        config_path.write_text(
            "# Written by `cspbill demo`: the base config pointed at the loopback sandboxes. Credentials are in the\n"
            "# environment of the demo process only.\n" + yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        os.environ.update(environment)
        settings = load_config(config_path)
        initialise(settings)
    except BaseException:
        if mail is not None:
            mail.stop()
        stop_all(sandboxes)
        raise
    return DemoRun(directory, config_path, settings, sandboxes, sandbox_clock, month, DemoPeople(settings), mail,
                   seed)


def _night(month: dt.date, day: int, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(month.replace(day=day), NIGHT, tzinfo=zone).astimezone(dt.UTC)


def replay_month(run: DemoRun, progress: Progress = log.info) -> DemoSummary:
    """Nights of sync, the desk's tickets, the draft batches of the month and their reconciliation."""
    settings = run.settings
    zone = ZoneInfo(settings.schedule.timezone)
    summary = DemoSummary(month=f"{run.month:%Y-%m}", dir=str(run.dir))
    clock = FixedClock(_night(run.month, 1, zone))
    done = _completed_nights(run)
    nightly = scheduler(settings)  # the nightly jobs' own actor, as `cspbill serve` runs them
    synced: set[str] = set()
    tickets = DeskTickets(settings, run.people[DESK_USER], plan_tickets(settings, run.seed, run.month, NIGHT),
                          run.month)
    eve = run.month - dt.timedelta(days=1)  # the previous month's last night: its batch is closed on the 1st
    for date in (eve, *(run.month.replace(day=d) for d in range(1, month_end(run.month).day + 1))):
        night, day = _night(date, date.day, zone), date.day if date >= run.month else 0
        if day:
            summary.nights += 1
        if night in done:  # an earlier run of the demo read this night: history only moves forward
            synced |= done[night]
            continue
        run.sandbox_clock.set(night)
        clock.set(night)
        report = sync(settings, clock, who=nightly)
        runs = report.runs + ((sync_fx(settings, clock, who=nightly),)
                              if settings.fx is not None and settings.fx.enabled else ())
        synced |= {r.source for r in report.runs if r.status != "failed"}
        if any(s.provisioning for s in settings.sources):  # as the scheduler does after the nightly sync
            provision(settings, nightly, clock)
        progress(f"night {night.astimezone(zone):%Y-%m-%d %H:%M}: " + ", ".join(
            f"{r.source} {r.status} (+{r.counts.get('snapshots_stored', r.counts.get('rates_stored', 0))} "
            f"{'rates' if 'rates_stored' in r.counts else 'snapshots'})" for r in runs))
        if day == 1:
            _assign_references(run, clock, progress)
            complete_master_data(settings, run.people[DESK_USER], clock, progress)
            import_price_lists(settings, run.people, run.dir, progress)
            _close_previous_month(run, zone, progress)
        if day == PRICE_DAY:
            change_prices(settings, run.people, run.dir, run.month, progress)
        if day == DESK_DAY:
            _desk_tickets(run, clock, summary, progress)
        tickets.enter(date, clock, progress)  # after the desk's own provisioning, which would send them early
    summary.tickets = dict(sorted(tickets.counts.items()))
    summary.refused_mutations += tickets.refused
    summary.sources_synced = len(synced)
    next_month = (run.month + dt.timedelta(days=32)).replace(day=2)
    clock.set(dt.datetime.combine(next_month, BUILD_TIME, tzinfo=zone).astimezone(dt.UTC))
    for tenant in settings.tenants:
        try:
            builder = run.people[BUILDERS[tenant.code]] if tenant.code in BUILDERS else nightly
            built = build_batch(settings, tenant.code, summary.month, builder, clock)
            progress(f"batch {tenant.code} {summary.month}: {built.invoices} invoices, {built.lines} lines "
                     f"({'new' if built.created else 'rebuilt'})")
        except NotAllowed as exc:  # already approved by an earlier --once run: never rebuilt
            progress(f"batch {tenant.code} {summary.month}: {exc}")
    findings = reconcile(settings, nightly, clock, month=summary.month)
    progress(f"reconciled {summary.month} (vendor, desk, billed): {findings.raised} new findings, "
             f"{findings.open_count} open")
    _count(run, summary)
    return summary


def _completed_nights(run: DemoRun) -> dict[dt.datetime, set[str]]:
    """Nights an earlier demo run already read from every enabled source (re-reading an old night after newer ones
    would record the past as a change)."""
    sources = {s.name for s in run.settings.sources if s.enabled}
    nights: dict[dt.datetime, set[str]] = {}
    with UnitOfWork(engine_for(run.settings)) as uow:
        for as_of, source in uow.session.execute(
                select(SyncRun.as_of, SyncRun.source).where(SyncRun.status.in_(("succeeded", "partial")))):
            nights.setdefault(as_of, set()).add(source)
    return {night: names & sources for night, names in nights.items() if names >= sources}  # vendors only, not fx


def _close_previous_month(run: DemoRun, zone: ZoneInfo, progress: Progress) -> None:
    """On the 1st after the night: the previous month's batches (``services.demo.close``), then the desk's
    cancellation inside the 7-day window of a term that month billed in advance."""
    clock = FixedClock(dt.datetime.combine(run.month.replace(day=1), BUILD_TIME, tzinfo=zone).astimezone(dt.UTC))
    close_previous_month(run.settings, run.month, {code: run.people[name] for code, name in BUILDERS.items()},
                         {code: run.people[name] for code, name in APPROVERS.items()}, clock, progress)
    cancel_inside_window(run.settings, run.people[DESK_USER], clock, progress)


def _assign_references(run: DemoRun, clock: FixedClock, progress: Progress) -> None:
    """The desk gives customers that no distributor numbered (Partner Center's) their ERP customer number."""
    desk = run.people[DESK_USER]
    missing = list_customers(run.settings, desk, without_reference=True)
    for number, customer in enumerate(missing, start=1):
        set_reference(run.settings, desk, customer.id, f"C{number:05d}", clock)
    if missing:
        progress(f"desk: ERP customer numbers C00001..C{len(missing):05d} set for {len(missing)} new customers")


def _desk_tickets(run: DemoRun, clock: FixedClock, summary: DemoSummary, progress: Progress) -> None:
    """The service desk's day: one increase provisioned at Partner Center through the provisioning outbox (the source
    opts in with ``provisioning: true``), one late reduction, one increase never provisioned at Ingram."""
    settings = run.settings
    desk = run.people[DESK_USER]
    today = clock.now().astimezone(ZoneInfo(settings.schedule.timezone)).date()
    monthly_sub, nce_sub, ingram_sub = _pick_subscriptions(run)
    if monthly_sub is not None:
        add_mutation(settings, desk, MutationRequest(
            monthly_sub.id, today + dt.timedelta(days=1), "DEMO-1001", delta=Decimal(2),
            reason="customer onboarding two new employees"), clock)
        sent = "; ".join(detail for _, _, detail in provision(settings, desk, clock).outcomes)
        progress(f"desk: +2 seats on {monthly_sub.product_name} (ticket DEMO-1001): {sent}")
    if nce_sub is not None:
        try:
            add_mutation(settings, desk, MutationRequest(
                nce_sub.id, today + dt.timedelta(days=1), "DEMO-1002", delta=Decimal(-1),
                reason="employee left"), clock)
        except ValidationFailed as exc:
            summary.refusal = str(exc)
            summary.refused_mutations += 1
            progress(f"desk: reduction refused: {exc}")
    if ingram_sub is not None:
        add_mutation(settings, desk, MutationRequest(
            ingram_sub.id, today + dt.timedelta(days=3), "DEMO-1003", delta=Decimal(1),
            reason="extra seat for the new office"), clock)
        progress(f"desk: +1 seat on {ingram_sub.product_name} (ticket DEMO-1003), never provisioned at Ingram")


def _pick_subscriptions(run: DemoRun) -> tuple[Subscription | None, Subscription | None, Subscription | None]:
    """Deterministic picks: the first active Partner Center licence of a monthly term and of an annual NCE term, and
    the first active Ingram licence."""
    with UnitOfWork(engine_for(run.settings)) as uow:
        rows = uow.session.scalars(
            select(Subscription).where(Subscription.status == "active", Subscription.billing_type == "license")
            .order_by(Subscription.source, Subscription.external_id)
        ).all()

    def first(source: str, term: str | None = None) -> Subscription | None:
        return next((s for s in rows if s.source == source and (term is None or s.term == term)), None)

    return first("partner-center", "P1M"), first("partner-center", "P1Y"), first("ingram")


def approve_and_export(run: DemoRun, summary: DemoSummary, progress: Progress = log.info) -> DemoSummary:
    """Four-eyes approval by the second demo user of each entity, then the outbox export to the ERP sandboxes."""
    settings = run.settings
    zone = ZoneInfo(settings.schedule.timezone)
    next_month = (run.month + dt.timedelta(days=32)).replace(day=3)
    clock = FixedClock(dt.datetime.combine(next_month, dt.time(10, 0), tzinfo=zone).astimezone(dt.UTC))
    acknowledge_findings(settings, summary.month, {t.code: run.people[BUILDERS[t.code]] for t in settings.tenants},
                         clock, progress)
    for tenant in settings.tenants:
        try:
            approved = approve_batch(settings, tenant.code, summary.month, run.people[APPROVERS[tenant.code]], clock)
            progress(f"batch {tenant.code} {summary.month} approved by {APPROVERS[tenant.code]}: "
                     f"{approved.invoices} invoices numbered")
        except NotAllowed as exc:
            progress(f"batch {tenant.code} {summary.month}: {exc}")
    for tenant in settings.tenants:  # finance connects an Exact Online administration before its first export
        if tenant.erp.kind == "exact_online":
            summary.erp_connections[tenant.code] = connect_exact(settings, run.people[APPROVERS[tenant.code]],
                                                                 tenant.code)
            progress(summary.erp_connections[tenant.code])
    with UnitOfWork(engine_for(settings)) as uow:  # already in the ERP from an earlier run: not sent again
        summary.skipped = uow.session.scalar(select(func.count()).select_from(Export).where(Export.status == "sent"))
    exports = [summary for tenant in settings.tenants if tenant.erp.kind != "none"
               for summary in export_invoices(settings, run.people[APPROVERS[tenant.code]], tenant.code, clock=clock)]
    for export in exports:
        counts = export.counts()
        summary.exported += counts.get("created", 0) + counts.get("updated", 0)
        summary.skipped += counts.get("skipped", 0)
        summary.failed_exports += counts.get("failed", 0)
        progress(f"export {export.tenant} -> {export.target}: {counts or 'nothing to do'}")
    findings = reconcile(settings, scheduler(settings), clock, month=summary.month)  # billed = approved lines now
    progress(f"reconciled {summary.month} against the approved batches: {findings.raised} new, {findings.closed} "
             f"closed, {findings.open_count} open")
    give_channels(settings, run.people[DESK_USER], progress)
    delivered = deliver_month(settings, {code: run.people[name] for code, name in APPROVERS.items()}, clock, progress)
    summary.delivered, summary.delivery_failed = delivered.pop("delivered"), delivered.pop("delivery_failed")
    summary.deliveries = delivered
    summary.notified = notify_due(settings, clock).get("sent", 0)
    _count(run, summary)
    return summary


def _count(run: DemoRun, summary: DemoSummary) -> None:
    with UnitOfWork(engine_for(run.settings)) as uow:
        count = lambda model, *where: uow.session.scalar(  # noqa: E731
            select(func.count()).select_from(model).where(*where))
        summary.snapshots = count(Snapshot)
        summary.mutations = count(Mutation)
        summary.provisioned = count(Provisioning, Provisioning.status.in_(("applied", "confirmed")))
        summary.fx_rates = count(FxRate)
        summary.discrepancies = count(Discrepancy, Discrepancy.status == "open")
        summary.open_findings = dict(uow.session.execute(
            select(Discrepancy.kind, func.count()).where(Discrepancy.status == "open")
            .group_by(Discrepancy.kind).order_by(Discrepancy.kind)).tuples().all())
        summary.invoices = count(Invoice)
        summary.credit_notes = count(Invoice, Invoice.document_type == CREDIT_NOTE)
        summary.approved_batches = count(Batch, Batch.status.in_(("approved", "exported")))
        summary.acknowledged = count(FindingAck)
        summary.batches = {
            f"{code} {b.month}": {"status": b.status, "invoices": b.totals.get("invoices"),
                                  "totals": b.totals.get("currencies")}
            for b, code in uow.session.execute(select(Batch, Tenant.code).join(Tenant, Tenant.id == Batch.tenant_id)
                                               .order_by(Tenant.code, Batch.month))
        }
