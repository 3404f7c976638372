"""The two ways the services hand out long lists, so every list of the web desk and CLI pages the same way.

- ``Page``: a window by offset with "is there more" (one extra row fetched), for lists that grow without bound
  (customers, subscriptions, discrepancies, job runs): no COUNT over a large table.
- ``NumberedPage``: page N of M with the total, for lists counted cheaply on an indexed column (batches, a batch's
  invoices), where finance wants to know how many there are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")
MAX_LIMIT = 200  # rows of one offset window
MAX_PER_PAGE = 500  # rows of one numbered page


@dataclass(frozen=True)
class Page(Generic[T]):
    """One window of a list: its rows and whether there are more after it."""

    items: list[T]
    offset: int
    limit: int
    has_more: bool

    @property
    def next_offset(self) -> int | None:
        return self.offset + self.limit if self.has_more else None

    @property
    def previous_offset(self) -> int | None:
        return max(self.offset - self.limit, 0) if self.offset else None


def bounds(offset: int, limit: int) -> tuple[int, int]:
    """A requested window clamped to sane values (no negative offset, 1..``MAX_LIMIT`` rows)."""
    return max(offset, 0), min(max(limit, 1), MAX_LIMIT)


def page_of(rows: Sequence[Any], offset: int, limit: int, convert: Callable[[Any], T]) -> Page[T]:
    """A window from ``limit + 1`` fetched rows: the extra row only says that there is a next window."""
    return Page([convert(row) for row in rows[:limit]], offset, limit, len(rows) > limit)


@dataclass(frozen=True)
class NumberedPage:
    """One numbered page of a list, with the total count."""

    items: list[dict[str, Any]]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def page_number(page: int, per_page: int) -> tuple[int, int]:
    """A requested page clamped to sane values (page 1 at least, 1..``MAX_PER_PAGE`` rows)."""
    return max(page, 1), min(max(per_page, 1), MAX_PER_PAGE)
