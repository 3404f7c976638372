"""`cspbill rate`: rate one case file (rating-cases format) and print the JSON result."""

from __future__ import annotations

import json

import typer

from services.batches import rate_case_file


def register(app: typer.Typer) -> None:
    @app.command("rate", help="Rate one case file (rating-cases format) and print the JSON result.")
    def rate_command(case: str = typer.Argument(..., metavar="CASE.json", help="The case file to rate.")) -> None:
        # The whole result is computed before anything is printed: an invalid case prints one error line only.
        result = rate_case_file(case)
        typer.echo(json.dumps(result, indent=2, ensure_ascii=False))
