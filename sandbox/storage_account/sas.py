"""Service SAS for a blob container: how a token is signed and how the storage sandbox checks one.

Why apart: the sandbox checks what a client presents, and the demo (and tests) need a valid container URL to hand
to the connector; both use the documented service-SAS string-to-sign (version 2020-12-06 and later: ``sp``,
``st``, ``se``, canonicalized resource ``/blob/{account}/{container}``, ``si``, ``sip``, ``spr``, ``sv``, ``sr``,
snapshot time, ``ses``, then the five response-header overrides), HMAC-SHA256 with the account key, base64.
https://learn.microsoft.com/en-us/rest/api/storageservices/create-service-sas
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from urllib.parse import urlencode

VERSION = "2022-11-02"
_SIGNED = ("sp", "st", "se", "", "si", "sip", "spr", "sv", "sr", "sst", "ses", "rscc", "rscd", "rsce", "rscl", "rsct")


def signature(key: str, account: str, container: str, fields: dict[str, str]) -> str:
    """The ``sig`` of a container-level service SAS with these query fields."""
    resource = f"/blob/{account}/{container}"
    lines = [resource if name == "" else fields.get(name, "") for name in _SIGNED]
    digest = hmac.new(base64.b64decode(key), "\n".join(lines).encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def container_token(key: str, account: str, container: str, expiry: dt.datetime, permissions: str = "rl") -> str:
    """A read/list SAS token for the container, valid until ``expiry`` (UTC)."""
    fields = {"sp": permissions, "se": expiry.strftime("%Y-%m-%dT%H:%M:%SZ"), "spr": "https", "sv": VERSION,
              "sr": "c"}
    return urlencode({**fields, "sig": signature(key, account, container, fields)})


def check(key: str, account: str, container: str, query: dict[str, str], now: dt.datetime,
          permission: str) -> tuple[str, str] | None:
    """(error code, detail) of why the SAS in ``query`` does not allow ``permission`` on the container now, or
    ``None`` when it does."""
    failed = "AuthenticationFailed"
    if "sig" not in query or "se" not in query or "sv" not in query:
        return failed, "Signature fields not well formed."
    if query.get("sr") not in ("c", "b"):
        return failed, "Signed resource type is not supported."
    if not hmac.compare_digest(query["sig"], signature(key, account, container, query)):
        return failed, "Signature did not match."
    try:
        expiry = dt.datetime.fromisoformat(query["se"].replace("Z", "+00:00"))
        start = dt.datetime.fromisoformat(query["st"].replace("Z", "+00:00")) if query.get("st") else None
    except ValueError:
        return failed, "Signed expiry time is not a valid date."
    if expiry.tzinfo is None or now >= expiry or (start is not None and now < start):
        return failed, f"Signed expiry time [{query['se']}] has to be after signed start time and current time"
    if permission not in query.get("sp", ""):
        return "AuthorizationPermissionMismatch", ("This request is not authorized to perform this operation using "
                                                   "this permission.")
    return None
