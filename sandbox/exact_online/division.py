"""One Exact Online division's state: OAuth tokens, the rate-limit counters, master data, entries and invoices.

Why these rules live here: refresh tokens die on use (an old one is answered 401 "Old refresh token used."),
authorisation codes are single-use and bound to their redirect URI, refresh tokens may not be refreshed within 570 s of
the last refresh, access tokens live 600 s on the sandbox clock, the minute and day limits count every call, and
documents get their numbers, lines and VAT totals as Exact computes them; the HTTP side only translates.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import uuid
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sandbox.core import Clock, Request, Response
from sandbox.state_file import StateFile

PREFIX = ""
DIVISION = 1234567
CREDENTIALS: dict[str, str] = {
    "client_id": "8f3c2d1e-5b4a-4c3d-9e8f-7a6b5c4d3e2f",
    "client_secret": "sandbox-exact-client-secret",
    "redirect_uri": "https://127.0.0.1/exact/callback",
    "authorization_code": "sandbox-exact-authorization-code",
    "division": str(DIVISION),
}
ACCESS_LIFETIME = 600
REFRESH_NOT_BEFORE = 570
REFRESH_UNUSED_DAYS = 30
CODE_LIFETIME = 180  # an authorisation code lives 3 minutes (user reports; Exact's docs give no figure)
OLD_REFRESH_TOKEN = {"error": "unauthorized_client", "error_description": "Old refresh token used."}
VAT_CODES: dict[str, Decimal] = {"2  ": Decimal("21"), "1  ": Decimal("9"), "0  ": Decimal("0"), "5  ": Decimal("0")}
JOURNALS = ("70", "71")
ENTRY_TYPES = (20, 21)  # SalesEntries Type: 20 sales entry, 21 sales credit note
INVOICE_TYPES = (8020, 8021)  # SalesInvoices Type: 8020 invoice, 8021 credit note


def _guid(rng_seed: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"exact-sandbox:{rng_seed}"))


def master_data(seed: int) -> dict[str, dict[str, dict[str, Any]]]:
    """Customers ``C00001``..``C00050``, revenue G/L accounts 8000..8099 (1300 is a balance account), items with the
    same codes, VAT codes; GUIDs derived from ``seed``."""
    accounts = {_guid(f"{seed}:acct:{n}"): {"Code": f"C{n:05d}", "Name": f"Customer C{n:05d}", "IsSales": True}
                for n in range(1, 51)}
    gl = {_guid(f"{seed}:gl:{code}"): {"Code": str(code), "Description": f"Omzet {code}", "Type": 110}
          for code in range(8000, 8100)}
    gl[_guid(f"{seed}:gl:1300")] = {"Code": "1300", "Description": "Debiteuren", "Type": 20}
    items = {_guid(f"{seed}:item:{code}"): {"Code": str(code), "Description": f"Dienst {code}"}
             for code in range(8000, 8100)}
    return {"accounts": accounts, "gl": gl, "items": items}


def _money(value: Any, field: str) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise Invalid(400, f"Ongeldig: {field}") from exc


class Invalid(Exception):
    """A refused document: answered in Exact's error body with ``status`` (Exact sends some of these as 500)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ExactState:
    """Tokens, limits, entries and invoices of one division."""

    def __init__(self, clock: Clock, seed: int, state_dir: Path | None, per_minute: int, per_day: int,
                 minute_seconds: float, strict: bool) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.master = master_data(seed)
        self.per_minute, self.per_day, self.minute_seconds, self.strict = per_minute, per_day, minute_seconds, strict
        self.store = StateFile(state_dir / "exact_online.json") if state_dir else None
        saved = self.store.load() if self.store else None
        self.data: dict[str, Any] = saved or {
            "refresh_tokens": {}, "access_tokens": {}, "code_used": False, "last_refresh": None,
            "entries": {}, "entry_lines": {}, "invoices": {}, "invoice_lines": {}, "next_entry": 26000001,
            "next_invoice": 26100001,
        }
        self.data.setdefault("old_refresh_tokens", [])
        self.data.setdefault("codes", {})
        self.minute: tuple[int, int] = (0, 0)  # (window index, calls)
        self.day: tuple[str, int] = ("", 0)
        self.errors: dict[tuple[str, int], int] = {}
        self.throttled = 0  # 429s sent, for tests that prove the client paced itself

    def save(self) -> None:
        if self.store:
            self.store.save(self.data)

    def now(self) -> float:
        return self.clock.now().timestamp()

    # -- limits ---------------------------------------------------------------------------------------------

    def count_call(self) -> tuple[bool, dict[str, str]]:
        """Count one API call; ``False`` when over a limit. Headers as Exact sends them (resets in epoch ms)."""
        now = self.now()
        window = int(now // self.minute_seconds)
        today = self.clock.now().date().isoformat()
        with self.lock:
            minute_calls = self.minute[1] if self.minute[0] == window else 0
            day_calls = self.day[1] if self.day[0] == today else 0
            allowed = minute_calls < self.per_minute and day_calls < self.per_day
            if allowed:
                minute_calls, day_calls = minute_calls + 1, day_calls + 1
            self.minute, self.day = (window, minute_calls), (today, day_calls)
        midnight = dt.datetime.fromisoformat(today).replace(tzinfo=dt.UTC) + dt.timedelta(days=1)
        headers = {
            "X-RateLimit-Limit": str(self.per_day),
            "X-RateLimit-Remaining": str(max(0, self.per_day - day_calls)),
            "X-RateLimit-Reset": str(int(midnight.timestamp() * 1000)),
            "X-RateLimit-Minutely-Limit": str(self.per_minute),
            "X-RateLimit-Minutely-Remaining": str(max(0, self.per_minute - minute_calls)),
            "X-RateLimit-Minutely-Reset": str(int((window + 1) * self.minute_seconds * 1000)),
        }
        return allowed, headers

    def blocked(self, endpoint: str) -> bool:
        hour = int(self.now() // 3600)
        return self.strict and self.errors.get((endpoint, hour), 0) >= 10

    def note_error(self, endpoint: str, status: int) -> None:
        if 400 <= status < 500 and status != 429:
            key = (endpoint, int(self.now() // 3600))
            self.errors[key] = self.errors.get(key, 0) + 1

    # -- OAuth ----------------------------------------------------------------------------------------------

    def grant(self) -> dict[str, Any]:
        now = self.now()
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(32)
        self.data["access_tokens"][access] = now + ACCESS_LIFETIME
        self.data["old_refresh_tokens"].extend(self.data["refresh_tokens"])
        self.data["refresh_tokens"] = {refresh: now}  # single-use: every older refresh token dies here
        self.data["last_refresh"] = now
        return {"access_token": access, "token_type": "bearer", "expires_in": str(ACCESS_LIFETIME),
                "refresh_token": refresh}

    def token(self, form: dict[str, str]) -> Response:
        if (form.get("client_id"), form.get("client_secret")) != (CREDENTIALS["client_id"],
                                                                   CREDENTIALS["client_secret"]):
            return Response(400, {"error": "invalid_client"})
        now = self.now()
        with self.lock:
            if form.get("grant_type") == "authorization_code":
                if not self.redeem(form.get("code", ""), form.get("redirect_uri", "")):
                    return Response(400, {"error": "invalid_grant"})
            elif form.get("grant_type") == "refresh_token":
                issued = self.data["refresh_tokens"].get(form.get("refresh_token", ""))
                if issued is None and form.get("refresh_token") in self.data["old_refresh_tokens"]:
                    return Response(401, OLD_REFRESH_TOKEN)
                if issued is None:
                    return Response(400, {"error": "invalid_grant"})
                if now - issued > REFRESH_UNUSED_DAYS * 86400:
                    expired = dt.datetime.fromtimestamp(issued + REFRESH_UNUSED_DAYS * 86400, dt.UTC)
                    return Response(400, {"error": "invalid_request",
                                          "error_description": f"The refresh token expired at {expired:%m/%d/%Y}"})
                if self.data["last_refresh"] is not None and now - self.data["last_refresh"] < REFRESH_NOT_BEFORE:
                    return Response(400, {"error": "invalid_request",
                                          "error_description": "Access token not expired yet."})
            else:
                return Response(400, {"error": "unsupported_grant_type"})
            body = self.grant()
            self.save()
        return Response(200, body)

    def issue_code(self, redirect_uri: str) -> str:
        """A person consented on the authorise page: a single-use code bound to ``redirect_uri``."""
        code = secrets.token_urlsafe(32)
        with self.lock:
            self.data["codes"][code] = {"redirect_uri": redirect_uri, "issued": self.now()}
            self.save()
        return code

    def redeem(self, code: str, redirect_uri: str) -> bool:
        """Use a code once: an issued one within its lifetime and with the redirect_uri it was issued for, or the
        fixed test code of ``CREDENTIALS`` (until ``/__admin/reauthorise`` arms it again)."""
        if code == CREDENTIALS["authorization_code"] and not self.data["code_used"]:
            self.data["code_used"] = True
            return True
        issued = self.data["codes"].pop(code, None)
        return (issued is not None and issued["redirect_uri"] == redirect_uri
                and self.now() - issued["issued"] <= CODE_LIFETIME)

    def authorised(self, request: Request) -> bool:
        scheme, _, token = (request.header("Authorization") or "").partition(" ")
        expires = self.data["access_tokens"].get(token.strip()) if scheme.lower() == "bearer" else None
        return expires is not None and expires > self.now() and not request.has_fault("expire_token")

    # -- documents ------------------------------------------------------------------------------------------

    def _vat(self, code: str | None) -> Decimal:
        if code is None:
            return VAT_CODES["2  "]
        rate = VAT_CODES.get(code)
        if rate is None:
            raise Invalid(400, f"Ongeldig: BTW-code ({code})")
        return rate

    def _line(self, document_id: str, payload: dict[str, Any], kind: str) -> dict[str, Any]:
        if kind == "entry":
            account = self.master["gl"].get(str(payload.get("GLAccount")))
            if account is None:
                raise Invalid(400, "Verplicht: Grootboekrekening")
            if account["Type"] != 110:
                raise Invalid(400, "Ongeldig: Grootboekrekeningtype")
            net = _money(payload.get("AmountFC"), "Bedrag")
        else:
            if str(payload.get("Item")) not in self.master["items"]:
                raise Invalid(400, "Verplicht: Artikel")
            quantity = _money(payload.get("Quantity", 1), "Aantal")
            price = _money(payload.get("NetPrice", payload.get("UnitPrice")), "Prijs")
            net = (quantity * price).quantize(Decimal("0.01"), ROUND_HALF_UP)
        rate = self._vat(payload.get("VATCode"))
        vat = payload.get("VATAmountFC")
        vat_amount = _money(vat, "BTW-bedrag") if vat is not None else (net * rate / 100).quantize(
            Decimal("0.01"), ROUND_HALF_UP)
        line = {key: value for key, value in payload.items() if not isinstance(value, dict | list)}
        line.update(ID=str(uuid.uuid4()), AmountFC=net, VATAmountFC=vat_amount, VATPercentage=rate / 100,
                    VATCode=payload.get("VATCode") or "2  ")
        line["EntryID" if kind == "entry" else "InvoiceID"] = document_id
        return line

    def totals(self, kind: str, document_id: str) -> None:
        lines = [ln for ln in self.data[f"{kind}_lines"].values()
                 if ln["EntryID" if kind == "entry" else "InvoiceID"] == document_id]
        document = self.data["entries" if kind == "entry" else "invoices"][document_id]
        net = sum((ln["AmountFC"] for ln in lines), Decimal(0))
        vat = sum((ln["VATAmountFC"] for ln in lines), Decimal(0))
        if kind == "entry":
            document.update(AmountFC=net + vat, AmountDC=net + vat, VATAmountFC=vat, VATAmountDC=vat)
        else:
            document.update(AmountFC=net + vat, AmountDC=net + vat, VATAmountFC=vat, AmountFCExclVat=net)

    def create(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        lines_key = "SalesEntryLines" if kind == "entry" else "SalesInvoiceLines"
        lines = payload.get(lines_key)
        if lines is not None and not isinstance(lines, list):
            raise Invalid(400, "Error processing request stream. The property name 'results' specified for type "
                                f"'{lines_key}' is not valid.")
        customer_field = "Customer" if kind == "entry" else "OrderedBy"
        customer = payload.get(customer_field)
        if not customer:
            raise Invalid(400, "Verplicht: Klant" if kind == "entry" else "Verplicht: Besteld door")
        if customer not in self.master["accounts"]:
            raise Invalid(500, f"Ongeldig: {customer_field} ({customer})")  # Exact sends some of these as 500
        if payload.get("Journal", "70") not in JOURNALS:
            raise Invalid(400, "Ongeldig: Dagboek")
        if not lines:
            raise Invalid(400, "Verplicht: Regels")
        types = ENTRY_TYPES if kind == "entry" else INVOICE_TYPES
        kind_of = payload.get("Type", types[0])
        if kind_of not in types:
            raise Invalid(400, f"Ongeldig: Soort ({kind_of})")
        document_id = str(uuid.uuid4())
        header = {key: value for key, value in payload.items() if key != lines_key}
        if kind == "entry":
            header.update(EntryID=document_id, EntryNumber=self.data["next_entry"], Type=kind_of, Status=20,
                          Division=DIVISION, Journal=payload.get("Journal", "70"))
            self.data["next_entry"] += 1
        else:
            header.update(InvoiceID=document_id, InvoiceNumber=self.data["next_invoice"], Type=kind_of, Status=20,
                          Division=DIVISION, InvoiceTo=payload.get("InvoiceTo") or customer,
                          Journal=payload.get("Journal", "70"))
            self.data["next_invoice"] += 1
        made = [self._line(document_id, line, kind) for line in lines]
        self.data["entries" if kind == "entry" else "invoices"][document_id] = header
        for line in made:
            self.data[f"{kind}_lines"][line["ID"]] = line
        self.totals(kind, document_id)
        return header
