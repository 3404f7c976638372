"""Letters about payments laid out by WeasyPrint like the invoice (``invoice_page``): the reminder (dunning letter)
sent with an overdue invoice's reminder e-mail, and a customer's statement of account (open items, payments,
balance).

Why here, beside the invoice page: they are documents a customer receives, built from plain data (no ledger), with
the invoice's stylesheet, so the reseller's paper looks the same whichever letter it is.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import jinja2

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Party:
    name: str
    address: str  # one line: street, postal code and town, country


@dataclass(frozen=True)
class ReminderLetter:
    seller: Party
    customer: Party
    date: dt.date
    level: int
    text: str  # the ladder's text for this level, placeholders filled
    invoice_number: str
    issue_date: dt.date
    due_date: dt.date
    days_late: int
    open_amount: Decimal
    currency: str
    reference: str  # the creditor reference to quote, printed in groups of four


@dataclass(frozen=True)
class StatementLine:
    date: dt.date
    kind: str  # invoice, credit note, payment
    reference: str  # invoice number, or the bank's reference
    amount: Decimal  # what the customer owes more (+) or less (-)
    balance: Decimal  # running, after this line


@dataclass(frozen=True)
class OpenItem:
    invoice_number: str
    issue_date: dt.date
    due_date: dt.date
    gross: Decimal
    open: Decimal
    reference: str


@dataclass(frozen=True)
class StatementOfAccount:
    seller: Party
    customer: Party
    as_of: dt.date
    currency: str
    lines: tuple[StatementLine, ...]
    open_items: tuple[OpenItem, ...]
    balance: Decimal


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(HERE), autoescape=True,
                              undefined=jinja2.StrictUndefined)


def _pdf(template: str, **values: object) -> bytes:
    from weasyprint import HTML  # WeasyPrint (and Pango) load only when a letter is made

    html = _environment().get_template(template).render(**values)
    return HTML(string=html, base_url=str(HERE)).write_pdf(stylesheets=[_stylesheet()])


def reminder_pdf(letter: ReminderLetter) -> bytes:
    return _pdf("reminder_letter.html", letter=letter, title=f"{letter.seller.name}: reminder "
                                                               f"{letter.invoice_number}")


def statement_pdf(statement: StatementOfAccount) -> bytes:
    return _pdf("statement_page.html", statement=statement,
                title=f"{statement.seller.name}: statement of account {statement.customer.name}")


@functools.cache
def _stylesheet() -> object:
    from weasyprint import CSS

    return CSS(filename=str(HERE / "invoice_page.css"))
