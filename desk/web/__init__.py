"""The web desk: server-rendered pages for the service desk, finance and operations (FastAPI + Jinja2).

Usage::

    from config import load_config
    from desk.web.app import create_app

    app = create_app(load_config("config.yaml"))          # clock defaults to the system clock
    uvicorn.run(app, host=settings.web.host, port=settings.web.port)

``create_app(settings, clock=None)`` returns a FastAPI application that calls ``services`` only. People sign in with
the users of config.yaml (scrypt hashes) or, when ``web.trusted_proxy_header`` is set, through the header a trusted
reverse proxy adds. Sessions are signed, HttpOnly, SameSite=Lax cookies (Secure when ``web.secure_cookies``), keyed
by the secret in the environment variable named by ``web.session_secret_env`` (a random per-process secret when it is
unset: sessions then end with the process). Every form carries a per-session CSRF token; a POST without it is
refused with 403. ``GET /healthz`` (no login) reports whether the ledger is reachable and migrated to head.
"""
