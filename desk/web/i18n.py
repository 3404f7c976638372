"""The desk's language: English, Dutch or German, chosen per request, with Babel's message catalogs.

Why the choice in this order: a person who picked a language with the header's switch keeps it for the session;
otherwise their ``users[].language`` from config.yaml; otherwise the browser's ``Accept-Language``; otherwise
English, the language the templates are written in.

Why the catalogs are compiled when first used rather than committed as ``.mo`` files: the ``.po`` files in
``desk/web/locale`` are the one source (reviewable text), and a fresh checkout (``make run``) needs no build step.
Strings are extracted with ``pybabel extract -F desk/web/babel.cfg -o desk/web/locale/messages.pot desk/web`` and
merged with ``pybabel update -i desk/web/locale/messages.pot -d desk/web/locale``.
"""

from __future__ import annotations

import gettext as gnu
from contextvars import ContextVar
from functools import cache
from io import BytesIO
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from fastapi import Request
from jinja2 import Environment

from config import Settings

LANGUAGES = {"en": "English", "nl": "Nederlands", "de": "Deutsch"}
DEFAULT = "en"
SESSION_KEY = "language"
LOCALE_DIR = Path(__file__).with_name("locale")

current: ContextVar[str] = ContextVar("desk_language", default=DEFAULT)


@cache
def translations(language: str) -> gnu.NullTranslations:
    """The compiled catalog of ``language`` (English: the templates' own text)."""
    source = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if language == DEFAULT or not source.exists():
        return gnu.NullTranslations()
    with source.open("rb") as po:
        catalog = read_po(po, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def gettext(message: str) -> str:
    return translations(current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current.get()).ngettext(singular, plural, n)


def from_header(header: str) -> str | None:
    """The best of ``LANGUAGES`` for an ``Accept-Language`` header (RFC 9110 §12.5.4: weights by ``q``)."""
    wanted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and weight > 0:
            wanted.append((-weight, position, tag.strip()))
    for _, _, tag in sorted(wanted):
        try:
            language = Locale.parse(tag, sep="-").language if tag != "*" else None
        except (ValueError, UnknownLocaleError):
            continue
        if language in LANGUAGES:
            return language
    return None


def choose(request: Request, settings: Settings, username: str | None) -> str:
    """The language of this request: session switch, then the person's config, then the browser, then English."""
    chosen = request.session.get(SESSION_KEY)
    if chosen in LANGUAGES:
        return chosen
    configured = next((u.language for u in settings.users if u.username == username), None)
    return configured or from_header(request.headers.get("accept-language", "")) or DEFAULT


def install(env: Environment) -> None:
    """``{% trans %}`` and ``_()`` in every template, in the language of the request being rendered."""
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
