"""``denoisekit export``: a model for other runtimes (SavedModel, ONNX, OpenVINO, LiteRT)."""

from __future__ import annotations

from pathlib import Path

import click

#: The formats, here so that --help needs no TensorFlow (export.FORMATS has the same names).
FORMAT_NAMES = ("savedmodel", "onnx", "openvino", "litert")


@click.command("export")
@click.argument("model", metavar="MODEL")
@click.option("--format", "format_name", type=click.Choice(FORMAT_NAMES), required=True,
              help="savedmodel (a folder), onnx (.onnx), openvino (.xml + .bin) or litert (.tflite).")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="The export: a file with the format's suffix, or the SavedModel's folder. "
                   "The model's metadata goes beside it, in its name + .json (m.onnx.json; folder m: m.json).")
@click.option("--overwrite", is_flag=True,
              help="Replace an existing export. A folder that is not a SavedModel export (one holding "
                   "anything else) is never replaced.")
@click.option("--check", is_flag=True,
              help="Run the export in its own runtime on two random images and compare it with the Keras model "
                   "(fails above a difference of 1e-4).")
def export_command(model: str, format_name: str, out: Path, overwrite: bool, check: bool) -> None:
    """Export MODEL (a bundled model's name or a .keras file) for another runtime.

    The export is the network alone, through Keras' own model.export(): float32
    NHWC batches in [0, 1] in and out (clipped), any batch size, and any height
    and width that are multiples of the model's size_multiple (or exactly the size
    of a fixed-size model); the JSON beside it says which, and how to feed it.
    Tiling, the blend of gray and color models and the other work `clean` does
    around the network are not part of it.

    \b
    Examples:
      denoisekit export gaussian-gray --format onnx --out gaussian-gray.onnx
      denoisekit export my.keras --format openvino --out ov/my.xml --check
      denoisekit export gaussian-color --format savedmodel --out gaussian-color
      denoisekit export salt-and-pepper-gray --format litert --out sp.tflite
    """
    from ..export import (CHECK_TOLERANCE, FORMATS, ExportError, ExportTargetError, check_export, check_target,
                          export_model)

    try:
        check_target(FORMATS[format_name], out, overwrite)  # before TensorFlow starts: a wrong name costs nothing
    except ExportTargetError as err:  # a usage error
        message = f"{err.existing} exists; pass --overwrite to replace it" if err.existing else str(err)
        raise click.BadParameter(message, param_hint="--out") from None
    except ExportError as err:  # a converter not installed
        raise click.ClickException(str(err)) from None
    from ..modelio import TASKS, ModelLoadError, bundled_for, load_denoiser

    if model in TASKS:
        names = sorted({n for n in (bundled_for(model, 1), bundled_for(model, 3)) if n})
        raise click.BadParameter(f"{model!r} is a task, not one model: export one of {', '.join(names) or 'none'}",
                                 param_hint="MODEL")
    try:
        denoiser = load_denoiser(model)
    except ModelLoadError as err:
        raise click.BadParameter(str(err), param_hint="MODEL") from None
    click.echo(f"exporting {model} to {format_name} ...", err=True)
    try:
        result = export_model(denoiser, out, format_name, overwrite=overwrite)
        for path in result.files + [result.metadata_path]:
            click.echo(f"wrote {path}")
        if check:
            difference, (height, width) = check_export(result, denoiser)
    except ExportError as err:
        raise click.ClickException(str(err)) from None
    if check:
        click.echo(f"checked in {format_name}'s runtime on two random {height}x{width} images: largest difference "
                   f"from the Keras model {difference:.2g}")
        if difference > CHECK_TOLERANCE:
            raise click.ClickException(f"the export differs from the Keras model by {difference:.2g} "
                                       f"(more than {CHECK_TOLERANCE:g})")
