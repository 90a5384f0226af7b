"""Run an image -> image transform over a set of input files, safely.

Shared by ``corrupt`` and ``clean``: progress on stderr, outputs mirrored and
written atomically (TIFF stacks too, page by page), existing outputs kept unless overwriting was asked for (so a
second run resumes), and one bad file reported without stopping the others.
"""

from __future__ import annotations

import sys
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
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


#: Images read ahead of the one being transformed, and written behind it: enough to keep the
#: transform busy while files are decoded and encoded (OpenCV releases the GIL for both), few
#: enough that memory stays a handful of images.
READ_AHEAD = 2
WRITE_BEHIND = 2


def process_files(
    inputs: InputSet, out: Path, transform: Transform, overwrite: bool = False,
    label: str = "Processing", show_progress: bool = True, stack: StackTransform | None = None,
    whole: Callable[[Path], bool] = is_stack,
) -> list[FileResult]:
    """Apply ``transform(rel, image) -> (image, info)`` to each input and write the results;
    TIFF stacks (``stacks.is_stack``) go to ``stack(rel, source, target) -> info`` instead, or
    fail in one line without it (never reduced to their first page). ``whole(source)`` says
    which files go to ``stack``, which reads and writes them itself.

    Reading and decoding the next files, and encoding and writing the previous ones, run in two
    threads while this one transforms: the outputs are the same as one after another, the
    results come in input order, and at most ``READ_AHEAD + WRITE_BEHIND + 1`` images are held.
    """
    results: list[FileResult | None] = []
    targets = [output_path(inputs, rel, out) for rel in inputs.files]

    def load(index: int) -> tuple[str, Any]:
        rel, target = inputs.files[index], targets[index]
        if target.exists() and not overwrite:
            return "exists", None
        source = inputs.source(rel)
        if whole(source):
            return "stack", source
        return "image", read_image(source)

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="denoisekit-io") as pool, click.progressbar(
        range(len(inputs.files)), label=label, file=sys.stderr, show_pos=True,
        item_show_func=lambda index: str(inputs.files[index]) if index is not None else None,
        hidden=not show_progress,
    ) as bar:
        reads: deque[Future] = deque(pool.submit(load, i) for i in range(min(READ_AHEAD, len(inputs.files))))
        writes: deque[tuple[int, Future, dict[str, Any]]] = deque()
        for index in bar:
            rel, target = inputs.files[index], targets[index]
            loading = reads.popleft()
            if index + READ_AHEAD < len(inputs.files):
                reads.append(pool.submit(load, index + READ_AHEAD))
            results.append(None)
            try:
                kind, loaded = loading.result()
                if kind == "exists":
                    results[index] = FileResult(rel, target, "exists")
                    continue
                if kind == "stack":
                    if stack is None:
                        raise ValueError(f"{rel}: a TIFF stack or scientific TIFF, which this command does not read")
                    results[index] = FileResult(rel, target, "written", info=stack(rel, loaded, target))
                    continue
                restored, info = transform(rel, loaded)
            except PluginCallError as err:  # names the plugin, not the file: say which file too
                results[index] = FileResult(rel, target, "failed", error=f"{rel.as_posix()}: {err}")
                continue
            except (ImageReadError, OSError, ValueError) as err:
                results[index] = FileResult(rel, target, "failed", error=str(err))
                continue
            writes.append((index, pool.submit(write_image, restored, target), info))
            del restored, loaded
            while len(writes) > WRITE_BEHIND:
                _finish_write(writes.popleft(), inputs, targets, results)
        while writes:
            _finish_write(writes.popleft(), inputs, targets, results)
    return [r for r in results if r is not None]


def _finish_write(write: tuple[int, Future, dict[str, Any]], inputs: InputSet, targets: list[Path],
                  results: list[FileResult | None]) -> None:
    index, future, info = write
    rel, target = inputs.files[index], targets[index]
    try:
        future.result()
    except (OSError, ValueError) as err:
        results[index] = FileResult(rel, target, "failed", error=str(err))
        return
    results[index] = FileResult(rel, target, "written", info=info)


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
