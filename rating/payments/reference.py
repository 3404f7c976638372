"""The ISO 11649 structured creditor reference ("RF" + two check digits + up to 21 letters or digits) of an invoice.

Why derived, not stored: the reference is a pure function of the invoice number, so the invoice page, the PDF, the
e-invoice's payment means and the matcher all compute the same string and no column can drift from the number. The
legal entity is not part of the reference: a statement is booked on one legal entity's account, and invoice numbers
are unique within a legal entity, so the number alone identifies the invoice where the payment arrives. A number
longer than 21 letters and digits (a configurable pattern can make one) is shortened to a base-36 digest, which stays
deterministic; the matcher compares references, it never parses the number back out of one.
"""

from __future__ import annotations

import functools
import hashlib
import re

from stdnum.iso7064 import mod_97_10
from stdnum.iso11649 import is_valid

BODY_MAX = 21  # ISO 11649: at most 21 characters after "RF" and the check digits
_NOT_ALNUM = re.compile(r"[^0-9A-Z]")
_DIGITS36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
REFERENCE_IN_TEXT = re.compile(r"RF\s?\d{2}(?:\s?[0-9A-Z]){1,21}")


@functools.lru_cache(maxsize=65536)  # the matcher asks for every open item's reference for every entry
def creditor_reference(invoice_number: str) -> str:
    """The RF reference of ``invoice_number`` (compact, no spaces), e.g. ``NL2026-00012`` -> ``RF..NL202600012``."""
    body = _NOT_ALNUM.sub("", invoice_number.upper())
    if not body:
        raise ValueError(f"invoice number {invoice_number!r}: no letters or digits to build a creditor reference")
    if len(body) > BODY_MAX:
        body = _base36(hashlib.sha256(invoice_number.encode()).digest())[:BODY_MAX]
    return f"RF{mod_97_10.calc_check_digits(body + 'RF')}{body}"


def printed(reference: str) -> str:
    """The reference in groups of four, as ISO 11649 recommends for print (``RF18 5390 0754 7034``)."""
    return " ".join(reference[i:i + 4] for i in range(0, len(reference), 4))


def references_in(text: str) -> list[str]:
    """Every valid RF reference found in free text (spaces inside allowed), compact, in order of appearance."""
    found = []
    for match in REFERENCE_IN_TEXT.finditer(text.upper()):
        candidate = match.group(0).replace(" ", "")
        # a greedy match may have swallowed the next word: shorten until the check digits agree
        while len(candidate) > 5 and not is_valid(candidate):
            candidate = candidate[:-1]
        if is_valid(candidate):
            found.append(candidate)
    return found


def _base36(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, rest = divmod(number, 36)
        digits.append(_DIGITS36[rest])
    return "".join(reversed(digits)) or "0"
