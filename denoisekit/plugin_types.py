"""Base classes for plugin authors (optional: any object with the same attributes works)."""

from __future__ import annotations

from typing import Any, Callable, ClassVar

import numpy as np

from .params import Param


class Corruption:
    """A noise model or degradation, applied with TensorFlow ops to a batch in [0, 1]."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    params: ClassVar[tuple[Param, ...]] = ()
    #: Pixels a side that ``fill`` looks at around each pixel, if it has a ``fill``: images
    #: restored in chunks need that much context (None: unknown, no chunks with a fill).
    fill_radius: ClassVar[int | None] = None

    def apply(self, images: Any, seed: Any, **params: Any) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def untouched(self, noisy: np.ndarray) -> np.ndarray | None:
        """Where this corruption certainly left a noisy image ``(H, W, C)`` in [0, 1] as it
        was (True), or None when any pixel may have changed. A model trained on the corruption
        keeps those input pixels as they are: salt-and-pepper only ever writes 0 or 1."""
        return None

    def fill(self, noisy: np.ndarray) -> np.ndarray | None:
        """A classical estimate of the changed pixels of a noisy image ``(H, W, C)`` (the
        others as they are), or None. Where there is one, a model's output in the pixels
        ``untouched`` does not cover is blended with it (the model restorer's ``fill``
        share): salt-and-pepper's is the switching median."""
        return None


class Restorer:
    """A restorer: ``make(**params)`` returns a function from one noisy image to its restoration.

    That function may also restore several images of one shape at once, which ``clean`` uses
    for folders of small images: it then has ``restore_many(images) -> restorations`` (a list
    of ``(H, W, C)`` arrays in, one restoration each out, as calling it on each would give) and
    ``many_limit(shape) -> int``, how many images of ``shape`` ``(H, W, C)`` one call should
    take (1: one by one). Without them images go one call each.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    params: ClassVar[tuple[Param, ...]] = ()

    def make(self, **params: Any) -> Callable[[np.ndarray], np.ndarray]:  # pragma: no cover - interface
        raise NotImplementedError


class Architecture:
    """A Keras model family: ``build(channels, **params)`` returns an uncompiled ``keras.Model``."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    params: ClassVar[tuple[Param, ...]] = ()
    #: Params a fine-tune (``train --init MODEL -a NAME=VALUE``) may change: ones that only add
    #: inputs or channels to layers, read with zero weights at first, so the new model starts
    #: out as the one it grew from (training/warm_start.add_channels).
    init_params: ClassVar[tuple[str, ...]] = ()

    def build(self, channels: int, **params: Any) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def size_multiple(self, **params: Any) -> int:
        """Input height and width must be multiples of this (1: any size)."""
        return 1

    def training_defaults(self, noise: str) -> dict[str, Any]:
        """What ``train`` uses, against the corruption named ``noise``, where the user does not
        say: any of ``loss`` (a ``--loss`` name), ``augment`` (none, flips or dihedral),
        ``schedule`` (cosine or constant) and ``arch_params`` (values of this architecture's own
        params, such as biases). The toolkit's defaults fill the rest: L1, cosine decay, and
        augmentation chosen from the data."""
        return {}
