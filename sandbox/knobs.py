"""Knob helpers that shape a misbehaving vendor answer: a per-minute quota, a truncated page, a corrupted record.

Why shared: the same knobs (``broken_page``, ``malformed``, rate limits) are armed on several vendors' sandboxes
(Pax8, Ingram CMP, Partner Center, Cost Management); each vendor decides where they apply and in which error shape.
"""

from __future__ import annotations

import json
import threading
import time
from decimal import Decimal
from typing import Any

from sandbox.core import Fault, Response


class RateWindow:
    """At most ``limit`` calls per rolling minute of real time; the answer to "may this call pass?".

    Real time, not the sandbox clock: tests freeze the clock at a night, but a quota is about wall-clock bursts.
    """

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self._stamps: list[float] = []
        self._lock = threading.Lock()

    def admit(self) -> float:
        """0 when the call may pass, else the seconds until a slot frees up."""
        with self._lock:
            now = time.monotonic()
            self._stamps = [stamp for stamp in self._stamps if now - stamp < 60.0]
            if self.limit is not None and len(self._stamps) >= self.limit:
                return max(0.001, 60.0 - (now - self._stamps[0]))
            self._stamps.append(now)
            return 0.0


def broken_json(body: Any) -> Response:
    """A 200 whose JSON body stops halfway, as a proxy cutting a page does (knob ``broken_page``)."""
    payload, content_type = Response(body=body).encode()
    return Response(200, payload[: max(1, len(payload) // 2)], content_type=content_type)


def corrupt(records: list[dict[str, Any]], fault: Fault) -> list[dict[str, Any]]:
    """Copies of ``records`` with one field of one record replaced (knob ``malformed``).

    ``fault.body`` may name ``{"index": 0, "field": "quantity", "value": "twelve"}``; a dotted field walks into
    nested objects (``unitCost.amount``), a ``products.0.quantity`` path into lists.
    """
    spec = {"index": 0, "field": "quantity", "value": "not-a-number", **(fault.body or {})}
    out = [json.loads(Response(body=record).encode()[0], parse_float=Decimal) for record in records]
    if not out:
        return out
    target: Any = out[min(int(spec["index"]), len(out) - 1)]
    *parents, last = str(spec["field"]).split(".")
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if isinstance(target, list):
        target[int(last)] = spec["value"]
    else:
        target[last] = spec["value"]
    return out
