"""``denoisekit plugins``: what is installed."""

from __future__ import annotations

import shutil
import textwrap

import click

from ..plugins import PluginError, Registered, get_registry
from .common import write_json


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def plugins_command(as_json: bool) -> None:
    """List installed corruptions, restorers and architectures with their parameters."""
    try:
        found = get_registry().all()
    except PluginError as err:  # no traceback; a bad or clashing plugin is a warning and skipped, not this
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
    width = max(40, shutil.get_terminal_size((100, 24)).columns)
    click.echo("\n\n".join(describe_plugin(r, width) for r in found))


def describe_plugin(found: Registered, width: int) -> str:
    """One plugin as a block that fits ``width`` columns: kind, name and provider, then its
    description and one line per parameter (``-p name=default (type, range): help``), wrapped."""
    def wrap(text: str, indent: str) -> list[str]:
        return textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent + "    ") or [indent]

    lines = [f"{found.kind} {found.name}  [{found.provider}]"]
    if found.description:
        lines += wrap(found.description, "  ")
    for param in found.params:
        help_text = f": {param.help}" if param.help else ""
        lines += wrap(f"-p {param.describe()}{help_text}", "  ")
    return "\n".join(lines)
