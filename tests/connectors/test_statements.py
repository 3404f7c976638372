"""Statement files read by content: camt.053 in the .001.02 and .001.08 layouts, camt.054, and MT940, each field where
the standards put it, and malformed files refused with the entry and field named.

Element paths as the ISO 20022 message definitions give them (https://www.iso20022.org/iso-20022-message-definitions,
Bank-to-Customer Cash Management: camt.053 BankToCustomerStatement, camt.054 BankToCustomerDebitCreditNotification):
Stmt|Ntfctn / Acct/Id/IBAN, Ntry / Amt@Ccy, CdtDbtInd, Sts (Sts/Cd from .06 on), BookgDt/Dt|DtTm, AcctSvcrRef,
NtryDtls/TxDtls / Refs, AmtDtls/TxAmt/Amt (Amt from .05 on), RltdPties/Dbtr/Nm (Dbtr/Pty/Nm in .08), DbtrAcct/Id/IBAN,
RmtInf/Ustrd, RmtInf/Strd/CdtrRefInf/Ref. MT940 fields as SWIFT's MT940 customer statement message defines them
(:20:, :25:, :28C:, :60F:, :61:, :86:, :62F:); the ``:86:`` SEPA field codes (/EREF/, /IBAN/, /NAME/, /REMI/) as Dutch
banks document their MT940 structured format.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.statements import StatementError, parse_statements

FILES = Path(__file__).parent / "statements"


def read(name: str) -> bytes:
    return (FILES / name).read_bytes()


def test_camt053_v02_booked_entries_with_parties_references_and_a_batch_booking() -> None:
    [statement] = parse_statements(read("camt053_v02.xml"))
    assert (statement.format, statement.statement_id, statement.account_iban, statement.currency) == (
        "camt.053", "NL-STMT-2026-11", "NL91ABNA0417164300", "EUR")
    refs = [e.bank_reference for e in statement.entries]
    assert refs == ["BANK-0001", "BANK-0003", "BANK-0004/1", "BANK-0004/2"]  # pending BANK-0002 left out
    paid, fee, first, second = statement.entries
    assert (paid.amount, paid.booking_date, paid.counterparty_name, paid.counterparty_iban, paid.reference) == (
        Decimal("242.00"), dt.date(2026, 11, 5), "Contoso Zorg B.V.", "NL20INGB0001234567", "RF50NL202600012")
    assert (fee.amount, fee.booking_date, fee.counterparty_name, fee.text) == (
        Decimal("-7.50"), dt.date(2026, 11, 7), None, "")
    assert (first.amount, first.counterparty_name, first.text) == (Decimal("100.00"), "Fabrikam", "NL2026-00021")
    assert (second.amount, second.text) == (Decimal("200.00"), "Invoice NL2026-00022")


def test_camt053_v08_status_code_and_party_under_pty_and_a_debit_names_the_creditor() -> None:
    [statement] = parse_statements(read("camt053_v08.xml"))
    [refund] = statement.entries
    assert (refund.amount, refund.counterparty_name, refund.counterparty_iban) == (
        Decimal("-50.00"), "Müller Maschinenbau GmbH", "DE02120300000000202051")


def test_camt054_notification() -> None:
    [notification] = parse_statements(read("camt054.xml"))
    assert (notification.format, notification.account_iban, notification.currency) == (
        "camt.054", "NL91ABNA0417164300", None)
    [entry] = notification.entries
    assert (entry.bank_reference, entry.amount, entry.text) == ("NTF-REF-1", Decimal("605.00"), "Factuur NL2026-00021")


def test_mt940_with_sepa_field_codes_in_86() -> None:
    [statement] = parse_statements(read("mt940.sta"))
    assert (statement.format, statement.statement_id, statement.account_iban, statement.currency) == (
        "mt940", "STMT2611", "NL91ABNA0417164300", "EUR")
    paid, fee = statement.entries
    assert (paid.bank_reference, paid.booking_date, paid.amount) == ("MT-0001", dt.date(2026, 11, 3), Decimal("242"))
    assert (paid.counterparty_name, paid.counterparty_iban, paid.text) == (
        "Contoso Zorg B.V.", "NL20INGB0001234567", "Factuur NL2026-00012")
    assert (fee.amount, fee.text) == (Decimal("-7.50"), "Kosten betalingsverkeer")


@pytest.mark.parametrize(("data", "entry", "field"), [
    (b"hello, world", 0, "format"),
    (b"<Document><BkToCstmrStmt>", 0, "XML"),
    (b"<Document xmlns='urn:x'><Other/></Document>", 0, "Document"),
    (read("camt053_v02.xml").replace(b"<IBAN>NL91ABNA0417164300</IBAN>", b""), 0, "Stmt/Acct/Id/IBAN"),
    (read("camt053_v02.xml").replace(b">242.00<", b">2x2.00<"), 1, "Ntry/Amt"),
    (read("camt053_v02.xml").replace(b"<CdtDbtInd>DBIT", b"<CdtDbtInd>DEBIT"), 3, "Ntry/CdtDbtInd"),
    (read("camt053_v02.xml").replace(b"2026-11-05</Dt></BookgDt>", b"05.11.2026</Dt></BookgDt>"), 1, "Ntry/BookgDt"),
    (read("camt053_v02.xml").replace(b"<AcctSvcrRef>BANK-0001</AcctSvcrRef>", b""), 1, "Ntry/AcctSvcrRef"),
    (read("mt940.sta").replace(b"//MT-0001", b""), 1, ":61: bank reference"),
])
def test_malformed_files_name_the_entry_and_field(data: bytes, entry: int, field: str) -> None:
    with pytest.raises(StatementError) as caught:
        parse_statements(data)
    assert (caught.value.entry, caught.value.field) == (entry, field), str(caught.value)
