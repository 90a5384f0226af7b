"""Folders of image files restored, corrupted and scored: the library functions behind the
``clean``, ``corrupt`` and ``metrics`` commands, which only check options, print and exit.

``clean_inputs`` runs the ``Cleaner`` over inputs already collected (in this process through
``batch.process_files``, or on Dask through ``distributed.run_clean``) and gathers the report:
a row of figures per image written or kept, the failures and the notes; ``denoisekit.clean`` is
the same from Python, on paths. ``corrupt_inputs`` writes each image with a corruption plugin's
noise, ``score_folders`` measures a folder against its references.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .batch import FileResult, process_files
from .cleaning import Cleaner
from .files import InputSet, collect_inputs, match_references, refuse_outputs_in_input
from .images import ImageReadError
from .metrics import mean
from .noise_ops import apply_corruption, check_seed
from .normalization import NormalizeSpec, parse_normalize
from .reports import Report
from .reports.scores import score_files
from .stacks import transform_stack

RestoreFn = Callable[[np.ndarray], np.ndarray]


@dataclass
class CleanRun:
    """What a clean did: ``report`` (a row of figures per image written or kept, the failures, the
    notes), every input file's ``results`` in input order, the files ``skipped`` as not images,
    and ``incomplete``: one line per image written without complete figures."""

    report: Report
    results: list[FileResult]
    skipped: list[Path] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[FileResult]:
        return [r for r in self.results if r.status == "failed"]

    @property
    def ok(self) -> bool:
        """Every image written (or kept) with its figures."""
        return not self.report.failed and not self.incomplete


def clean_inputs(inputs: InputSet, out: Path, restore: RestoreFn, *, restorer: str = "model",
                 params: dict[str, Any] | None = None, reference: Path | None = None, refs: InputSet | None = None,
                 crops: bool = False, normalize: NormalizeSpec = NormalizeSpec(), chunk: int | None = None,
                 group: bool = True, overwrite: bool = False, workers: int | None = None,
                 scheduler: str | None = None, label: str = "clean", show_progress: bool = True) -> CleanRun:
    """Restore ``inputs`` into ``out`` with ``restore`` (the restorer plugin ``restorer`` made with
    ``params``, which Dask's workers make again for themselves when ``workers`` or ``scheduler``
    is given) and measure each image against ``refs``, as ``denoisekit clean`` does."""
    refuse_outputs_in_input(inputs, out)
    params = dict(params or {})
    cleaner = Cleaner(restore, inputs, refs, crops=crops, normalize=normalize, chunk=chunk, group=group)
    if workers or scheduler:
        from .distributed import run_clean

        run = run_clean(inputs, out, restorer, params, refs=refs, crops=crops, normalize=normalize,
                        overwrite=overwrite, workers=workers, scheduler=scheduler, chunk=chunk, label=label,
                        show_progress=show_progress)
        results, notes = run.results, run.notes
    else:
        results = process_files(inputs, out, cleaner, overwrite, label=label, show_progress=show_progress,
                                stack=cleaner.stack, whole=cleaner.whole)
        notes = list(getattr(restore, "notes", [])) + cleaner.notes

    report = Report(restorer, params, inputs.root, out, reference)
    late: list[str] = []  # kept outputs whose input became unreadable
    for result in results:
        if result.status == "failed":
            report.failed.append({"file": result.rel.as_posix(), "error": result.error or ""})
            continue
        try:
            written = result.status == "written"
            row, picked = (result.info["row"], result.info["crops"]) if written else cleaner.kept(result)
        except ImageReadError as err:  # the input of a kept output became unreadable
            report.failed.append({"file": result.rel.as_posix(), "error": str(err)})
            late.append(str(err))
            continue
        report.rows.append(row)
        if picked:
            report.crops[row["file"]] = picked
    report.notes = notes
    incomplete = [r["error"] for r in report.rows if r["error"]] + late
    return CleanRun(report, results, list(inputs.skipped), incomplete)


def clean(source: str | os.PathLike, out: str | os.PathLike, model: Any = None, *,
                 restorer: str = "model", reference: str | os.PathLike | None = None, recursive: bool = True,
                 overwrite: bool = False, normalize: str | NormalizeSpec = "auto", group: bool = True,
                 chunk: int | None = None, crops: bool = False, show_progress: bool = False,
                 **options: Any) -> CleanRun:
    """Restore the images under ``source`` (a folder or one file) into ``out``, mirrored, as
    ``denoisekit clean`` does, and return what it did (``CleanRun``: its ``report`` has a row of
    figures per image, against ``reference`` where given).

    ``model`` and ``options`` are ``denoise``'s (a task, a bundled name, a ``.keras`` path or a
    ``Model``; ``tile``, ``ensemble``, ... or another ``restorer``'s parameters). Existing outputs
    are kept unless ``overwrite``; a failing file is a ``failed`` result and the others go on.
    Bad arguments raise ValueError before any file is read.
    """
    from .api import _restorer

    source, out = Path(source), Path(out)
    for given in (source, reference):
        if given is not None and not Path(given).exists():
            raise ValueError(f"{given}: no such file or folder")
    spec = parse_normalize(normalize) if isinstance(normalize, str) else normalize
    restore = _restorer(restorer, model, options)
    inputs = collect_inputs(source, recursive)
    refs = collect_inputs(Path(reference), recursive) if reference is not None else None
    params = {**options, **({"model": str(getattr(model, "path", model))} if model is not None else {})}
    return clean_inputs(inputs, out, restore, restorer=restorer, params=params,
                        reference=Path(reference) if reference is not None else None, refs=refs, crops=crops,
                        normalize=spec, chunk=chunk, group=group, overwrite=overwrite, show_progress=show_progress)


def corrupt_inputs(inputs: InputSet, out: Path, corruption: Any, params: dict[str, Any], seed: int = 0, *,
                   overwrite: bool = False, label: str = "corrupt", show_progress: bool = True) -> list[FileResult]:
    """Write each of ``inputs`` into ``out`` (mirrored) with the noise of ``corruption`` (a
    corruption plugin) and its ``params``; an image's noise depends only on ``seed`` and its
    relative path, and each page of a TIFF stack has its own. Returns every file's result."""
    refuse_outputs_in_input(inputs, out)
    check_seed(seed)
    def transform(rel: Path, image: Any) -> tuple[Any, dict[str, Any]]:
        noisy = apply_corruption(corruption, image.pixels, params, seed, key=rel.as_posix())
        return image.with_pixels(noisy), {}

    def stack(rel: Path, source: Path, target: Path) -> dict[str, Any]:
        def plane(pixels: np.ndarray, where: tuple[int, int]) -> np.ndarray:  # keyed by its page and part too
            key = f"{rel.as_posix()}#{where[0]}.{where[1]}"
            return np.clip(apply_corruption(corruption, pixels, params, seed, key=key), 0.0, 1.0)

        transform_stack(source, target, plane)
        return {}

    return process_files(inputs, out, transform, overwrite, label=label, show_progress=show_progress, stack=stack)


def score_folders(reference: Path, test: Path) -> tuple[list[dict[str, Any]], dict[str, Any], list[str]]:
    """PSNR/SSIM of each image under ``test`` against its reference under ``reference`` (matched
    by relative path and stem): the rows, their means and count, and one line per image that
    could not be scored."""
    refs, tests = collect_inputs(reference), collect_inputs(test)
    rows: list[dict[str, Any]] = []
    errors: list[str] = []
    for rel, ref_rel in match_references(refs, tests).items():
        if ref_rel is None:
            errors.append(f"{rel}: no reference image with that name")
            continue
        try:
            scores = score_files(refs.source(ref_rel), tests.source(rel))
        except (ImageReadError, ValueError) as err:
            errors.append(str(err))
            continue
        rows.append({"file": rel.as_posix(), **scores})
    summary = {"psnr": mean(r["psnr"] for r in rows), "ssim": mean(r["ssim"] for r in rows), "count": len(rows)}
    return rows, summary, errors
