"""``denoisekit plugins``: what is installed."""

from __future__ import annotations

import click

from ..plugins import PluginError, get_registry
from .common import echo_table, write_json


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def plugins_command(as_json: bool) -> None:
    """List installed corruptions, restorers and architectures with their parameters."""
    try:
        found = get_registry().all()
    except PluginError as err:  # e.g. two plugins registering one name: say so, no traceback
        raise click.ClickException(str(err)) from None
    if as_json:
        write_json(
            [
                {"kind": r.kind, "name": r.name, "provider": r.provider, "description": r.description,
                 "params": [p.to_json() for p in r.params]}
                for r in found
            ],
            "-",
        )
        return
    rows = [[r.kind, r.name, r.provider, r.description, "; ".join(p.describe() for p in r.params)] for r in found]
    echo_table(["kind", "name", "provider", "description", "parameters"], rows)
