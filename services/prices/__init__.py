"""The price book's use cases: import rules and Microsoft's price list as editions, reprice on purpose, read the book.

``rating.pricing`` owns the rules of resolution; :mod:`~services.prices.book` maps ledger rows into it for a build.
"""

from services.prices.book import licence, price_book, priced, rule_label
from services.prices.editions import ImportReport, import_content, import_file, reprice, sync_config
from services.prices.files import PriceFileRefused
from services.prices.views import book_view, edition_view

__all__ = [
    "ImportReport",
    "PriceFileRefused",
    "book_view",
    "edition_view",
    "import_content",
    "import_file",
    "licence",
    "price_book",
    "priced",
    "reprice",
    "rule_label",
    "sync_config",
]
