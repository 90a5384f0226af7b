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
from typing import Any, Callable, Protocol, Sequence, Union

import click

from .files import InputSet, output_path
from .images import UNREAD_IMAGE_SUFFIXES, Image, ImageReadError, read_image, write_image
from .plugins import PluginCallError
from .stacks import is_stack

Transform = Callable[[Path, Image], tuple[Image, dict[str, Any]]]
#: A TIFF stack's work: (relative path, source, target) -> info; it writes the target itself.
StackTransform = Callable[[Path, Path, Path], dict[str, Any]]
#: What a transform did to one image: (image, info), or the exception it raised for that image.
Outcome = Union[tuple[Image, dict[str, Any]], Exception]


class GroupTransform(Protocol):
    """A transform that can also take several images of one pixel shape at once (``cleaning.Cleaner``)."""

    def __call__(self, rel: Path, image: Image) -> tuple[Image, dict[str, Any]]: ...

    def group_limit(self, image: Image) -> int:
        """How many images of this one's pixel shape ``transform_group`` takes (1: one by one)."""
        ...

    def transform_group(self, items: Sequence[tuple[Path, Image]]) -> list[Outcome]:
        """Per image, in order, its ``(image, info)`` or the exception it alone raised."""
        ...


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
#: enough that memory stays a handful of images. A group of images (``GroupTransform``) is
#: gathered from the reads as they come (never more than these ahead: the next file may be
#: large) and written behind whole, while the next group is gathered and transformed.
READ_AHEAD = 2
WRITE_BEHIND = 2
#: The errors that fail one file and not the run.
FILE_ERRORS = (ImageReadError, OSError, ValueError)


def _failed(rel: Path, target: Path, err: Exception) -> FileResult:
    if isinstance(err, PluginCallError):  # names the plugin, not the file: say which file too
        return FileResult(rel, target, "failed", error=f"{rel.as_posix()}: {err}")
    return FileResult(rel, target, "failed", error=str(err))


def process_files(
    inputs: InputSet, out: Path, transform: Transform | GroupTransform, overwrite: bool = False,
    label: str = "Processing", show_progress: bool = True, stack: StackTransform | None = None,
    whole: Callable[[Path], bool] = is_stack,
) -> list[FileResult]:
    """Apply ``transform(rel, image) -> (image, info)`` to each input and write the results;
    TIFF stacks (``stacks.is_stack``) go to ``stack(rel, source, target) -> info`` instead, or
    fail in one line without it (never reduced to their first page). ``whole(source)`` says
    which files go to ``stack``, which reads and writes them itself.

    A ``GroupTransform`` gets consecutive images of one pixel shape together, as many as its
    ``group_limit`` of the first allows: small images restored in one model call. Files kept or
    unreadable between them are dealt with as met; a stack or an image of another shape ends
    the group.

    Reading and decoding the next files, and encoding and writing the previous ones, run in
    threads of their own while this one transforms: the outputs are the same as one after
    another, the results come in input order, and at most ``READ_AHEAD + WRITE_BEHIND + 1``
    images are held (with groups: ``READ_AHEAD`` and two groups).
    """
    count = len(inputs.files)
    results: list[FileResult | None] = [None] * count
    targets = [output_path(inputs, rel, out) for rel in inputs.files]
    grouped = all(callable(getattr(transform, name, None)) for name in ("group_limit", "transform_group"))

    def load(index: int) -> tuple[str, Any]:
        rel, target = inputs.files[index], targets[index]
        if target.exists() and not overwrite:
            return "exists", None
        source = inputs.source(rel)
        if whole(source):
            return "stack", source
        return "image", read_image(source)

    def loaded(index: int, future: Future) -> tuple[str, Any]:
        """A load's (kind, value); kind ``failed`` with the file's result when it could not be read."""
        try:
            return future.result()
        except FILE_ERRORS as err:
            return "failed", _failed(inputs.files[index], targets[index], err)

    progress = click.progressbar(
        length=count, label=label, file=sys.stderr, show_pos=True,
        item_show_func=lambda index: str(inputs.files[index]) if index is not None else None,
        hidden=not show_progress,
    )
    # Reads and writes in pools of their own: reads would otherwise wait behind a group's writes.
    with ThreadPoolExecutor(2, "denoisekit-read") as readers, ThreadPoolExecutor(2, "denoisekit-write") as writers, \
            progress as bar:
        reads: deque[tuple[int, Future]] = deque()
        writes: deque[tuple[int, Future, dict[str, Any]]] = deque()
        queued = 0

        def read_ahead() -> None:
            nonlocal queued
            while len(reads) < READ_AHEAD and queued < count:
                reads.append((queued, readers.submit(load, queued)))
                queued += 1

        def settled(index: int, kind: str, value: Any) -> bool:
            """Record a file that needs no transform (kept, or failed to read); False for others."""
            if kind not in ("exists", "failed"):
                return False
            results[index] = FileResult(inputs.files[index], targets[index], "exists") if kind == "exists" else value
            bar.update(1, index)
            return True

        read_ahead()
        while reads:
            index, future = reads.popleft()
            read_ahead()
            rel, target = inputs.files[index], targets[index]
            kind, value = loaded(index, future)
            if settled(index, kind, value):
                continue
            if kind == "stack":
                try:
                    if stack is None:
                        raise ValueError(f"{rel}: a TIFF stack or scientific TIFF, which this command does not read")
                    results[index] = FileResult(rel, target, "written", info=stack(rel, value, target))
                except FILE_ERRORS as err:
                    results[index] = _failed(rel, target, err)
                bar.update(1, index)
                continue
            group = [(index, value)]
            limit = transform.group_limit(value) if grouped else 1  # type: ignore[union-attr]
            while reads and len(group) < limit:  # the next images of this shape join it
                following, future = reads[0]
                kind, value = loaded(following, future)
                if kind == "image" and value.pixels.shape == group[0][1].pixels.shape:
                    group.append((following, value))
                elif not settled(following, kind, value):  # a stack, or another shape: the next group's
                    break
                reads.popleft()
                read_ahead()
            bar.update(0, index)  # shows the file being restored (the first of its group)
            del value
            outcomes = _transform(transform, [(inputs.files[i], image) for i, image in group])
            for (i, _), outcome in zip(group, outcomes):
                if isinstance(outcome, Exception):
                    try:
                        raise outcome
                    except FILE_ERRORS as err:
                        results[i] = _failed(inputs.files[i], targets[i], err)
                else:
                    restored, info = outcome
                    writes.append((i, writers.submit(write_image, restored, targets[i]), info))
                bar.update(1, i)
            keep = max(WRITE_BEHIND, len(group))
            del group, outcomes
            while len(writes) > keep:
                _finish_write(writes.popleft(), inputs, targets, results)
        while writes:
            _finish_write(writes.popleft(), inputs, targets, results)
    return [r for r in results if r is not None]


def _transform(transform: Transform | GroupTransform, items: list[tuple[Path, Image]]) -> list[Any]:
    """Each image's ``Outcome``: through ``transform_group`` when there are several, else one call."""
    if len(items) == 1:
        rel, image = items[0]
        try:
            return [transform(rel, image)]
        except FILE_ERRORS as err:
            return [err]
    try:
        outcomes = list(transform.transform_group(items))  # type: ignore[union-attr]
        if len(outcomes) != len(items):
            raise ValueError(f"transform_group returned {len(outcomes)} results for {len(items)} images")
    except FILE_ERRORS as err:  # the group's own failure: each of its files has it
        return [err] * len(items)
    return outcomes


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
        if rel.suffix.lower() in UNREAD_IMAGE_SUFFIXES:  # a photo all the same: say how to get it in
            why = f"a {rel.suffix.lower()[1:].upper()} image: convert it to PNG, JPEG or TIFF first"
        else:
            why = "not an image file"
        click.echo(f"note: skipped {rel} ({why})", err=True)
    kept = [r for r in results if r.status == "exists"]
    if kept:
        click.echo(f"note: kept {len(kept)} existing output(s) unchanged (use --overwrite to replace)", err=True)
    failed = [r for r in results if r.status == "failed"]
    for r in failed:
        click.echo(f"error: {r.error}", err=True)
    written = sum(r.status == "written" for r in results)
    click.echo(f"{written} written, {len(kept)} kept, {len(failed)} failed", err=True)
    return 1 if failed else 0
