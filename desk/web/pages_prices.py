"""The finance price page: the rules in force, the editions of the price book, importing a price file and repricing.

Why its own page: prices change what every later invoice says, so finance sees the book exactly as the next build
reads it (``services.prices``) and changes it only by importing a file (all or nothing) or an explicit, reasoned
reprice; nothing here edits a price in place.
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse

from desk.web.auth import current_actor
from desk.web.render import flash, render
from services.access import Actor, require
from services.errors import NotAllowed, NotFound, ValidationFailed
from services.prices import book_view, edition_view, import_content, reprice

router = APIRouter()
MAX_UPLOAD = 50 * 1024 * 1024  # Microsoft's full licence price list is a few MB


@router.get("/prices", response_class=HTMLResponse)
def prices(request: Request, tenant: str = "", on: str = "", who: Actor = Depends(current_actor)) -> HTMLResponse:
    require(who, "finance")
    settings = request.app.state.settings
    day = None
    if on:
        try:
            day = dt.date.fromisoformat(on)
        except ValueError:
            flash(request, f"Date {on!r}: not a date like 2026-11-01.", "error")
    view = book_view(settings, who, tenant or None, day)
    return render(request, "prices.html", who=who, view=view, tenant=tenant, on=on,
                  visible=who.visible_tenants(settings))


@router.get("/prices/editions/{edition}", response_class=HTMLResponse)
def edition(request: Request, edition: int, who: Actor = Depends(current_actor)) -> HTMLResponse:
    require(who, "finance")
    return render(request, "price_edition.html", who=who,
                  e=edition_view(request.app.state.settings, edition, who))


@router.post("/prices/import")
async def import_prices(request: Request, file: UploadFile = File(...), kind: str = Form(""),
                        who: Actor = Depends(current_actor)) -> RedirectResponse:
    """Import an uploaded price file; every problem (file, line, field) is shown and nothing is stored."""
    require(who, "finance")
    content = await file.read(MAX_UPLOAD + 1)
    if len(content) > MAX_UPLOAD:
        flash(request, f"{file.filename}: larger than {MAX_UPLOAD // (1024 * 1024)} MB; import it with "
                       f"`cspbill prices import`.", "error")
        return RedirectResponse("/prices", status_code=303)
    try:
        report = import_content(request.app.state.settings, file.filename or "upload.csv", content, who,
                                kind or None)
        verb = "imported as" if report.created else "was already imported as"
        flash(request, f"{report.source}: {report.rows} {report.kind} row(s) {verb} edition {report.edition}.",
              "success")
    except (ValidationFailed, NotAllowed) as exc:
        flash(request, str(exc), "error")
    return RedirectResponse("/prices", status_code=303)


@router.post("/prices/reprice")
def reprice_past(request: Request, start: str = Form(""), reason: str = Form(""), tenant: str = Form(""),
                 who: Actor = Depends(current_actor)) -> RedirectResponse:
    """Record an explicit reprice; the next build of an open month corrects the invoiced periods from ``start``."""
    require(who, "finance")
    try:
        day = dt.date.fromisoformat(start)
    except ValueError:
        flash(request, f"Reprice from {start!r}: not a date like 2026-11-01.", "error")
        return RedirectResponse("/prices", status_code=303)
    try:
        report = reprice(request.app.state.settings, tenant or None, day, reason, who,
                         request.app.state.clock)
        flash(request, f"Reprice recorded as edition {report.edition}: the next build corrects invoiced periods "
                       f"of {tenant or 'every legal entity'} from {day.isoformat()}.", "success")
    except (ValidationFailed, NotAllowed, NotFound) as exc:
        flash(request, str(exc), "error")
    return RedirectResponse("/prices", status_code=303)
