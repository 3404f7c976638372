"""`cspbill payments import` and the desk upload: a bank statement file into the ledger once, its new entries
matched at once.

Why all or nothing per file: a statement is the bank's account of a day; half of it in the ledger would leave
finance chasing payments that did arrive. So the whole file is read and checked first (format, each statement's
account configured for a legal entity in ``payments.accounts``, each entry in that legal entity's currency), and one
transaction stores it. The file's SHA-256 makes a second import of the same file a no-op; each entry's key (account,
bank reference, booking day, amount) makes an entry that a later, overlapping file repeats a no-op too.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field

from config import Settings
from connectors.statements import Statement, StatementError, parse_statements
from ledger.models import BankEntry, BankStatement
from services.access import Actor, require
from services.clock import Clock, SystemClock
from services.errors import NotFound, ValidationFailed
from services.identity import confirm
from services.payments.applying import known, match, open_items, policy_of
from services.progress import Counted, count
from services.runtime import engine_for
from services.uow import UnitOfWork


@dataclass
class ImportResult:
    filename: str
    sha256: str
    already_imported: bool = False
    statements: int = 0
    tenants: list[str] = field(default_factory=list)
    new_entries: int = 0
    known_entries: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)  # applied / review / unmatched among the new entries

    @property
    def sentence(self) -> str:
        if self.already_imported:
            return f"{self.filename}: already imported (sha256 {self.sha256[:12]}…); nothing changed"
        counts = ", ".join(f"{n} {status}" for status, n in sorted(self.outcomes.items())) or "nothing to match"
        known = f", {self.known_entries} already known" if self.known_entries else ""
        return (f"{self.filename}: {self.statements} statement(s) for {', '.join(self.tenants)}: "
                f"{self.new_entries} new entr{'y' if self.new_entries == 1 else 'ies'}{known}; {counts}")


def entry_key(iban: str, bank_reference: str, booking_date: str, amount: str) -> str:
    return f"{iban}|{bank_reference}|{booking_date}|{amount}"


def import_statement(settings: Settings, who: Actor, data: bytes, filename: str,
                     clock: Clock | None = None, counted: Counted | None = None) -> ImportResult:
    """Store the statement file and its new entries, and match them (applied, queued for review, or unmatched);
    ``counted`` is told how many new entries of each statement are matched so far."""
    require(who, "finance")
    now = (clock or SystemClock()).now()
    digest = hashlib.sha256(data).hexdigest()
    result = ImportResult(filename, digest)
    try:
        statements = parse_statements(data)
    except StatementError as exc:
        raise ValidationFailed(f"{filename}: {exc}") from None
    tenants = [_tenant_of(settings, who, filename, statement) for statement in statements]
    policy = policy_of(settings)
    outcomes: Counter[str] = Counter()
    with UnitOfWork(engine_for(settings), write=True) as uow:
        confirm(uow, who)
        if uow.payments.statement_by_hash(digest) is not None:
            result.already_imported = True
            return result
        for n, (statement, code) in enumerate(zip(statements, tenants, strict=True)):
            tenant = uow.tenants.by_code(code)
            if tenant is None:
                raise NotFound(f"tenant {code!r}: not in the ledger yet; run `cspbill init`")
            keys = {e: entry_key(statement.account_iban, e.bank_reference, e.booking_date.isoformat(), str(e.amount))
                    for e in statement.entries}
            existing = uow.payments.existing_entry_keys(list(keys.values()))
            # a file holding several statements: the later ones are told apart by their position in the file
            row = BankStatement(tenant_id=tenant.id, sha256=digest if n == 0 else _nth(digest, n),
                                filename=filename[:300], format=statement.format,
                                statement_id=statement.statement_id, account_iban=statement.account_iban,
                                currency=statement.currency or tenant.currency, imported_by=who.username,
                                imported_at=now)
            uow.session.add(row)
            uow.session.flush()
            new = []
            for record, key in keys.items():
                if key in existing:
                    result.known_entries += 1
                    continue
                existing.add(key)
                new.append(BankEntry(
                    statement_id=row.id, tenant_id=tenant.id, entry_key=key,
                    bank_reference=record.bank_reference[:100], booking_date=record.booking_date,
                    amount=record.amount, currency=record.currency, payer_name=_cut(record.counterparty_name, 200),
                    payer_iban=_cut(record.counterparty_iban, 34), reference=_cut(record.reference, 40),
                    text=record.text or None, status="unmatched", score=0, proposal={}))
            row.entries = len(new)
            uow.session.add_all(new)
            uow.session.flush()
            items, hints = open_items(uow, tenant.id), known(uow, tenant.id)
            count(counted, "entries", 0, len(new))
            for done, entry in enumerate(new, start=1):
                outcomes[match(uow, entry, policy, now, items, hints)] += 1
                count(counted, "entries", done, len(new))
            uow.audit.record(who.username, "payment.import", "bank_statement", row.id, tenant.id,
                             after={"file": filename, "sha256": digest, "format": statement.format,
                                    "entries": len(new), "known": len(statement.entries) - len(new)},
                             detail=f"{statement.format} {statement.statement_id or ''} {statement.account_iban}",
                             at=now)
            result.new_entries += len(new)
        result.statements = len(statements)
        result.tenants = sorted(set(tenants))
        result.outcomes = dict(outcomes)
    return result


def _tenant_of(settings: Settings, who: Actor, filename: str, statement: Statement) -> str:
    code = settings.payments.tenant_of(statement.account_iban)
    label = f"{filename}: statement {statement.statement_id or '(no id)'}"
    if code is None:
        raise ValidationFailed(f"{label}: field Acct/Id/IBAN: account {statement.account_iban} is not configured "
                               "for any legal entity (config payments.accounts)")
    require(who, "finance", code)
    currency = settings.tenant(code).currency
    if statement.currency and statement.currency != currency:
        raise ValidationFailed(f"{label}: field Acct/Ccy: {statement.currency} is not {code}'s currency {currency}")
    for entry in statement.entries:
        if entry.currency != currency:
            raise ValidationFailed(f"{label}: entry {entry.position} ({entry.bank_reference}): field Amt/@Ccy: "
                                   f"{entry.currency} is not {code}'s currency {currency}")
    return code


def _nth(digest: str, n: int) -> str:
    return hashlib.sha256(f"{digest}:{n}".encode()).hexdigest()


def _cut(value: str | None, size: int) -> str | None:
    return value[:size] if value else None
