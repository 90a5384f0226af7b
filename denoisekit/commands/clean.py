"""``denoisekit clean``: restore a folder of images, with PSNR/SSIM or noise-level reports."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ..batch import report_outcome
from ..cleaning import RestoreFn
from ..folders import clean_inputs
from ..files import AmbiguousReference, collect_inputs, is_inside, match_references
from ..normalization import parse_normalize
from ..plugin_guard import GuardedRestore
from ..plugins import PluginError, debugging, describe, get_registry
from ..reports.formats import REPORT_SUFFIXES, echo_summary, is_own_report, to_json_text, write_report
from ..tiling import DEFAULT_BATCH, DEFAULT_OVERLAP, DEFAULT_TILE
from .common import check_output_path, collected_inputs, param_option, plugin_with_params


def restorer_texts(name: str, texts: tuple[str, ...], shortcuts: dict[str, Any]) -> list[str]:
    """``-p`` texts plus the options (``--model``, ``--tile`` ...) that stand for parameters of
    the same name; an option the restorer does not declare, or given twice, is a usage error."""
    try:
        declared = {p.name for p in get_registry().get("restorer", name).params}
    except PluginError as err:
        raise click.BadParameter(str(err), param_hint="--restorer") from None
    given = {t.partition("=")[0].strip() for t in texts}
    merged = list(texts)
    for key, value in shortcuts.items():
        if value is None:
            continue
        if key not in declared:
            raise click.BadParameter(f"the restorer {name!r} has no {key!r} parameter", param_hint=f"--{key}")
        if key in given:
            raise click.BadParameter(f"given twice, as --{key} and -p {key}=", param_hint=f"--{key}")
        merged.append(f"{key}={value}")
    return merged


def make_restorer(registered: Any, values: dict[str, Any]) -> RestoreFn:
    """Call the restorer's ``make``; a failure (missing model, bad value) is one line and exit 2."""
    try:
        return GuardedRestore(registered.obj, registered.obj.make(**values))
    except Exception as err:  # noqa: BLE001  one line either way
        modelio = sys.modules.get("denoisekit.modelio")  # imported (with TensorFlow) only by model restorers
        if isinstance(err, ValueError) or (modelio is not None and isinstance(err, modelio.ModelLoadError)):
            message = str(err)
        elif debugging():  # a plugin's own failure: still one line, naming it
            raise
        else:
            message = f"{describe('restorer', registered.obj)} failed to start: {type(err).__name__}: {err}"
    click.echo(f"error: {message}", err=True)
    raise SystemExit(2)


def check_dask_options(restorer: str, values: dict[str, Any], workers: int | None, scheduler: str | None,
                       chunk: int | None) -> None:
    """--workers, --scheduler and --chunk: usage errors, and one line naming the extra without Dask."""
    if workers is not None and scheduler is not None:
        raise click.BadParameter("give --workers (a local cluster) or --scheduler (an existing one), not both",
                                 param_hint="--workers")
    if chunk is not None and restorer != "model":
        raise click.BadParameter(f"only the model restorer restores images in chunks, not {restorer!r}",
                                 param_hint="--chunk")
    if chunk is not None and values.get("ensemble"):
        raise click.BadParameter("the self-ensemble cannot be restored in chunks", param_hint="--chunk")
    asked = [name for name, value in (("--workers", workers), ("--scheduler", scheduler), ("--chunk", chunk))
             if value is not None]
    if asked:
        from ..distributed import DaskMissing, require_dask

        try:
            require_dask("/".join(asked))
        except DaskMissing as err:
            click.echo(f"error: {err}", err=True)
            raise SystemExit(2) from None


@click.command("clean")
@click.argument("source", metavar="IN", type=click.Path(exists=True, path_type=Path))
@click.argument("out", metavar="OUT", type=click.Path(path_type=Path))
@click.option("--model", default=None, metavar="NAME|PATH",
              help="Learned model: a task (gaussian [default], salt-and-pepper, colorize: the bundled gray or "
                   "color model per image), a bundled model name, or a .keras file.")
@click.option("--restorer", default="model", show_default=True,
              help="Restorer plugin: model, median, switching-median, impulse-fill, nlmeans, bm3d (if "
                   "installed) or a plugin's (`denoisekit plugins` lists them).")
@param_option
@click.option("--reference", type=click.Path(exists=True, path_type=Path),
              help="Clean images (folder or file), matched by relative path and name: report PSNR/SSIM.")
@click.option("--report", "report_path", type=click.Path(path_type=Path),
              help="Write a report: FILE.json, FILE.csv or FILE.html (crops side by side, self-contained).")
@click.option("--recursive/--no-recursive", default=True, show_default=True, help="Descend into subfolders.")
@click.option("--overwrite", is_flag=True, help="Replace existing output files (else they are kept: resume).")
@click.option("--tile", type=click.IntRange(8), default=None,
              help=f"Largest tile side for the model; tiles shrink to the least that covers the image "
                   f"in as many tiles [default: {DEFAULT_TILE}].")
@click.option("--overlap", type=click.IntRange(0), default=None,
              help=f"Tile overlap; half of it is context per side [default: {DEFAULT_OVERLAP}].")
@click.option("--batch", type=click.IntRange(1), default=None, help=f"Tiles per model call [default: {DEFAULT_BATCH}].")
@click.option("--ensemble", is_flag=True, default=None,
              help="Self-ensemble: average the model's restorations of the 8 flips and rotations (better, 8x slower).")
@click.option("--normalize", "normalize", default="auto", show_default=True, metavar="MODE",
              help="TIFF stacks: how data is scaled into the models' 0-1 and back: auto (8/16-bit: dtype, "
                   "else percentile), dtype (the type's full scale), range (the data's min-max), percentile "
                   "(CSBDeep's 1 and 99.8) or percentile:LOW,HIGH. See docs/scientific.md.")
@click.option("--group-small/--no-group-small", "group", default=True, show_default=True,
              help="Restore consecutive small images of one size (each within one tile) several per model call; "
                   "the outputs are the same, only faster. With the model restorer; in one process, not on Dask.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout (the table goes to stderr).")
@click.option("--workers", type=click.IntRange(1), default=None, metavar="N",
              help="Restore on a local Dask cluster of N worker processes, each with its share of the cores "
                   "(needs denoisekit[dask]).")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Restore on an existing Dask cluster, e.g. tcp://head:8786 (needs denoisekit[dask]; the "
                   "workers must see IN and OUT at the same paths).")
@click.option("--chunk", type=click.IntRange(64), default=None, metavar="SIDE",
              help="Restore single-page TIFFs in SIDE x SIDE chunks through Dask: memory bounded by the chunk, "
                   "not the image (model restorer; no figures for them; needs denoisekit[dask]).")
def clean_command(source: Path, out: Path, model: str | None, restorer: str, params: tuple[str, ...],
                  reference: Path | None, report_path: Path | None, recursive: bool, overwrite: bool,
                  tile: int | None, overlap: int | None, batch: int | None, ensemble: bool | None,
                  normalize: str, group: bool, as_json: bool, workers: int | None, scheduler: str | None,
                  chunk: int | None) -> None:
    """Restore the images in IN (a folder or a file) and write them to OUT.

    Each image keeps its size, channels, alpha, bit depth and format (and a JPEG's
    or PNG's colour profile and EXIF); photos are written upright as their EXIF orientation
    shows them. The folder structure is mirrored. Multi-page and float TIFFs (ImageJ, OME) are restored
    page by page and keep their pages, dtype, axes and metadata (--normalize).
    Existing outputs are kept unless --overwrite, so an interrupted run resumes.
    With --reference, PSNR/SSIM of input and output are reported; without, the
    estimated noise level (sigma, 0-255) before and after. Each mean covers the images
    with both figures finite: an input identical to its reference (infinite PSNR) is
    left out of both PSNR means, not of the SSIM means.

    \b
    Examples:
      denoisekit clean noisy/ out/ --reference clean/ --report report.html
      denoisekit clean photo.jpg out/ --model my.keras --tile 256
      denoisekit clean noisy/ out/ --restorer median -p size=5
      denoisekit clean scans/ out/ --model salt-and-pepper --ensemble
      denoisekit clean stacks/ out/ --normalize percentile:0.1,99.9
      denoisekit clean archive/ out/ --workers 4
      denoisekit clean slide.tif out/ --chunk 2048
    """
    texts = restorer_texts(restorer, params, {"model": model, "tile": tile, "overlap": overlap, "batch": batch,
                                              "ensemble": "true" if ensemble else None})
    registered, values = plugin_with_params("restorer", restorer, texts, "--restorer")
    try:
        spec = parse_normalize(normalize)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--normalize") from None
    if report_path is not None and report_path.suffix.lower() not in REPORT_SUFFIXES:
        raise click.BadParameter(f"{report_path}: use a .json, .csv or .html file", param_hint="--report")
    check_output_path(source, out)
    if report_path is not None and source.is_dir() and is_inside(report_path, source):
        raise click.BadParameter(f"{report_path} lies inside the input folder {source}", param_hint="--report")
    if report_path is not None and report_path.exists() and not overwrite and not is_own_report(report_path):
        raise click.BadParameter(f"{report_path} exists and is not a denoisekit report: choose another file or "
                                 f"pass --overwrite", param_hint="--report")
    if reference is not None and reference.is_dir() and is_inside(out, reference):
        raise click.BadParameter(f"{out} lies inside the reference folder {reference}", param_hint="OUT")
    check_dask_options(restorer, values, workers, scheduler, chunk)

    inputs = collected_inputs(source, out, recursive)  # before loading any model: a wrong folder costs nothing
    refs = collect_inputs(reference, recursive) if reference is not None else None
    if refs is not None:
        try:
            match_references(refs, inputs)  # a reference two files could be is a usage error, before any work
        except AmbiguousReference as err:
            raise click.BadParameter(str(err), param_hint="--reference") from None
    restore = make_restorer(registered, values)
    html = report_path is not None and report_path.suffix.lower() in (".html", ".htm")
    options = dict(restorer=restorer, params=values, reference=reference, refs=refs, crops=html, normalize=spec,
                   chunk=chunk, group=group, overwrite=overwrite, label=f"clean ({restorer})")
    try:
        run = clean_inputs(inputs, out, restore, workers=workers, scheduler=scheduler, **options)
    except ConnectionError as err:  # a Dask scheduler that does not answer
        click.echo(f"error: {err}", err=True)
        raise SystemExit(2) from None
    report = run.report

    if as_json:
        click.echo(to_json_text(report), nl=False)
    if report.rows:
        echo_summary(report, file=sys.stderr if as_json else sys.stdout)
    if report_path is not None:
        write_report(report, report_path)
        click.echo(f"report written to {report_path}", err=True)
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
    code = report_outcome(run.results, run.skipped)
    for line in run.incomplete:
        click.echo(f"error: {line}", err=True)
    if run.incomplete:
        click.echo(f"{len(run.incomplete)} image(s) without complete figures", err=True)
        code = 1
    raise SystemExit(code)
