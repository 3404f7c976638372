"""The two ways the services hand out long lists, so every list of the web desk and CLI pages the same way.

- ``Page``: a window by offset with "is there more" (one extra row fetched), for lists that grow without bound
  (customers, subscriptions, discrepancies, job runs): no COUNT over a large table.
- ``NumberedPage``: page N of M with the total, for lists counted cheaply on an indexed column (batches), where
  finance wants to know how many there are.
- ``KeyPage``: a window by key (keyset paging) with the total, for long ordered lists (a batch's invoices, up to
  hundreds of thousands): "next" and "previous" carry the last and first key of the page, so the database seeks the
  key in an index instead of counting off every row before the page, and the last page costs what the first does.
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


@dataclass(frozen=True)
class KeyPage:
    """One window of a list ordered by a unique key, with the total count.

    ``has_previous`` / ``has_next``: whether rows come before the first / after the last item; ``key`` names the
    items' key field. The next window is asked for with ``after=next_after``, the previous one with
    ``before=previous_before``; ``before=""`` (``LAST``) asks for the last window.
    """

    items: list[dict[str, Any]]
    total: int
    per_page: int
    has_previous: bool
    has_next: bool
    key: str

    @property
    def next_after(self) -> str | None:
        """``after`` of the next window (an empty window with rows after it: ``FIRST``)."""
        if not self.has_next:
            return None
        return self.items[-1][self.key] if self.items else FIRST

    @property
    def previous_before(self) -> str | None:
        """``before`` of the previous window (an empty window with rows before it: ``LAST``)."""
        if not self.has_previous:
            return None
        return self.items[0][self.key] if self.items else LAST


FIRST = ""  # ``after=FIRST``: the first window of a keyset-paged list (every key sorts after the empty string)
LAST = ""  # ``before=LAST``: the last window


def per_page_bounds(per_page: int) -> int:
    """A requested window size clamped to 1..``MAX_PER_PAGE`` rows."""
    return min(max(per_page, 1), MAX_PER_PAGE)
