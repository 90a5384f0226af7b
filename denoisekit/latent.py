"""The latent space of an autoencoder: where it puts each image, and what it decodes across it.

For a 2-number latent these are the textbook's two pictures: the encoded images as a
scatter coloured by their label, and a grid of images decoded across the latent plane. A
larger latent is shown through its first two principal components (PCA), and the grid is
decoded across the plane they span through the latent's mean.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .files import collect_inputs
from .images import ImageReadError, read_image, to_gray, to_rgb

LATENT_LAYER = "latent"
#: The grid spans the central 98% of the encoded images along each axis (outliers would leave
#: most of it to empty regions).
GRID_PERCENTILES = (1, 99)


class LatentError(ValueError):
    """A model or data set the latent pictures cannot be made from; the message says why."""


@dataclass
class LabelledImages:
    """Float32 images (N, H, W, C) in [0, 1] and their labels (first-level subfolder names), or None."""

    pixels: np.ndarray
    labels: list[str] | None


def load_labelled(folder: Path, channels: int, size: tuple[int, int] | None) -> LabelledImages:
    """The images of ``folder``; the label of each is its first-level subfolder, when all are in one.
    ``size``: the (H, W) every image must have (a fixed-size model's)."""
    found = collect_inputs(folder)
    if not found.files:
        raise LatentError(f"{folder}: no images found")
    images = []
    for rel in found.files:
        try:
            pixels = read_image(found.source(rel)).pixels
        except ImageReadError as err:
            raise LatentError(str(err)) from None
        if size is not None and pixels.shape[:2] != size:
            raise LatentError(f"{rel}: {pixels.shape[0]}x{pixels.shape[1]} pixels; the model takes "
                              f"{size[0]}x{size[1]} images")
        images.append(to_gray(pixels) if channels == 1 else to_rgb(pixels))
    if len({im.shape for im in images}) > 1:
        raise LatentError(f"{folder}: the images differ in size; the latent pictures need one size")
    labelled = all(len(rel.parts) > 1 for rel in found.files)
    labels = [rel.parts[0] for rel in found.files] if labelled else None
    return LabelledImages(np.stack(images).astype(np.float32), labels)


def split_autoencoder(model: Any) -> tuple[Any, Any]:
    """(encoder, decoder) Keras models cut at the layer named ``latent``; the decoder is the chain
    of layers that follows it (the metadata layer, an identity, is left out)."""
    import keras

    from .layers import ModelInfo

    try:
        code = model.get_layer(LATENT_LAYER)
    except ValueError:
        raise LatentError(f"the model has no {LATENT_LAYER!r} layer: latent pictures need an autoencoder "
                          f"(train one with --arch autoencoder)") from None
    encoder = keras.Model(model.inputs[0], code.output, name="encoder")
    z = keras.Input(code.output.shape[1:], name="code")
    x, previous = z, code
    for layer in model.layers[model.layers.index(code) + 1:]:
        if isinstance(layer, ModelInfo):
            continue
        if layer.input is not previous.output:
            raise LatentError(f"the decoder is not a chain of layers after {LATENT_LAYER!r} "
                              f"({layer.name!r} takes another input)")
        x, previous = layer(x), layer
    return encoder, keras.Model(z, x, name="decoder")


@dataclass
class LatentMap:
    """Encoded images in the plotted plane, the grid decoded across it, and how the plane was made."""

    points: np.ndarray  # (N, 2)
    grid: np.ndarray  # (rows * H, cols * W, C) in [0, 1]
    extent: tuple[float, float, float, float]  # x0, x1, y0, y1 of the grid in plane coordinates
    latent: int
    axes: tuple[str, str]


def latent_map(model: Any, pixels: np.ndarray, steps: int = 15, batch: int = 256) -> LatentMap:
    """Encode ``pixels`` (N, H, W, C) and decode a ``steps`` x ``steps`` grid across the latent plane
    (the latent itself when it has 2 numbers, else its first two principal components)."""
    encoder, decoder = split_autoencoder(model)
    codes = np.concatenate([np.asarray(encoder.predict_on_batch(pixels[i:i + batch]))
                            for i in range(0, len(pixels), batch)]).astype(np.float64)
    width = codes.shape[1]
    if width < 2:
        raise LatentError("the latent has 1 number: a plane needs at least 2")
    if width > 2 and len(codes) < 2:
        raise LatentError(f"one image: its principal components need at least 2 (a latent of {width} numbers)")
    centre = np.zeros(width) if width == 2 else codes.mean(axis=0)
    if width == 2:
        basis, axes = np.eye(2), ("latent 1", "latent 2")
    else:
        _, singular, vt = np.linalg.svd(codes - centre, full_matrices=False)
        basis = vt[:2]
        share = singular ** 2 / np.sum(singular ** 2)
        axes = (f"principal component 1 ({share[0]:.0%} of variance)",
                f"principal component 2 ({share[1]:.0%} of variance)")
    points = (codes - centre) @ basis.T
    lo, hi = np.percentile(points, GRID_PERCENTILES, axis=0)
    xs, ys = np.linspace(lo[0], hi[0], steps), np.linspace(hi[1], lo[1], steps)  # rows top-down: y falls
    plane = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    decoded = np.clip(np.asarray(decoder.predict_on_batch((centre + plane @ basis).astype(np.float32))), 0, 1)
    h, w, c = decoded.shape[1:]
    grid = decoded.reshape(steps, steps, h, w, c).transpose(0, 2, 1, 3, 4).reshape(steps * h, steps * w, c)
    return LatentMap(points, grid, (float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])), width, axes)


def plot_latent(found: LatentMap, labels: list[str] | None, out: Path, title: str = "") -> None:
    """The scatter (coloured by label) beside the decoded grid, written to ``out`` (PNG, PDF, SVG...)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise LatentError("the latent pictures need matplotlib: pip install 'denoisekit[plot]'") from None
    fig, (scatter, decoded) = plt.subplots(1, 2, figsize=(13, 6.2))
    if labels is None:
        scatter.scatter(found.points[:, 0], found.points[:, 1], s=4, alpha=0.6)
    else:
        names = sorted(set(labels), key=lambda v: (not v.isdigit(), int(v) if v.isdigit() else 0, v))
        index = np.array([names.index(v) for v in labels])
        cmap = plt.get_cmap("tab10" if len(names) <= 10 else "viridis")
        dots = scatter.scatter(found.points[:, 0], found.points[:, 1], c=index, cmap=cmap, s=4, alpha=0.7,
                               vmin=-0.5, vmax=len(names) - 0.5)
        bar = fig.colorbar(dots, ax=scatter, ticks=range(len(names)))
        bar.ax.set_yticklabels(names)
    scatter.set(xlabel=found.axes[0], ylabel=found.axes[1], title="encoded images")
    image = found.grid[..., 0] if found.grid.shape[-1] == 1 else found.grid
    decoded.imshow(image, cmap="gray", vmin=0, vmax=1, extent=found.extent, aspect="auto")
    decoded.set(xlabel=found.axes[0], ylabel=found.axes[1], title="decoded across the plane")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
