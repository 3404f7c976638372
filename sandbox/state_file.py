"""A sandbox's state on disk, so an ERP stand-in "remembers" its documents between two CLI runs of the demo.

Why separate from the server: only the ERP sandboxes (BC SOAP, BC REST, Exact Online) keep files; the encoding
(Decimals kept exact, dates in ISO form) is the sandbox's one JSON encoder from ``sandbox.core``.
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

from sandbox.core import json_default


class StateFile:
    """A sandbox's in-memory state mirrored to one JSON file, so an ERP "remembers" between two CLI runs.

    Written atomically (temp file, fsync, rename): a demo killed mid-write keeps the previous state. Decimals are
    stored as strings and come back as ``Decimal``.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def load(self) -> Any:
        if not self.path.exists():
            return None
        return json.loads(self.path.read_text("utf-8"), parse_float=Decimal,
                          object_hook=lambda obj: {k: _revive(v) for k, v in obj.items()})

    def save(self, state: Any) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_name(self.path.name + ".tmp")
        with temp.open("w", encoding="utf-8") as handle:
            json.dump(state, handle, default=lambda v: {"__decimal__": str(v)} if isinstance(v, Decimal)
                      else json_default(v))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, self.path)


def _revive(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"__decimal__"}:
        return Decimal(value["__decimal__"])
    return value
