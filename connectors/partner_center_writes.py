"""Partner Center writes for the service desk: seat changes, cancellations and upgrades (transitions).

Why apart from the reads: a write has rules the nightly read never meets. Every write carries the caller's
``MS-RequestId`` (Partner Center's idempotency key, derived by the caller from its mutation), so a retry after a lost
answer, or after a crash, is answered with the first result instead of being applied twice. A quantity change sends
the whole subscription back with its ``attributes.etag`` (and the same value as ``If-Match``); a stale etag is
Partner Center's ``2055``. A refusal of a business rule (``800090`` reduction after the 168-hour window, ``900213``
cancellation after it, an ineligible upgrade) is a ``VendorRefused`` carrying Microsoft's code and ``description``.

Documented at https://learn.microsoft.com/en-us/partner-center/developer/change-the-quantity-of-a-subscription ,
https://learn.microsoft.com/en-us/partner-center/developer/transition-a-new-commerce-subscription and
https://learn.microsoft.com/en-us/partner-center/developer/get-transitions (reference/microsoft.md §2.4, §2.5, §3.6).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import requests
from tenacity import RetryCallState, retry_if_exception_type, retry_if_result

from connectors.auth import send_with_bearer
from connectors.base import PageRequest
from connectors.errors import SourceUnavailable, VendorRefused
from connectors.json_body import load_json
from connectors.partner_center import PartnerCenter, ms_headers
from connectors.records import CustomerRecord, FieldReader, LicenceRecord
from connectors.retry import answer, failure, retry_after

log = logging.getLogger("cspbill.connectors.partner_center")


@dataclass(frozen=True)
class TransitionTarget:
    """One entry of ``transitionEligibilities``: a catalog item and whether this subscription may move to it now."""

    catalog_item_id: str
    title: str
    eligible: bool
    transition_type: str | None
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class TransitionRecord:
    """One transition (upgrade) of a subscription as Partner Center reports it."""

    operation_id: str
    from_subscription_id: str
    to_subscription_id: str | None
    to_catalog_item_id: str
    quantity: int
    status: str
    raw: dict[str, Any]


class PartnerCenterWrites(PartnerCenter):
    """The service desk's writes against one partner tenant (same constructor and transport as the reads)."""

    def subscription(self, customer_id: str, subscription_id: str) -> LicenceRecord:
        """Read one subscription now (a retry looks here before writing again)."""
        customer = self._customer_of(customer_id)
        body = self._get_json(PageRequest(self._url(f"/customers/{customer_id}/subscriptions/{subscription_id}")))
        return self._licence(FieldReader(self.source, subscription_id, body), customer, self._now())

    def change_quantity(self, customer_id: str, subscription_id: str, quantity: int, request_id: str) -> LicenceRecord:
        """Set a subscription's seat count (NCE: reductions only within the open 168-hour batches, §3.5)."""
        return self._update(customer_id, subscription_id, {"quantity": quantity}, request_id)

    def cancel(self, customer_id: str, subscription_id: str, request_id: str) -> LicenceRecord:
        """Cancel a subscription inside its cancellation window (``status: deleted``)."""
        return self._update(customer_id, subscription_id, {"status": "deleted"}, request_id)

    def transition_eligibilities(self, customer_id: str, subscription_id: str) -> list[TransitionTarget]:
        """Where the subscription may be upgraded to now (``eligibilityType=immediate``)."""
        path = f"/customers/{customer_id}/subscriptions/{subscription_id}/transitioneligibilities"
        body = self._get_json(PageRequest(self._url(path), {"eligibilityType": "immediate"}))
        targets = []
        page = FieldReader(self.source, subscription_id, body)
        for index in range(len(body.get("items") or [])):
            item = page.nested("items", index)
            options = item.get("eligibilities") or []
            usable = [o for o in options if isinstance(o, dict) and o.get("isEligible") is True]
            reasons = tuple(str(e.get("description") or e.get("code")) for o in options if isinstance(o, dict)
                            for e in o.get("errors") or [] if isinstance(e, dict))
            targets.append(TransitionTarget(item.text("catalogItemId"), item.maybe_text("title") or "", bool(usable),
                                            str(usable[0].get("transitionType")) if usable else None, reasons))
        return targets

    def transition(self, customer_id: str, subscription_id: str, to_catalog_item_id: str, quantity: int,
                   transition_type: str, request_id: str) -> TransitionRecord:
        """Move ``quantity`` seats to a new subscription of ``to_catalog_item_id`` (POST …/transitions)."""
        path = f"/customers/{customer_id}/subscriptions/{subscription_id}/transitions"
        body = {"toCatalogItemId": to_catalog_item_id, "quantity": quantity, "transitionType": transition_type}
        return self._transition(subscription_id, self._write("POST", path, body, request_id))

    def transitions(self, customer_id: str, subscription_id: str) -> list[TransitionRecord]:
        """The subscription's transitions so far (GET …/transitions), oldest first."""
        path = f"/customers/{customer_id}/subscriptions/{subscription_id}/transitions"
        body = self._get_json(PageRequest(self._url(path)))
        return [self._transition(subscription_id, item) for item in body.get("items") or []]

    # --- internals -------------------------------------------------------------------------------------------

    def _customer_of(self, customer_id: str) -> CustomerRecord:
        body = self._get_json(PageRequest(self._url(f"/customers/{customer_id}")))
        return self._customer(FieldReader(self.source, customer_id, body))

    def _transition(self, subscription_id: str, body: Any) -> TransitionRecord:
        item = FieldReader(self.source, subscription_id, body if isinstance(body, dict) else {})
        return TransitionRecord(item.text("id"), item.maybe_text("fromSubscriptionId") or subscription_id,
                                item.maybe_text("toSubscriptionId"), item.text("toCatalogItemId"),
                                int(item.decimal("quantity", minimum=Decimal(0))), item.text("status"), item.raw)

    def _update(self, customer_id: str, subscription_id: str, change: dict[str, Any], request_id: str) -> LicenceRecord:
        """GET the full subscription, PATCH it back with ``change`` (Partner Center wants the whole object and its
        etag)."""
        path = f"/customers/{customer_id}/subscriptions/{subscription_id}"
        customer = self._customer_of(customer_id)
        current = self._get_json(PageRequest(self._url(path)))
        etag = str((current.get("attributes") or {}).get("etag") or "")
        updated = self._write("PATCH", path, {**current, **change}, request_id, {"If-Match": etag} if etag else {})
        if not isinstance(updated, dict) or "id" not in updated:
            updated = self._get_json(PageRequest(self._url(path)))
        log.info("%s: PATCH %s applied %s for customer %s (request %s)",
                 self.source, path, sorted(change), customer.name, request_id)
        return self._licence(FieldReader(self.source, subscription_id, updated), customer, self._now())

    def _write(self, method: str, path: str, body: dict[str, Any], request_id: str,
               extra: dict[str, str] | None = None) -> Any:
        """Send one write with the caller's ``MS-RequestId``; resend the same id while the answer is lost, throttled,
        failed or "not ready"; a final 4xx is ``VendorRefused`` with Microsoft's code and description."""
        url = self._url(path)
        backoff = self.policy.backoff()

        def attempt(number: int) -> requests.Response:
            headers = {"Accept": "application/json", **ms_headers(request_id), **(extra or {})}
            try:
                response = send_with_bearer(self.session, self.tokens, method, url, json=body, headers=headers)
            except requests.RequestException as exc:  # the write may have been applied: retry with the same id
                log.warning("%s: %s %s lost its answer (attempt %d of %d, request %s): %s",
                            self.source, method, path, number, backoff.attempts, request_id, exc)
                raise
            if _pending(response):
                log.warning("%s: %s %s answered %d (attempt %d of %d, request %s)",
                            self.source, method, path, response.status_code, number, backoff.attempts, request_id)
            return response

        def exhausted(state: RetryCallState) -> requests.Response:
            raise SourceUnavailable(self.source, f"{method} {path} not confirmed after {backoff.attempts} attempts "
                                                 f"(request {request_id})")

        response = backoff.run(
            attempt,
            retry_if_exception_type(requests.RequestException) | retry_if_result(_pending),
            hint=lambda state: None if failure(state) else retry_after(answer(state).headers),
            exhausted=exhausted,
        )
        if 400 <= response.status_code < 500 and response.status_code not in (401, 403, 429):
            code, reason = _refusal(response)
            raise VendorRefused(self.source, f"{method} {path}", code, reason)
        self._check(response, f"{method} {path}")
        try:
            return load_json(response.content)
        except ValueError:
            return None


def _refusal(response: requests.Response) -> tuple[str, str]:
    """Partner Center's error envelope ``{code, description}`` (``code`` sent as a number or a string)."""
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    if isinstance(body, dict) and "code" in body:
        return str(body["code"]), str(body.get("description") or "")
    return str(response.status_code), response.text[:300]


def _not_ready(response: requests.Response) -> bool:
    """409 ``800082``: "not ready to be updated, retry later" (``900278`` asks for a day: not worth waiting)."""
    return response.status_code == 409 and _refusal(response)[0] == "800082"


def _pending(response: requests.Response) -> bool:
    """A write answer worth sending again with the same ``MS-RequestId``: throttled, failed, or not ready yet."""
    return response.status_code == 429 or response.status_code >= 500 or _not_ready(response)
