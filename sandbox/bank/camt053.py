"""Write an ISO 20022 camt.053.001.02 bank-to-customer statement from plain data, the way a bank delivers one.

Why here: the demo and the tests need statement files with realistic content (credits with and without a
structured creditor reference, free-text remittances, combined payments, charges, refunds) and must not build them
with the product's own reader in mind. The element order follows the camt.053.001.02 schema (GrpHdr, Stmt with Id,
CreDtTm, Acct, Bal, Ntry; an entry's Amt, CdtDbtInd, Sts, BookgDt, ValDt, AcctSvcrRef, BkTxCd, NtryDtls/TxDtls with
Refs, AmtDtls, RltdPties, RmtInf).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from lxml import etree

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"


@dataclass(frozen=True)
class Booking:
    """One booked entry: ``amount`` signed (positive credit, negative debit)."""

    reference: str  # the bank's AcctSvcrRef
    day: dt.date
    amount: Decimal
    party_name: str | None = None
    party_iban: str | None = None
    creditor_reference: str | None = None  # RmtInf/Strd/CdtrRefInf/Ref (ISO 11649, type SCOR)
    remittance: str | None = None  # RmtInf/Ustrd
    domain: tuple[str, str, str] = ("PMNT", "RCDT", "ESCT")  # BkTxCd: received SEPA credit transfer


@dataclass(frozen=True)
class AccountStatement:
    """One account's statement: the bank's id for it, the account, its opening balance and its bookings."""

    statement_id: str
    iban: str
    currency: str
    opening: Decimal
    bookings: tuple[Booking, ...]


def camt053(statements: Sequence[AccountStatement], created: dt.datetime, message_id: str) -> bytes:
    """The file's bytes (UTF-8 XML): one message holding a statement per account."""
    stamp = created.strftime("%Y-%m-%dT%H:%M:%S")
    document = etree.Element(f"{{{NAMESPACE}}}Document", nsmap={None: NAMESPACE})
    message = _sub(document, "BkToCstmrStmt")
    header = _sub(message, "GrpHdr")
    _sub(header, "MsgId", message_id)
    _sub(header, "CreDtTm", stamp)
    for data in statements:
        statement = _sub(message, "Stmt")
        _sub(statement, "Id", data.statement_id)
        _sub(statement, "CreDtTm", stamp)
        account = _sub(statement, "Acct")
        _sub(_sub(account, "Id"), "IBAN", data.iban)
        _sub(account, "Ccy", data.currency)
        days = sorted(b.day for b in data.bookings) or [created.date()]
        closing = data.opening + sum((b.amount for b in data.bookings), Decimal(0))
        _balance(statement, "OPBD", data.opening, data.currency, days[0])
        _balance(statement, "CLBD", closing, data.currency, days[-1])
        for booking in data.bookings:
            _entry(statement, booking, data.currency)
    return etree.tostring(document, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _entry(statement: etree._Element, booking: Booking, currency: str) -> None:
    entry = _sub(statement, "Ntry")
    _amount(entry, booking.amount, currency)
    _sub(entry, "CdtDbtInd", "CRDT" if booking.amount > 0 else "DBIT")
    _sub(entry, "Sts", "BOOK")
    _sub(_sub(entry, "BookgDt"), "Dt", booking.day.isoformat())
    _sub(_sub(entry, "ValDt"), "Dt", booking.day.isoformat())
    _sub(entry, "AcctSvcrRef", booking.reference)
    domain = _sub(_sub(entry, "BkTxCd"), "Domn")
    _sub(domain, "Cd", booking.domain[0])
    family = _sub(domain, "Fmly")
    _sub(family, "Cd", booking.domain[1])
    _sub(family, "SubFmlyCd", booking.domain[2])
    details = _sub(_sub(entry, "NtryDtls"), "TxDtls")
    refs = _sub(details, "Refs")
    _sub(refs, "AcctSvcrRef", booking.reference)
    _sub(refs, "EndToEndId", "NOTPROVIDED")
    _amount(_sub(_sub(details, "AmtDtls"), "TxAmt"), booking.amount, currency)
    if booking.party_name or booking.party_iban:
        parties = _sub(details, "RltdPties")
        role = "Dbtr" if booking.amount > 0 else "Cdtr"
        if booking.party_name:
            _sub(_sub(parties, role), "Nm", booking.party_name)
        if booking.party_iban:
            _sub(_sub(_sub(parties, f"{role}Acct"), "Id"), "IBAN", booking.party_iban)
    if booking.creditor_reference or booking.remittance:
        remittance = _sub(details, "RmtInf")
        if booking.remittance:
            _sub(remittance, "Ustrd", booking.remittance[:140])
        if booking.creditor_reference:
            info = _sub(_sub(remittance, "Strd"), "CdtrRefInf")
            _sub(_sub(_sub(info, "Tp"), "CdOrPrtry"), "Cd", "SCOR")
            _sub(info, "Ref", booking.creditor_reference)


def _balance(statement: etree._Element, code: str, amount: Decimal, currency: str, day: dt.date) -> None:
    balance = _sub(statement, "Bal")
    _sub(_sub(_sub(balance, "Tp"), "CdOrPrtry"), "Cd", code)
    _amount(balance, amount, currency)
    _sub(balance, "CdtDbtInd", "CRDT" if amount >= 0 else "DBIT")
    _sub(_sub(balance, "Dt"), "Dt", day.isoformat())


def _amount(parent: etree._Element, amount: Decimal, currency: str) -> None:
    _sub(parent, "Amt", f"{abs(amount):.2f}").set("Ccy", currency)


def _sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    child = etree.SubElement(parent, f"{{{NAMESPACE}}}{name}")
    if text is not None:
        child.text = text
    return child
