"""Cash entries of the Exact Online sandbox division: ``financialtransaction/CashEntries`` (created with their lines
in one deep insert) and ``financialtransaction/CashEntryLines`` (listed, filtered on ``Description``).

The contract (Exact's REST reference, FinancialTransactionCashEntries / FinancialTransactionCashEntryLines:
https://start.exactonline.nl/docs/HlpRestAPIResourcesDetails.aspx?name=FinancialTransactionCashEntries; field list
as mirrored at https://documentation.invantive.com/2017R2/exact-online-data-model/webhelp/exact-online-connector-exactonlinerest-financialtransaction-cashentries.html):
an entry has ``EntryID``, ``EntryNumber``, ``FinancialJournal`` (a cash journal's code), ``Currency``,
``StartBalanceFC``/``ClosingBalanceFC`` and ``CashEntryLines``; a line has ``ID``, ``EntryID``, ``Account`` (a customer
guid), ``AmountFC``, ``Date``, ``Description``, ``OurRef`` (the entry number of the sales entry it settles),
``Notes``. The sandbox checks the journal, the account, and that ``OurRef`` names a sales entry of that customer.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from sandbox.core import Request, Response, SandboxApp
from sandbox.exact_online.division import DIVISION, ExactState, Invalid, _money
from sandbox.routing import Routes

if TYPE_CHECKING:
    from sandbox.routing import Guard

CASH_JOURNALS = ("20",)


def create_cash_entry(state: ExactState, payload: dict[str, Any]) -> dict[str, Any]:
    """One cash entry and its lines, all or nothing, as Exact books it."""
    journal = str(payload.get("FinancialJournal") or "")
    if journal not in CASH_JOURNALS:
        raise Invalid(400, f"Ongeldig: Dagboek ({journal})")
    lines = payload.get("CashEntryLines")
    if not isinstance(lines, list) or not lines:
        raise Invalid(400, "Verplicht: Regels")
    entry_id = str(uuid.uuid4())
    made = []
    for body in lines:
        account = str(body.get("Account") or "")
        if account not in state.master["accounts"]:
            raise Invalid(400, f"Ongeldig: Relatie ({account})")
        our_ref = body.get("OurRef")
        if our_ref is not None and not any(e.get("EntryNumber") == our_ref and e.get("Customer") == account
                                           for e in state.data["entries"].values()):
            raise Invalid(400, f"Ongeldig: Onze ref. ({our_ref})")
        line = {key: value for key, value in body.items() if not isinstance(value, dict | list)}
        line.update(ID=str(uuid.uuid4()), EntryID=entry_id, AmountFC=_money(body.get("AmountFC"), "Bedrag"),
                    Division=DIVISION)
        made.append(line)
    number = state.data.setdefault("next_cash_entry", 20000001)
    state.data["next_cash_entry"] = number + 1
    header = {"EntryID": entry_id, "EntryNumber": number, "FinancialJournal": int(journal),
              "Currency": payload.get("Currency") or "EUR", "Division": DIVISION, "Status": 20}
    state.data.setdefault("cash_entries", {})[entry_id] = header
    cash_lines = state.data.setdefault("cash_entry_lines", {})
    for line in made:
        cash_lines[line["ID"]] = line
    return header


def register_cash(app: SandboxApp, guard: Guard, listing: Any, state: ExactState) -> None:
    api = Routes(app, r"/api/v1/(?P<division>\d+)/financialtransaction", guard=guard)

    @api("POST", r"/CashEntries")
    def create(request: Request) -> Response:
        return Response(201, {"d": create_cash_entry(state, request.json() or {})})

    @api("GET", r"/CashEntryLines")
    def list_lines(request: Request) -> Response:
        return listing(request, list(state.data.get("cash_entry_lines", {}).values()))
