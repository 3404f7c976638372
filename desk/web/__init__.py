"""The web desk: server-rendered pages for the service desk, finance and operations (FastAPI + Jinja2).

Usage (``cspbill serve`` does this)::

    import uvicorn
    from config import load_config
    from desk.web.app import create_app

    settings = load_config("config.yaml")
    app = create_app(settings)          # clock=None: the system clock; tests and the demo pass a FixedClock
    uvicorn.run(app, host=settings.web.host, port=settings.web.port, proxy_headers=False)

``create_app(settings, clock=None)`` returns a FastAPI application that calls ``services`` only. People sign in with
the users of config.yaml (scrypt hashes; five failures lock the name for a while), with Microsoft Entra ID when
``auth.entra`` is configured (``/login/entra``, mapped onto ``users[].entra_username``), or, when
``web.trusted_proxy_header`` is set, through the header a reverse proxy in ``web.trusted_proxies`` adds. The cookie
holds only a ledger session's token: logging out and an administrator (``/admin/users``) revoke it for good. Cookies
are signed, HttpOnly, SameSite=Lax and Secure whenever the desk is reached over HTTPS (``web.secure_cookies`` forces
either way), keyed by the secret in the environment variable named by ``web.session_secret_env`` (a random
per-process secret when it is unset, logged as a warning: sessions then end with the process). Every answer carries
a Content-Security-Policy without inline script, ``frame-ancestors 'none'``, nosniff and ``X-Frame-Options: DENY``.
Every form carries a per-session CSRF token; a POST without it is refused with 403. Another legal entity's record
answers 404, a missing role 403. Serve it with uvicorn's own proxy-header handling off (``proxy_headers=False``).

Pages: ``/`` start, ``/customers``, ``/subscriptions`` (search), ``/subscriptions/{id}`` (timeline, NCE outlook,
mutation form; POST ``…/mutations``), ``/discrepancies`` (counts, amount at stake, filters, sorting; POST
``/discrepancies/bulk`` to acknowledge, resolve or assign the selected findings, POST ``/discrepancies/{id}/resolve``),
``/batches`` (per entity and month), ``/batches/{id}`` (totals, chart, diff, problems, discrepancies, invoices;
POST ``…/approve`` and ``…/reject``), ``/invoices/{id}`` (lines, export status; POST ``/exports/{id}/retry``),
``/lines/{id}`` (lineage), ``/operations`` (sync runs, scheduled jobs, ERP connections), ``/erp/connect/{tenant}``
and its ``/callback`` (Exact Online consent), ``/admin/users`` (administrators: people, sessions, revoke),
``GET /healthz`` (no login: database
reachable and migrations at head; 200 or 503 with JSON).
"""
