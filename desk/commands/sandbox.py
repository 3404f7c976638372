"""`cspbill sandbox`: run every vendor sandbox in the foreground and print their base URLs."""

from __future__ import annotations

from pathlib import Path

import typer

from services.demo import serve_forever


def register(app: typer.Typer) -> None:
    @app.command("sandbox", help="Run every vendor sandbox in the foreground and print their base URLs.")
    def sandbox_command(
        state_dir: Path = typer.Option(Path("var/sandbox"), help="Where the sandbox CA and state files live."),
        seed: int = typer.Option(1, help="Scenario seed: the same seed gives the same customers and usage."),
        fixed_ports: bool = typer.Option(
            True, "--fixed-ports/--free-ports", help="Use the ports config.yaml expects, or let the OS choose."
        ),
    ) -> None:
        """Start the sandboxes on 127.0.0.1 over TLS and keep them running until Ctrl-C."""
        try:
            serve_forever(state_dir, seed, fixed_ports, typer.echo)
        except KeyboardInterrupt:
            typer.echo("sandboxes stopped")
