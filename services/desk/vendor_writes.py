"""From a provisioning job to the vendor's write call: look first, write only when the change is not there.

Why a seam here: the outbox (``services.desk.provisioning``) must not know each vendor's calls, and every vendor
has its own way of being idempotent. Partner Center keeps the answer of an ``MS-RequestId`` (a repeat gets the first
answer); Ingram has no idempotency key, so our request id travels as the change order's ``poNumber`` and a retry first
looks for that order; Pax8's quantity PUT sets an absolute count. In all three, ``apply`` first reads the vendor's
current state and only writes when the change is not there yet, so a retry after a crash between the vendor's write
and our record never applies a mutation twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from config import Settings
from config.schema import SourceConfig
from connectors.auth import TokenProvider
from connectors.errors import VendorRefused
from connectors.ingram import IngramConnector
from connectors.partner_center import SCOPE
from connectors.partner_center_writes import PartnerCenterWrites, TransitionTarget
from connectors.pax8 import Pax8Connector
from services.errors import BadSetting
from services.sync.sources import _required, source_policy


@dataclass(frozen=True)
class Job:
    """What to change at the vendor, with the vendor's ids (from the subscription's latest snapshot)."""

    action: str  # quantity, cancel, transition
    request_id: str
    customer_id: str
    subscription_id: str
    line_id: str
    sku: str | None
    target_quantity: Decimal | None
    target_product: str | None


@dataclass(frozen=True)
class Outcome:
    """The vendor's answer: ``adopted`` when the look-up found the change already there (no write sent)."""

    adopted: bool
    reference: str | None
    answer: dict[str, Any]


class Unsupported(VendorRefused):
    """A change this vendor cannot be asked for through cspbill (e.g. an upgrade outside Partner Center)."""


def _whole(quantity: Decimal | None, job: Job, source: str) -> int:
    if quantity is None or quantity != quantity.to_integral_value():
        raise Unsupported(source, f"mutation request {job.request_id}", "quantity",
                          f"seat counts are whole numbers, not {quantity}")
    return int(quantity)


@dataclass
class PartnerCenterWriter:
    connector: PartnerCenterWrites

    def apply(self, job: Job) -> Outcome:
        pc, cid, sid = self.connector, job.customer_id, job.subscription_id
        if job.action == "transition":
            assert job.target_product is not None
            done = next((t for t in pc.transitions(cid, sid)
                         if t.to_catalog_item_id == job.target_product and t.status.lower() != "failed"), None)
            if done is not None:
                return Outcome(True, done.operation_id, done.raw)
            seats = _whole(pc.subscription(cid, sid).quantity, job, pc.source)
            target = next((t for t in pc.transition_eligibilities(cid, sid)
                           if t.catalog_item_id == job.target_product), None)
            if target is None or not target.eligible:
                reasons = "; ".join(target.reasons) if target else "not among the subscription's transition targets"
                raise VendorRefused(pc.source, f"upgrade of {sid}", "not_eligible", reasons)
            moved = pc.transition(cid, sid, job.target_product, seats, target.transition_type or "transition_only",
                                  job.request_id)
            return Outcome(False, moved.operation_id, moved.raw)
        current = pc.subscription(cid, sid)
        if job.action == "cancel":
            if current.status == "cancelled":
                return Outcome(True, sid, current.raw)
            return Outcome(False, sid, pc.cancel(cid, sid, job.request_id).raw)
        if current.quantity == job.target_quantity:
            return Outcome(True, sid, current.raw)
        return Outcome(False, sid, pc.change_quantity(cid, sid, _whole(job.target_quantity, job, pc.source),
                                                      job.request_id).raw)

    def eligible_targets(self, customer_id: str, subscription_id: str) -> list[TransitionTarget]:
        return self.connector.transition_eligibilities(customer_id, subscription_id)


@dataclass
class Pax8Writer:
    connector: Pax8Connector

    def apply(self, job: Job) -> Outcome:
        if job.action != "quantity":
            raise Unsupported(self.connector.source, f"{job.action} of {job.subscription_id}", "unsupported",
                              f"cspbill provisions only quantity changes at Pax8, not a {job.action}")
        seats = self.connector.quantity_of(job.subscription_id)
        if seats == job.target_quantity:
            return Outcome(True, job.subscription_id, {"quantity": str(seats)})
        answered = self.connector.set_quantity(job.subscription_id, _whole(job.target_quantity, job, "pax8"))
        return Outcome(False, job.subscription_id, {"quantity": str(answered)})

    def eligible_targets(self, customer_id: str, subscription_id: str) -> list[TransitionTarget]:
        return []


@dataclass
class IngramWriter:
    connector: IngramConnector

    def apply(self, job: Job) -> Outcome:
        cmp = self.connector
        if job.action != "quantity" or not job.sku:
            raise Unsupported(cmp.source, f"{job.action} of {job.subscription_id}", "unsupported",
                              "cspbill provisions only quantity changes of a product line with an mpn at Ingram")
        placed = cmp.find_change(job.customer_id, job.subscription_id, job.request_id)
        if placed is not None:
            return Outcome(True, placed, {"orderId": placed})
        seats = cmp.quantity_of(job.subscription_id, job.line_id)
        if seats == job.target_quantity:
            return Outcome(True, None, {"quantity": str(seats)})
        order = cmp.place_change(job.customer_id, job.subscription_id, job.sku,
                                 _whole(job.target_quantity, job, cmp.source), job.request_id)
        return Outcome(False, order, {"orderId": order})

    def eligible_targets(self, customer_id: str, subscription_id: str) -> list[TransitionTarget]:
        return []


Writer = PartnerCenterWriter | Pax8Writer | IngramWriter


@contextmanager
def open_writer(settings: Settings, config: SourceConfig) -> Iterator[Writer]:
    """The writer for one source; its connections are closed when the block ends."""
    writer = _writer(settings, config)
    try:
        yield writer
    finally:
        writer.connector.close()


def _writer(settings: Settings, config: SourceConfig) -> Writer:
    policy = source_policy(settings, config)
    if config.kind == "partner_center":
        if not config.authority_url:
            raise BadSetting(f"sources[{config.name}].authority_url is not configured")
        tokens = TokenProvider(config.name, config.authority_url, _required(config, "client_id_env"),
                               _required(config, "client_secret_env"), config.scope or SCOPE, policy=policy)
        return PartnerCenterWriter(PartnerCenterWrites(config.base_url, tokens, account_id=config.account_id or "",
                                                       currency=settings.tenant(config.tenant).currency,
                                                       policy=policy, source=config.name))
    if config.kind == "pax8":
        return Pax8Writer(Pax8Connector(config.base_url, _required(config, "client_id_env"),
                                        _required(config, "client_secret_env"), token_url=config.token_url,
                                        account_id=config.account_id, policy=policy))
    if config.kind == "ingram_cmp":
        return IngramWriter(IngramConnector(config.base_url, _required(config, "client_id_env"),
                                            _required(config, "client_secret_env"), _required(config, "api_key_env"),
                                            marketplace=config.account_id or "us", token_url=config.token_url,
                                            policy=policy))
    raise BadSetting(f"sources[{config.name}].provisioning: a {config.kind} source cannot be provisioned")
