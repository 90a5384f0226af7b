"""Options and helpers shared by the subcommands."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import click

from ..params import ParamError, resolve_params
from ..plugins import PluginError, Registered, get_registry

if TYPE_CHECKING:  # files imports OpenCV: not at start-up of `denoisekit plugins`
    from ..files import InputSet


def require_images(inputs: InputSet, recursive: bool = True) -> None:
    """A one-line usage error (exit 2) when an input folder holds no image to process."""
    if inputs.files:
        return
    from ..images import IMAGE_SUFFIXES

    where = "in it or its subfolders" if recursive else "in it"
    n = len(inputs.skipped)
    others = f"; {n} other file{'s' if n != 1 else ''} skipped" if n else ""
    raise click.BadParameter(f"{inputs.root}: no images {where} (looked for {', '.join(IMAGE_SUFFIXES)}){others}",
                             param_hint="IN")


def param_option(func):
    """``-p key=value`` (repeatable): a parameter of the chosen plugin."""
    return click.option(
        "-p", "--param", "params", multiple=True, metavar="KEY=VALUE",
        help="Plugin parameter, repeatable (see `denoisekit plugins`).",
    )(func)


def seed_option(func):
    # 31 bits, as the noise's stateless random ops read them: 2**31 would give the noise of 0.
    return click.option("--seed", type=click.IntRange(0, 2**31 - 1), default=0, show_default=True,
                        help="Random seed (reproducible output).")(func)


def plugin_with_params(kind: str, name: str, texts: Iterable[str], option: str) -> tuple[Registered, dict[str, Any]]:
    """Look up a plugin and parse its ``-p`` values; errors become one-line usage errors."""
    try:
        found = get_registry().get(kind, name)
    except PluginError as err:
        raise click.BadParameter(str(err), param_hint=option) from None
    try:
        return found, resolve_params(found.params, list(texts), f"{kind} {name!r}")
    except ParamError as err:
        raise click.BadParameter(str(err), param_hint="-p") from None


def check_output_path(source: Path, out: Path) -> None:
    """Never make a folder of an existing file, replace one that is not an image, or write into
    the input folder (``collected_inputs`` then checks each output against the inputs)."""
    from ..files import is_inside
    from ..images import is_image_file

    if out.exists() and not out.is_dir() and (source.is_dir() or not is_image_file(out)):
        kind = "a folder input needs a folder" if source.is_dir() else "give a folder or an image file name"
        raise click.BadParameter(f"{out} is an existing file: {kind}", param_hint="OUT")
    if source.is_dir() and is_inside(out, source):
        raise click.BadParameter(f"{out} lies inside the input folder {source}; choose another output", param_hint="OUT")


def collected_inputs(source: Path, out: Path, recursive: bool) -> InputSet:
    """The images under ``source`` (usage errors: none there, or an output that would replace an
    input or land among them)."""
    from ..files import collect_inputs, refuse_outputs_in_input

    inputs = collect_inputs(source, recursive)
    require_images(inputs, recursive)
    try:
        refuse_outputs_in_input(inputs, out)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="OUT") from None
    return inputs


def write_json(data: Any, path: str | Path | None) -> None:
    """JSON to a file, or to stdout when ``path`` is ``-``."""
    text = json.dumps(_finite(data), indent=2, default=_json_default)
    if path is None or str(path) == "-":  # click gives Path("-") for a dash
        click.echo(text)
    else:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text + "\n")


def _finite(value: Any) -> Any:
    """Standard JSON has no Infinity/NaN (identical images score inf dB): write null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def echo_table(headers: list[str], rows: list[list[Any]], file=None) -> None:
    """A plain aligned text table."""
    texts = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in texts]) for i, h in enumerate(headers)]
    out = file or sys.stdout
    click.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip(), file=out)
    click.echo("  ".join("-" * w for w in widths), file=out)
    for row in texts:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip(), file=out)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 2 else f"{value:.2f}"
    return str(value)
