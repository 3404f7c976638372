"""A batch's export page: the dry-run preview of what the ERP receives per invoice, "Export all" and "Retry all
failed" as background jobs of the web process, and the progress read back from the outbox.

Why the progress comes from the outbox and not from the job: the outbox is what the CLI, the scheduler and a second
browser change too, so the page shows the truth whoever sends. While a job of this process runs, the page asks the
browser to load it again: the ``Refresh`` response header, which needs no JavaScript and is handled exactly like
``<meta http-equiv="refresh">`` (https://developer.mozilla.org/docs/Web/HTTP/Headers/Refresh), so the shared
base.html needs no head block for it.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from desk.web.auth import current_actor
from desk.web.background import BackgroundJobs
from desk.web.render import flash, render
from services.access import Actor, require
from services.batches import batch_tenant
from services.errors import ValidationFailed
from services.export import batch_export, export_invoices

router = APIRouter()

REFRESH_SECONDS = 2


def jobs(request: Request) -> BackgroundJobs:
    return request.app.state.background_jobs


@router.get("/batches/{batch_id}/export", response_class=HTMLResponse)
def export_page(request: Request, batch_id: int, after: str | None = None, before: str | None = None,
                who: Actor = Depends(current_actor)) -> HTMLResponse:
    """One window of the batch's invoices by key (``?after=KEY``, ``?before=KEY``, ``?before=`` the last), the
    progress of the whole batch, and the ERP preview of the invoices shown."""
    settings = request.app.state.settings
    job = jobs(request).get(("export", batch_id))
    running = job is not None and job.running
    problem = None
    try:  # the preview looks the window's unsent invoices up in the ERP: not while a run sends them
        view = batch_export(settings, who, batch_id, preview=not running and who.has_role("export"), after=after,
                            before=before)
    except ValidationFailed as exc:
        view, problem = batch_export(settings, who, batch_id, after=after, before=before), str(exc)
    response = render(request, "batch_export.html", who=who, view=view, counts=view.counts(), job=job,
                      running=running, problem=problem, can_export=who.has_role("export") and view.exportable,
                      refresh=REFRESH_SECONDS)
    if running:
        response.headers["Refresh"] = str(REFRESH_SECONDS)
    return response


def _start(request: Request, batch_id: int, who: Actor, retry_failed: bool) -> RedirectResponse:
    """Start the batch's export through the export service (which confirms the session and claims each row)."""
    settings, clock = request.app.state.settings, request.app.state.clock
    tenant, month = batch_tenant(settings, who, batch_id)
    require(who, "export", tenant)
    label = f"export {tenant} {month}" + (" (retry failed)" if retry_failed else "")

    def work() -> None:
        export_invoices(settings, who, tenant, batch=batch_id, retry_failed=retry_failed, clock=clock)

    if jobs(request).start(("export", batch_id), label, who.username, work):
        flash(request, f"Export of batch {tenant} {month} started" + (" (failed ones again)" if retry_failed else "")
              + ".", "success")
    else:
        flash(request, f"An export of batch {tenant} {month} is already running.", "info")
    return RedirectResponse(f"/batches/{batch_id}/export", status_code=303)


@router.post("/batches/{batch_id}/export")
def export_all(request: Request, batch_id: int, who: Actor = Depends(current_actor)) -> RedirectResponse:
    return _start(request, batch_id, who, retry_failed=False)


@router.post("/batches/{batch_id}/export/retry-failed")
def retry_failed(request: Request, batch_id: int, who: Actor = Depends(current_actor)) -> RedirectResponse:
    return _start(request, batch_id, who, retry_failed=True)
