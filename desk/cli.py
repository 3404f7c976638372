"""The ``cspbill`` command line: a thin Typer shell over ``services``.

Every command loads the config once (``--config``, ``$CSPBILL_CONFIG`` or ./config.yaml), calls one service and
prints the result. Expected failures (``services.errors.UserFacingError`` and config errors) print one line naming
the record and field and exit non-zero; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import importlib
import logging
import sys

import typer

from desk.context import CliState, print_error
from services.errors import UserFacingError

COMMAND_MODULES = (
    "init",
    "sync",
    "fx",
    "customer",
    "reconcile",
    "mutation",
    "rate",
    "batch",
    "export",
    "einvoice",
    "audit",
    "jobs",
    "serve",
    "demo",
    "sandbox",
)

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
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """Global options shared by every command."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    ctx.obj = CliState(config_path=config)


for _name in COMMAND_MODULES:
    importlib.import_module(f"desk.commands.{_name}").register(app)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except UserFacingError as exc:
        print_error(str(exc))
        sys.exit(1)


if __name__ == "__main__":
    main()
