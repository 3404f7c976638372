"""Vendor JSON as cspbill reads it: numbers as ``Decimal``, and unpaired surrogates marked on the record holding them.

Why the marking: JSON may carry ``\\ud800`` escapes that pair with nothing. Python decodes them into strings that are
not text (no UTF-8 form), so the first write of such a record fails deep in the database driver (SQLite and
psycopg refuse to encode it; PostgreSQL's ``json`` type refuses the escape) and takes the whole source's night with
it, without saying which record. Bodies without a surrogate escape (all but a handful) are decoded as they are; in
the others every object that holds such a string, at any depth, comes back as an :class:`Unpaired` dict naming the
path of the first one, so ``FieldReader`` reports that record as malformed, naming the field, and keeps the rest.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from connectors.errors import storable

_ESCAPE = r"\\u[dD][89a-fA-F]"  # a surrogate escape, paired or not (emoji come as pairs): the rare bodies walked
_ESCAPE_IN_BYTES, _ESCAPE_IN_TEXT = re.compile(_ESCAPE.encode("ascii")), re.compile(_ESCAPE)


class Unpaired(dict):
    """A JSON object holding an unpaired surrogate at ``path`` (relative to the object, like ``products[0].name``)."""

    path: str


def load_json(body: bytes | str) -> Any:
    """``body`` decoded with ``Decimal`` numbers; objects holding unpaired surrogates marked :class:`Unpaired`.
    Raises ``ValueError`` for text that is not JSON, like ``json.loads``."""
    value = json.loads(body, parse_float=Decimal)
    escape = _ESCAPE_IN_TEXT if isinstance(body, str) else _ESCAPE_IN_BYTES
    if escape.search(body) is None:  # type: ignore[arg-type]
        return value
    return _marked(value)[0]


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _marked(value: Any) -> tuple[Any, str | None]:
    """``value`` with every object holding an unpaired surrogate made :class:`Unpaired`, and the path of the first
    one below ``value`` (``""``: ``value`` itself is such a string; ``None``: there is none)."""
    if isinstance(value, str):
        return value, (None if _is_text(value) else "")
    if isinstance(value, list):
        found: str | None = None
        items = []
        for index, item in enumerate(value):
            item, path = _marked(item)
            items.append(item)
            if found is None and path is not None:
                found = _joined(f"[{index}]", path)
        return items, found
    if isinstance(value, dict):
        first: str | None = None
        pairs = {}
        for key, item in value.items():
            item, path = _marked(item)
            pairs[key] = item
            if first is None and (path is not None or not _is_text(key)):
                first = _joined(storable(key), path or "")
        if first is None:
            return pairs, None
        marked = Unpaired(pairs)
        marked.path = first
        return marked, first
    return value, None


def _joined(step: str, below: str) -> str:
    """The path of ``below`` (relative to a key or list index) seen from the object holding ``step``."""
    return step + (below if not below or below.startswith("[") else f".{below}")
