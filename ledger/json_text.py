"""JSON text written with encoders built once: what the ledger stores in its JSON columns and hashes.

Why: ``json.dumps`` (``JSONEncoder.encode``) builds its C encoder on every call, about half of a small value's cost.
A first night encodes a payload per snapshot and a build a lineage per invoice line, a million of each at scale, so
both encoders are built here once. Neither looks for reference cycles: the values are parsed JSON and records' plain
values, which hold none.
"""

from __future__ import annotations

import json
from json.encoder import c_make_encoder, encode_basestring_ascii
from typing import Any

# sorted keys, compact separators, ASCII escapes, anything else as ``str``: a vendor payload's canonical text
_PAYLOAD = c_make_encoder(None, str, encode_basestring_ascii, None, ":", ",", True, False, True)
# ``json.dumps``'s defaults: ", " and ": ", keys in their order, ASCII escapes, anything else refused (TypeError)
_PLAIN = c_make_encoder(None, json.JSONEncoder().default, encode_basestring_ascii, None, ": ", ", ", False, False,
                        True)


def payload_text(raw: dict[str, Any]) -> str:
    """The canonical JSON text of a payload (sorted keys, decimals as text): what is hashed, and stored in bulk."""
    return "".join(_PAYLOAD(raw, 0))


def json_text(value: Any) -> str:
    """``json.dumps(value)``, the same text: the serialiser of the ledger's JSON columns (``ledger.db``)."""
    return "".join(_PLAIN(value, 0))
