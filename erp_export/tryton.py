"""Tryton 8.x customer invoices over its JSON-RPC API (erp.md §6), a real double-entry ERP for end-to-end tests.

Why JSON-RPC and not the Python API: the adapter must be a remote client like every other one (its own session,
transport errors, typed failures), so the same outbox code that talks to Business Central talks to Tryton. Tryton
enforces no uniqueness of ``reference`` (two creates give two invoices, [tested] in erp.md §5 rule 7), so ``find``
searches ``reference`` first and the outbox never creates blindly. Tryton computes the VAT itself per tax over the
invoice; the outbox compares its totals with ours.

Wire facts: ``POST {url}/{db}/rpc/`` with ``{"id", "method", "params"}``; ``common.db.login`` gives a session used
as ``Authorization: Session base64(login:user_id:session)``; errors come back as HTTP 200 with ``"error"``; Decimals
and dates travel as ``{"__class__": "Decimal" | "date", ...}``; an expired session answers 401.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import requests

from connectors.http import HttpPolicy, build_session
from connectors.retry import retry_after
from erp_export.base import (
    ErpAuthenticationFailed,
    ErpConflict,
    ErpDocumentRef,
    ErpRejected,
    ErpUnavailable,
    Planning,
    transport_failure,
    vat_key,
)
from erp_export.documents import DocumentType, InvoiceDocument, InvoiceLine

TARGET = "tryton"
INVOICE_FIELDS = ["id", "reference", "number", "state", "lines", "untaxed_amount", "tax_amount", "total_amount"]


@dataclass(frozen=True)
class TrytonConfig:
    """``url`` is the server root (``http://127.0.0.1:8000``); ``taxes`` maps a VAT key (``"S:21"``) to the name of
    the Tryton tax; line ``account`` values are Tryton account codes; customers are parties by ``code``."""

    url: str
    database: str
    username: str
    password: str  # never logged
    taxes: Mapping[str, str] = field(default_factory=dict)
    journal_type: str = "revenue"
    payment_term: str | None = None
    # Warnings a person would confirm with "yes" for a month-end invoice: a payment date already past (invoices are
    # dated the first of the month and exported later). Any other warning stops the export as a rejection.
    accept_warnings: tuple[str, ...] = ("invoice_payment_term",)
    verify: bool | str = True
    timeout: float = 60.0


class TrytonWarning(ErpRejected):
    """A Tryton ``UserWarning``: the operation waits for a person's "yes", recorded as a ``res.user.warning``."""

    def __init__(self, target: str, message: str, code: str, key: str) -> None:
        super().__init__(target, message, code=code)
        self.key = key


class TrytonExporter(Planning):
    """``ErpExporter`` for ``account.invoice`` (type ``out``) in one Tryton database and its user's company."""

    target = TARGET
    supports_update = True

    def __init__(self, config: TrytonConfig) -> None:
        self.config = config
        self._http = build_session(TARGET, HttpPolicy(retries=0, verify=config.verify, read_timeout=config.timeout))
        self._lock = threading.Lock()
        self._auth: str | None = None
        self._user_id: int | None = None
        self._context: dict[str, Any] | None = None
        self._ids: dict[tuple[str, str], int] = {}
        self._counter = itertools.count(1)

    # -- plumbing -------------------------------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        return f"{self.config.url.rstrip('/')}/{self.config.database}/rpc/"

    def _post(self, method: str, params: list[Any], *, write: bool, auth: str | None) -> requests.Response:
        body = {"id": next(self._counter), "method": method, "params": _encode(params)}
        headers = {"Authorization": auth} if auth else {}
        try:
            return self._http.post(self.endpoint, json=body, headers=headers, timeout=self.config.timeout)
        except requests.RequestException as exc:
            raise transport_failure(TARGET, exc, write=write) from exc

    def _login(self) -> str:
        with self._lock:
            if self._auth is None:
                answer = self._answer(self._post("common.db.login", [self.config.username,
                                                                     {"password": self.config.password}],
                                                 write=False, auth=None), "common.db.login")
                if not answer:
                    raise ErpAuthenticationFailed(TARGET, f"login of {self.config.username!r} was refused")
                user_id, session = answer[0], answer[1]
                self._user_id = user_id
                token = base64.b64encode(f"{self.config.username}:{user_id}:{session}".encode()).decode()
                self._auth = f"Session {token}"
            return self._auth

    def _answer(self, response: requests.Response, method: str) -> Any:
        if response.status_code in (401, 403):
            raise ErpAuthenticationFailed(TARGET, f"{method}: the session or credentials were refused",
                                          status=response.status_code)
        if response.status_code in (429, 500, 502, 503, 504):
            raise ErpUnavailable(TARGET, f"{method}: HTTP {response.status_code}", retry_after(response.headers))
        if response.status_code != 200:
            raise ErpRejected(TARGET, f"{method}: HTTP {response.status_code}", status=response.status_code)
        payload = _decode(response.json())
        error = payload.get("error")
        if error:
            kind = error[0] if isinstance(error, list) and error else str(error)
            detail = error[1] if isinstance(error, list) and len(error) > 1 else ""
            message = detail[0] if isinstance(detail, list) and detail else str(detail or kind)
            if kind == "UserWarning":
                raise TrytonWarning(TARGET, f"{method}: {message}", code=kind, key=str(message))
            if kind == "ConcurrencyException":
                raise ErpConflict(TARGET, f"{method}: {message}")
            if kind in ("LoginException", "RateLimitException"):
                raise ErpAuthenticationFailed(TARGET, f"{method}: {message}", code=kind)
            raise ErpRejected(TARGET, f"{method}: {message}", code=kind)
        return payload.get("result")

    def call(self, method: str, *params: Any, write: bool = False) -> Any:
        """One RPC with the session and the user's context appended; logs in again once when the session expired."""
        for attempt in (1, 2):
            auth = self._login()
            context = self._context or {}
            if method != "model.res.user.get_preferences" and self._context is None:
                context = self._context = self.call("model.res.user.get_preferences", True)
            try:
                return self._answer(self._post(method, [*params, context], write=write, auth=auth), method)
            except ErpAuthenticationFailed:
                if attempt == 2:
                    raise
                with self._lock:
                    self._auth, self._context = None, None
        raise AssertionError("unreachable")

    def _id(self, model: str, domain: list[Any], what: str) -> int:
        key = (model, repr(domain))
        if key not in self._ids:
            found = self.call(f"model.{model}.search", domain, 0, 2, None)
            if len(found) != 1:
                raise ErpRejected(TARGET, f"{what}: {len(found)} matches in Tryton")
            self._ids[key] = found[0]
        return self._ids[key]

    # -- mapping --------------------------------------------------------------------------------------------

    def _tax(self, line: InvoiceLine) -> int:
        key = vat_key(line.vat_category, line.vat_rate)
        name = self.config.taxes.get(key)
        if name is None:
            raise ErpRejected(TARGET, f"no Tryton tax configured for {key} (line {line.key})")
        return self._id("account.tax", [["name", "=", name]], f"tax {name!r}")

    def _line(self, line: InvoiceLine, sign: Decimal = Decimal(1)) -> dict[str, Any]:
        return {"type": "line", "description": line.description, "note": line.key, "quantity": sign * line.quantity,
                "unit_price": line.unit_price,
                "account": self._id("account.account", [["code", "=", line.account]], f"account {line.account!r}"),
                "taxes": [["add", [self._tax(line)]]]}

    def _header(self, doc: InvoiceDocument) -> dict[str, Any]:
        number = doc.buyer.erp_customer_number
        parties = self.call("model.party.party.search_read", [["code", "=", number]], 0, 2, None,
                            ["id", "addresses", "account_receivable"])
        if len(parties) != 1 or not parties[0]["addresses"]:
            raise ErpRejected(TARGET, f"customer {number}: {len(parties)} parties with that code (or no address)")
        party = parties[0]
        receivable = party["account_receivable"] or self.call(
            "model.account.configuration.read", [1], ["default_account_receivable"])[0]["default_account_receivable"]
        currency = self._id("currency.currency", [["code", "=", doc.currency]], f"currency {doc.currency}")
        journal = self._id("account.journal", [["type", "=", self.config.journal_type]],
                           f"{self.config.journal_type} journal")
        header = {"type": "out", "party": party["id"], "invoice_address": party["addresses"][0],
                  "account": receivable, "currency": currency, "journal": journal, "reference": doc.external_ref,
                  "description": doc.note or doc.invoice_number, "invoice_date": doc.issue_date,
                  "payment_term_date": doc.due_date}
        if self.config.payment_term:
            header["payment_term"] = self._id("account.invoice.payment_term",
                                              [["name", "=", self.config.payment_term]],
                                              f"payment term {self.config.payment_term!r}")
        return header

    def _ref(self, row: Mapping[str, Any]) -> ErpDocumentRef:
        """Tryton's invoice in our terms: one with a negative total is a credit note, read back as the document
        states it (positive)."""
        sign = Decimal(-1) if row["total_amount"] < 0 else Decimal(1)
        return ErpDocumentRef(
            erp_id=str(row["id"]), external_ref=row["reference"] or "", number=row["number"],
            status="posted" if row["state"] in ("posted", "paid") else "draft", line_count=len(row["lines"]),
            total_net=sign * row["untaxed_amount"], total_vat=sign * row["tax_amount"],
            total_gross=sign * row["total_amount"], type_code="381" if sign < 0 else "380",
        )

    def _read(self, invoice_id: int) -> ErpDocumentRef:
        rows = self.call("model.account.invoice.read", [invoice_id], INVOICE_FIELDS)
        if not rows:
            raise ErpConflict(TARGET, f"invoice {invoice_id} disappeared")
        return self._ref(rows[0])

    # -- protocol -------------------------------------------------------------------------------------------

    def find(self, external_ref: str, type_code: DocumentType = "380") -> ErpDocumentRef | None:
        """By ``reference`` among customer invoices: Tryton keeps credit notes as ``out`` invoices with a negative
        total, so both types are found the same way."""
        rows = self.call("model.account.invoice.search_read",
                         [["reference", "=", external_ref], ["type", "=", "out"], ["state", "!=", "cancelled"]],
                         0, 2, None, INVOICE_FIELDS)
        if len(rows) > 1:
            raise ErpRejected(TARGET, f"{len(rows)} customer invoices carry reference {external_ref}: resolve the "
                                      "duplicate in Tryton")
        return self._ref(rows[0]) if rows else None

    def create(self, doc: InvoiceDocument) -> ErpDocumentRef:
        lines = [self._line(line, tryton_sign(doc)) for line in doc.lines]
        values = {**self._header(doc), "lines": [["create", lines]]}
        created = self.call("model.account.invoice.create", [values], write=True)
        return self._read(created[0])

    def update(self, ref: ErpDocumentRef, doc: InvoiceDocument) -> ErpDocumentRef:
        """Replace a draft's lines and header in one ``write`` (one Tryton transaction)."""
        if ref.status != "draft":
            raise ErpRejected(TARGET, f"invoice {ref.erp_id} is {ref.status}: only drafts can be changed")
        invoice_id = int(ref.erp_id)
        current = self.call("model.account.invoice.read", [invoice_id], ["lines", "state"])[0]
        if current["state"] == "validated":  # validated by an interrupted post: back to draft to change it
            self.call("model.account.invoice.draft", [invoice_id], write=True)
        elif current["state"] != "draft":
            return self._read(invoice_id)
        lines: list[Any] = [["create", [self._line(line, tryton_sign(doc)) for line in doc.lines]]]
        if current["lines"]:
            lines.insert(0, ["delete", current["lines"]])
        self.call("model.account.invoice.write", [invoice_id], {**self._header(doc), "lines": lines}, write=True)
        return self._read(invoice_id)

    def post(self, ref: ErpDocumentRef) -> ErpDocumentRef:
        if ref.status == "posted":
            return ref
        invoice_id = int(ref.erp_id)
        state = self.call("model.account.invoice.read", [invoice_id], ["state"])[0]["state"]
        if state == "draft":
            self.call("model.account.invoice.validate_invoice", [invoice_id], write=True)
        try:
            self.call("model.account.invoice.post", [invoice_id], write=True)
        except TrytonWarning as warning:
            if warning.key.rsplit(".", 1)[-1] not in self.config.accept_warnings:
                raise
            self.call("model.res.user.warning.create", [{"user": self._user_id, "name": warning.key,
                                                          "always": False}], write=True)
            self.call("model.account.invoice.post", [invoice_id], write=True)
        return self._read(invoice_id)


def _encode(value: Any) -> Any:
    """Tryton's JSON: Decimals and dates as tagged objects."""
    if isinstance(value, Decimal):
        return {"__class__": "Decimal", "decimal": str(value)}
    if isinstance(value, dt.datetime):
        raise TypeError("send dates, not datetimes, to Tryton invoices")
    if isinstance(value, dt.date):
        return {"__class__": "date", "year": value.year, "month": value.month, "day": value.day}
    if isinstance(value, Mapping):
        return {key: _encode(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(item) for item in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        kind = value.get("__class__")
        if kind == "Decimal":
            return Decimal(value["decimal"])
        if kind == "date":
            return dt.date(value["year"], value["month"], value["day"])
        return {key: _decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode(item) for item in value]
    return value


def tryton_sign(doc: InvoiceDocument) -> Decimal:
    """-1 for a credit note: Tryton books it as a customer invoice with negative quantities (its total < 0)."""
    return Decimal(-1) if doc.type_code == "381" else Decimal(1)
