"""A colorizer's colour calibration, fitted on colour photographs it did not learn from.

``train`` fits it on its validation images for every colorization model it makes; this module
fits it for a model made before that, or on photographs closer to a user's own:

    >>> denoisekit.calibrate_colorizer("old-colorizer.keras", ["photos/"], out="calibrated.keras")

Each colour photograph is made gray (as a user's file would be: BT.601 luma, rounded to 8
bits), colourised as ``clean`` does it before the correction (chroma smoothed along the
luma's edges), and the map from predicted to true chroma fitted by least squares over all
their pixels (``chroma.fit_chroma_map``); ``clean`` then applies it (``-p chroma_map``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .chroma import CHROMA_MAP_KEY, fit_chroma_map
from .files import collect_inputs
from .images import has_color, read_image, stored_values, to_gray, to_rgb

if TYPE_CHECKING:
    from .modelio import Denoiser


def colour_photographs(sources: Iterable[str | Path]) -> Iterator[tuple[Path, np.ndarray]]:
    """(path, RGB in [0, 1]) for each colour image in ``sources`` (files or folders); gray ones
    and the alpha channel are left out."""
    for source in sources:
        found = collect_inputs(Path(source))
        for rel in found.files:
            path = found.source(rel)
            pixels = read_image(path).pixels
            if pixels.ndim == 3 and pixels.shape[-1] >= 3:
                rgb = np.ascontiguousarray(pixels[..., :3], np.float32)
                if has_color(rgb):
                    yield path, rgb


def colorization_samples(model: str | Path, photographs: Iterable[np.ndarray], preloaded: Denoiser | None = None
                         ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(luma, ``model``'s colorization before any correction, the true colour) per photograph;
    ``preloaded``: the model ``model`` names, already loaded."""
    from .inference import ModelRestore

    restore = ModelRestore(str(model), chroma_map=False, chroma_cap=0, chroma_gain=1.0, preloaded=preloaded)
    for rgb in photographs:
        gray = stored_values(to_gray(rgb))  # the gray file a user has
        luma = to_gray(to_rgb(gray))
        yield luma, np.clip(restore(gray), 0.0, 1.0), rgb


def calibrate_colorizer(model: str | Path, photographs: Iterable[str | Path], out: str | Path,
                        *, overwrite: bool = False) -> list[list[float]]:
    """Fit ``model``'s colour calibration on the colour images in ``photographs`` (files or
    folders, or one of them) and write the model with it to ``out``; returns the map (``chroma.map_chroma``).

    Raises ValueError for a model that is not a colorizer, photographs that are missing or
    without colour, or an ``out`` not named .keras,
    FileExistsError for an existing ``out`` unless ``overwrite``, and ``images.ImageReadError``
    for a photograph that cannot be read.
    """
    from .modelio import load_denoiser, update_metadata

    if isinstance(photographs, (str, os.PathLike)):  # one folder or file, not its letters
        photographs = [photographs]
    photographs = [Path(p) for p in photographs]
    missing = [str(p) for p in photographs if not p.exists()]
    if missing:
        raise ValueError(f"no such file or folder: {', '.join(missing)}")
    if Path(out).suffix.lower() != ".keras":
        raise ValueError(f"{out}: a model is written as a .keras file")
    denoiser = load_denoiser(model)
    if denoiser.task != "colorize":
        raise ValueError(f"{model} is not a colorization model (its noise: {denoiser.metadata.get('corruption')})")
    out = Path(out)
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists; pass overwrite=True to replace it")
    used: list[Path] = []

    def photos() -> Iterator[np.ndarray]:
        for path, rgb in colour_photographs(photographs):
            used.append(path)
            yield rgb

    try:
        chroma_map = fit_chroma_map(colorization_samples(model, photos(), preloaded=denoiser))
    except ValueError:
        if used:
            raise
        raise ValueError("no colour photographs to calibrate on") from None
    update_metadata(denoiser.model, **{CHROMA_MAP_KEY: chroma_map})
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(f".{out.stem}.part.keras")
    denoiser.model.save(part)
    os.replace(part, out)
    return chroma_map
