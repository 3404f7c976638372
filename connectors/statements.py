"""Bank statements in: ISO 20022 camt.053 (statement) and camt.054 (debit/credit notification), versions .001.02 to
.001.08, and SWIFT MT940, read into plain records; the format is recognised by content, never by file name.

Why lxml for camt: no camt reader on PyPI was both maintained and small enough to trust with money, and the element
paths are few and stable across versions, so this module reads them by the schema's element names
(``Stmt``/``Ntfctn`` > ``Ntry`` > ``NtryDtls`` > ``TxDtls``), ignoring the version's namespace. The two places where
versions differ are handled: the entry status (``Sts`` text in .02, ``Sts/Cd`` from .06) and the party name
(``Dbtr/Nm`` in .02, ``Dbtr/Pty/Nm`` from .08). Only booked entries are read (``BOOK``); pending ones are not money
yet. MT940 goes through the ``mt-940`` package; the ``:86:`` line is taken apart when it uses the SEPA field codes
Dutch and other banks use (``/NAME/``, ``/IBAN/``, ``/REMI/``, ``/EREF/``), otherwise it is the remittance text.

An entry with several ``TxDtls`` carrying their own amounts (a batch booking) becomes one record per transaction.
Malformed input raises ``StatementError`` naming the entry (its position in the file) and the field.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import mt940
from lxml import etree

CAMT_KINDS = {"BkToCstmrStmt": ("camt.053", "Stmt"), "BkToCstmrDbtCdtNtfctn": ("camt.054", "Ntfctn")}
SEPA_86 = re.compile(r"/(EREF|IBAN|NAME|REMI|BIC|CSID|MARF|ORDP|BENM|ID|ADDR|PURP|RTRN|SVCL|CDTRREFTP|CDTRREF)/")


class StatementError(ValueError):
    """The file cannot be read as a statement: names the entry (1-based position, 0 for the header) and field."""

    def __init__(self, entry: int, field: str, problem: str) -> None:
        where = f"entry {entry}: " if entry else ""
        super().__init__(f"{where}field {field}: {problem}")
        self.entry = entry
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class StatementEntry:
    """One booked amount: positive for money in (credit), negative for money out (debit)."""

    position: int
    bank_reference: str
    booking_date: dt.date
    amount: Decimal
    currency: str
    counterparty_name: str | None
    counterparty_iban: str | None
    reference: str | None  # structured creditor reference (RmtInf/Strd/CdtrRefInf/Ref)
    text: str  # unstructured remittance information


@dataclass(frozen=True)
class Statement:
    format: str  # camt.053, camt.054, mt940
    statement_id: str | None
    account_iban: str
    currency: str | None  # the account's currency when the file states it
    entries: tuple[StatementEntry, ...]


def parse_statements(data: bytes) -> list[Statement]:
    """Every statement in the file (a camt file may hold several accounts' statements)."""
    head = data.lstrip()[:200]
    if head.startswith(b"<") or head.startswith(b"\xef\xbb\xbf<"):
        return _camt(data)
    if b":20:" in data[:400] or b":25:" in data[:800]:
        return [_mt940(data)]
    raise StatementError(0, "format", "neither ISO 20022 camt XML nor SWIFT MT940 (no <Document> and no :20:/:25:)")


def _camt(data: bytes) -> list[Statement]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise StatementError(0, "XML", str(exc)) from None
    if etree.QName(root).localname != "Document" or len(root) != 1:
        raise StatementError(0, "Document", "not an ISO 20022 Document with one message")
    message = root[0]
    kind = CAMT_KINDS.get(etree.QName(message).localname)
    if kind is None:
        raise StatementError(0, "Document", f"message {etree.QName(message).localname} is not camt.053 or camt.054")
    name, report = kind
    statements = []
    position = 0
    for block in _children(message, report):
        iban = _text(block, "Acct", "Id", "IBAN")
        if not iban:
            raise StatementError(0, f"{report}/Acct/Id/IBAN", "missing: the statement's account must be an IBAN")
        entries = []
        for entry in _children(block, "Ntry"):
            position += 1
            entries.extend(_camt_entry(entry, position))
        statements.append(Statement(name, _text(block, "Id"), iban, _text(block, "Acct", "Ccy"), tuple(entries)))
    if not statements:
        raise StatementError(0, report, "the message holds no statement")
    return statements


def _camt_entry(entry: etree._Element, position: int) -> list[StatementEntry]:
    status = _text(entry, "Sts", "Cd") or _text(entry, "Sts")
    if status and status != "BOOK":
        return []
    amount, currency = _amount(entry, position, "Ntry/Amt")
    sign = _sign(entry, position, "Ntry/CdtDbtInd")
    booked = _text(entry, "BookgDt", "Dt") or (_text(entry, "BookgDt", "DtTm") or "")[:10]
    try:
        booking_date = dt.date.fromisoformat(booked)
    except ValueError:
        raise StatementError(position, "Ntry/BookgDt", f"not a date: {booked!r}") from None
    entry_ref = _text(entry, "AcctSvcrRef") or _text(entry, "NtryRef")
    details = [tx for d in _children(entry, "NtryDtls") for tx in _children(d, "TxDtls")]
    split = len(details) > 1 and all(_tx_amount_node(tx) is not None for tx in details)
    records = []
    for i, tx in enumerate(details if split else details[:1] or [None], start=1):
        tx_amount, tx_currency = (_amount(tx, position, "TxDtls/Amt") if split else (amount, currency))
        tx_sign = _sign(tx, position, "TxDtls/CdtDbtInd") if split and _text(tx, "CdtDbtInd") else sign
        reference = None if tx is None else (_text(tx, "Refs", "AcctSvcrRef") or _text(tx, "Refs", "EndToEndId"))
        bank_reference = (f"{entry_ref}/{i}" if split and entry_ref else None) or (
            entry_ref if entry_ref else reference)
        if not bank_reference or bank_reference == "NOTPROVIDED":
            raise StatementError(position, "Ntry/AcctSvcrRef", "missing: no bank reference identifies the entry")
        party = "Dbtr" if tx_sign > 0 else "Cdtr"
        records.append(StatementEntry(
            position, bank_reference, booking_date, tx_sign * tx_amount, tx_currency,
            None if tx is None else (_text(tx, "RltdPties", party, "Nm") or _text(tx, "RltdPties", party, "Pty", "Nm")),
            None if tx is None else _text(tx, "RltdPties", f"{party}Acct", "Id", "IBAN"),
            None if tx is None else _text(tx, "RmtInf", "Strd", "CdtrRefInf", "Ref"),
            "" if tx is None else " ".join(u.text.strip() for u in _path(tx, "RmtInf", "Ustrd") if u.text),
        ))
    return records


def _mt940(data: bytes) -> Statement:
    try:
        transactions = mt940.parse(data.decode("latin-1"))
    except Exception as exc:  # the parser raises plain exceptions of several kinds on bad tags
        raise StatementError(0, "MT940", f"unreadable: {exc}") from None
    account = transactions.data.get("account_identification")
    if not account:
        raise StatementError(0, ":25:", "missing: the account identification")
    iban = re.sub(r"[^0-9A-Z]", "", account.split("/")[0].upper())
    opening = transactions.data.get("final_opening_balance")
    entries = []
    for position, tx in enumerate(transactions, start=1):
        data_ = tx.data
        amount = data_.get("amount")
        if amount is None:
            raise StatementError(position, ":61: amount", "missing")
        reference = data_.get("bank_reference") or (
            data_.get("customer_reference") if data_.get("customer_reference") != "NONREF" else None)
        if not reference:
            raise StatementError(position, ":61: bank reference", "missing: no reference after // nor a customer "
                                 "reference identifies the entry")
        booked = data_.get("guessed_entry_date") or data_.get("date")
        fields = _sepa_86(data_.get("transaction_details") or "")
        entries.append(StatementEntry(position, reference, dt.date(booked.year, booked.month, booked.day),
                                      Decimal(amount.amount), amount.currency, fields.get("NAME"),
                                      fields.get("IBAN"), fields.get("CDTRREF"), fields.get("REMI", "")))
    currency = opening.amount.currency if opening is not None else None
    return Statement("mt940", transactions.data.get("transaction_reference"), iban, currency, tuple(entries))


def _sepa_86(details: str) -> dict[str, str]:
    text = details.replace("\n", "")
    parts = SEPA_86.split(text)
    if len(parts) < 3:
        return {"REMI": " ".join(details.split())}
    fields = {code: value.strip().strip("/") for code, value in zip(parts[1::2], parts[2::2], strict=True)}
    remittance = fields.get("REMI", "")
    for prefix in ("USTD//", "STRD/"):
        remittance = remittance.removeprefix(prefix)
    fields["REMI"] = remittance.strip("/ ")
    if fields.get("REMI", "").upper().startswith("RF") or fields.get("CDTRREFTP"):
        fields.setdefault("CDTRREF", fields["REMI"].split("/")[-1])
    return fields


def _amount(node: etree._Element, position: int, field: str) -> tuple[Decimal, str]:
    amount = _tx_amount_node(node) if field.startswith("TxDtls") else _first(node, "Amt")
    if amount is None or not (amount.text or "").strip():
        raise StatementError(position, field, "missing")
    currency = amount.get("Ccy")
    if not currency or not re.fullmatch(r"[A-Z]{3}", currency):
        raise StatementError(position, f"{field}/@Ccy", f"not a currency code: {currency!r}")
    try:
        value = Decimal(amount.text.strip())
    except InvalidOperation:
        raise StatementError(position, field, f"not an amount: {amount.text!r}") from None
    if value < 0:
        raise StatementError(position, field, "negative: camt amounts are unsigned, CdtDbtInd gives the direction")
    return value, currency


def _tx_amount_node(tx: etree._Element) -> etree._Element | None:
    node = _first(tx, "Amt")
    if node is None:
        for holder in _path(tx, "AmtDtls", "TxAmt"):
            node = _first(holder, "Amt")
    return node


def _sign(node: etree._Element, position: int, field: str) -> int:
    indicator = _text(node, "CdtDbtInd")
    if indicator not in ("CRDT", "DBIT"):
        raise StatementError(position, field, f"must be CRDT or DBIT, not {indicator!r}")
    return 1 if indicator == "CRDT" else -1


def _children(node: etree._Element, name: str) -> list[etree._Element]:
    return [child for child in node if isinstance(child.tag, str) and etree.QName(child).localname == name]


def _first(node: etree._Element, name: str) -> etree._Element | None:
    found = _children(node, name)
    return found[0] if found else None


def _path(node: etree._Element, *names: str) -> list[etree._Element]:
    level = [node]
    for name in names:
        level = [child for parent in level for child in _children(parent, name)]
    return level


def _text(node: etree._Element | None, *names: str) -> str | None:
    if node is None:
        return None
    found = _path(node, *names)
    value = found[0].text if found else None
    return value.strip() if value and value.strip() else None
