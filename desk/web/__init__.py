"""The web desk: server-rendered pages for the service desk, finance and operations (FastAPI + Jinja2).

Usage (``cspbill serve`` does this)::

    import uvicorn
    from config import load_config
    from desk.web.app import create_app

    settings = load_config("config.yaml")
    app = create_app(settings)          # clock=None: the system clock; tests and the demo pass a FixedClock
    uvicorn.run(app, host=settings.web.host, port=settings.web.port)

``create_app(settings, clock=None)`` returns a FastAPI application that calls ``services`` only. People sign in with
the users of config.yaml (scrypt hashes) or, when ``web.trusted_proxy_header`` is set, through the header a trusted
reverse proxy adds. Sessions are signed, HttpOnly, SameSite=Lax cookies (Secure when ``web.secure_cookies``), keyed
by the secret in the environment variable named by ``web.session_secret_env`` (a random per-process secret when it is
unset, logged as a warning: sessions then end with the process). Every form carries a per-session CSRF token; a POST
without it is refused with 403. Another legal entity's record answers 404, a missing role 403.

Pages: ``/`` start, ``/customers``, ``/subscriptions`` (search), ``/subscriptions/{id}`` (timeline, NCE outlook,
mutation form; POST ``…/mutations``), ``/discrepancies`` (filters; POST ``/discrepancies/{id}/resolve``),
``/batches`` (per entity and month), ``/batches/{id}`` (totals, chart, diff, problems, discrepancies, invoices;
POST ``…/approve`` and ``…/reject``), ``/invoices/{id}`` (lines, export status; POST ``/exports/{id}/retry``),
``/lines/{id}`` (lineage), ``/operations`` (sync runs, scheduled jobs), ``GET /healthz`` (no login: database
reachable and migrations at head; 200 or 503 with JSON).
"""
