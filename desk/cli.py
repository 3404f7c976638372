"""The ``cspbill`` command line: a thin Typer shell over ``services``.

Every command loads the config once (``--config``, ``$CSPBILL_CONFIG`` or ./config.yaml), calls one service and
prints the result. Expected failures (``services.errors.UserFacingError`` and config errors) print one line naming
the record and field and exit non-zero with the code ``desk.exit_codes`` gives them (configuration problems have
their own); anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

import typer

from config.schema import MissingSecret
from desk.context import CliState, print_error
from desk.exit_codes import ExitCode
from desk.logs import configure_logging
from services.errors import Misconfigured, UserFacingError

COMMAND_MODULES = (
    "init",
    "login",
    "logout",
    "whoami",
    "users",
    "sync",
    "fx",
    "customer",
    "reconcile",
    "discrepancies",
    "mutation",
    "provision",
    "rate",
    "prices",
    "batch",
    "export",
    "payments",
    "report",
    "erp",
    "einvoice",
    "deliver",
    "notify",
    "archive",
    "audit",
    "jobs",
    "serve",
    "demo",
    "sandbox",
)

MODULE_OF = {"logout": "login", "whoami": "login"}  # commands that share a module with a sibling

app = typer.Typer(
    name="cspbill",
    help="Billing connector for Microsoft CSP resellers: sync licences, prorate, build, approve and export invoices.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"cspbill {version('cspbill')}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: str = typer.Option(None, "--config", "-c", envvar="CSPBILL_CONFIG", help="Path to config.yaml."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log requests and progress details."),
    log_json: bool = typer.Option(False, "--log-json", envvar="CSPBILL_LOG_JSON",
                                  help="Log one JSON object per line (for journald or a log collector)."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """Global options shared by every command."""
    configure_logging(verbose, log_json)
    ctx.obj = CliState(config_path=config)


def command_named(argv: Sequence[str]) -> str | None:
    """The command a command line asks for: the first word after the global options (``None``: none given)."""
    words = iter(argv)
    for word in words:
        if word in ("--config", "-c"):
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def register(names: Sequence[str] = COMMAND_MODULES) -> typer.Typer:
    """Register the commands of ``names`` (each module registers the command of its name) on the app."""
    for module in dict.fromkeys(MODULE_OF.get(name, name) for name in names):
        importlib.import_module(f"desk.commands.{module}").register(app)
    return app


def main() -> None:
    """Console-script entry point. Only the command asked for is loaded (a command's module brings its services:
    pandas, zeep, weasyprint ...); the overall help and unknown commands load them all, so every name is listed."""
    wanted = command_named(sys.argv[1:])
    if wanted in COMMAND_MODULES:
        register([wanted])
    elif "--version" not in sys.argv[1:]:
        register()
    try:
        app()
    except (Misconfigured, MissingSecret) as exc:
        print_error(str(exc))
        sys.exit(ExitCode.CONFIG)
    except UserFacingError as exc:
        print_error(str(exc))
        sys.exit(ExitCode.ERROR)


if __name__ == "__main__":
    main()
