"""Run an image -> image transform over a set of input files, safely.

Shared by ``corrupt`` and ``clean``: progress on stderr, outputs mirrored and
written atomically (TIFF stacks too, page by page), existing outputs kept unless overwriting was asked for (so a
second run resumes), and one bad file reported without stopping the others.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import click

from .files import InputSet, output_path
from .images import Image, ImageReadError, read_image, write_image
from .plugins import PluginCallError
from .stacks import is_stack

Transform = Callable[[Path, Image], tuple[Image, dict[str, Any]]]
#: A TIFF stack's work: (relative path, source, target) -> info; it writes the target itself.
StackTransform = Callable[[Path, Path, Path], dict[str, Any]]


@dataclass
class FileResult:
    """What happened to one input file."""

    rel: Path
    target: Path
    status: str  # "written", "exists" (kept, not overwritten) or "failed"
    error: str | None = None
    info: dict[str, Any] = field(default_factory=dict)


def process_files(
    inputs: InputSet, out: Path, transform: Transform, overwrite: bool = False,
    label: str = "Processing", show_progress: bool = True, stack: StackTransform | None = None,
    whole: Callable[[Path], bool] = is_stack,
) -> list[FileResult]:
    """Apply ``transform(rel, image) -> (image, info)`` to each input and write the results;
    TIFF stacks (``stacks.is_stack``) go to ``stack(rel, source, target) -> info`` instead, or
    fail in one line without it (never reduced to their first page). ``whole(source)`` says
    which files go to ``stack``, which reads and writes them itself."""
    results: list[FileResult] = []
    with click.progressbar(
        inputs.files, label=label, file=sys.stderr, show_pos=True,
        item_show_func=lambda rel: str(rel) if rel else None,
        hidden=not show_progress,
    ) as bar:
        for rel in bar:
            results.append(process_one(inputs, rel, out, transform, overwrite, stack, whole))
    return results


def process_one(inputs: InputSet, rel: Path, out: Path, transform: Transform, overwrite: bool = False,
                stack: StackTransform | None = None, whole: Callable[[Path], bool] = is_stack) -> FileResult:
    """One input of ``process_files``: kept, written, or failed with a one-line error."""
    target = output_path(inputs, rel, out)
    if target.exists() and not overwrite:
        return FileResult(rel, target, "exists")
    try:
        source = inputs.source(rel)
        if whole(source):
            if stack is None:
                raise ValueError(f"{rel}: a TIFF stack or scientific TIFF, which this command does not read")
            info = stack(rel, source, target)
        else:
            image = read_image(source)
            restored, info = transform(rel, image)
            write_image(restored, target)
    except PluginCallError as err:  # names the plugin, not the file: say which file too
        return FileResult(rel, target, "failed", error=f"{rel.as_posix()}: {err}")
    except (ImageReadError, OSError, ValueError) as err:
        return FileResult(rel, target, "failed", error=str(err))
    return FileResult(rel, target, "written", info=info)


def report_outcome(results: list[FileResult], skipped: list[Path]) -> int:
    """Print notes and errors to stderr; return the exit code (1 if any file failed)."""
    for rel in skipped:
        click.echo(f"note: skipped {rel} (not an image file)", err=True)
    kept = [r for r in results if r.status == "exists"]
    if kept:
        click.echo(f"note: kept {len(kept)} existing output(s) unchanged (use --overwrite to replace)", err=True)
    failed = [r for r in results if r.status == "failed"]
    for r in failed:
        click.echo(f"error: {r.error}", err=True)
    written = sum(r.status == "written" for r in results)
    click.echo(f"{written} written, {len(kept)} kept, {len(failed)} failed", err=True)
    return 1 if failed else 0
