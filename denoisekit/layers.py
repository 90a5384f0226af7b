"""Small Keras layers of our own, registered so saved models load with ``safe_mode`` on.

Written with ``keras.ops`` only, so they run on any Keras backend.
"""

from __future__ import annotations

import json
from typing import Any

from .tf_setup import tensorflow

tensorflow()  # import TensorFlow quietly before Keras does

import keras  # noqa: E402
from keras import ops  # noqa: E402

from .builtins.corruptions import LUMA_WEIGHTS

PACKAGE = "denoisekit"


class _BlockLayer(keras.layers.Layer):
    """A layer with one ``block`` size (the pixel-shuffle factor)."""

    def __init__(self, block: int = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.block = block

    def get_config(self):
        return {**super().get_config(), "block": self.block}


@keras.saving.register_keras_serializable(package=PACKAGE)
class SpaceToDepth(_BlockLayer):
    """(N, H, W, C) -> (N, H/b, W/b, b*b*C): work at lower resolution for speed (FFDNet)."""

    def call(self, x):
        b = self.block
        # Every dimension ops.shape gives is used (the batch too, not -1): an unused one stays in
        # the traced graph, and OpenVINO's converter made it an extra output of exported models.
        n, h, w, c = ops.shape(x)
        x = ops.reshape(x, (n, h // b, b, w // b, b, c))
        x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
        return ops.reshape(x, (n, h // b, w // b, b * b * c))

    def compute_output_shape(self, shape):
        b = self.block
        div = lambda v: None if v is None else v // b  # noqa: E731
        return (shape[0], div(shape[1]), div(shape[2]), shape[3] * b * b)


@keras.saving.register_keras_serializable(package=PACKAGE)
class DepthToSpace(_BlockLayer):
    """The inverse of SpaceToDepth (pixel shuffle)."""

    def call(self, x):
        b = self.block
        n, h, w, depth = ops.shape(x)  # all used: see SpaceToDepth
        c = depth // (b * b)
        x = ops.reshape(x, (n, h, w, b, b, c))
        x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
        return ops.reshape(x, (n, h * b, w * b, c))

    def compute_output_shape(self, shape):
        b = self.block
        mul = lambda v: None if v is None else v * b  # noqa: E731
        return (shape[0], mul(shape[1]), mul(shape[2]), shape[3] // (b * b))


@keras.saving.register_keras_serializable(package=PACKAGE)
class Luma(keras.layers.Layer):
    """RGB -> (N, H, W, 1) BT.601 luma."""

    def call(self, x):
        return ops.sum(x * ops.convert_to_tensor(LUMA_WEIGHTS, dtype=x.dtype), axis=-1, keepdims=True)

    def compute_output_shape(self, shape):
        return (*shape[:-1], 1)


@keras.saving.register_keras_serializable(package=PACKAGE)
class LumaChromaToRGB(keras.layers.Layer):
    """[Y (N,H,W,1), CbCr (N,H,W,2) centred on 0] -> RGB (BT.601 YCbCr inverse).

    A colorization model keeps the input's luminance exactly and predicts only chroma.
    """

    def call(self, inputs):
        y, cbcr = inputs
        cb, cr = cbcr[..., 0:1], cbcr[..., 1:2]
        r = y + 1.402 * cr
        g = y - 0.344136 * cb - 0.714136 * cr
        b = y + 1.772 * cb
        return ops.concatenate([r, g, b], axis=-1)

    def compute_output_shape(self, shapes):
        return (*shapes[0][:-1], 3)


@keras.saving.register_keras_serializable(package=PACKAGE)
class ModelInfo(keras.layers.Layer):
    """Identity layer whose config carries the model's denoisekit metadata (plain JSON),
    so a ``.keras`` file says how to use it, and loading needs no code of the file's own."""

    def __init__(self, metadata: dict | str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.metadata = json.loads(metadata) if isinstance(metadata, str) else dict(metadata or {})

    def call(self, x):
        return x

    def compute_output_shape(self, shape):
        return shape

    def get_config(self):
        return {**super().get_config(), "metadata": json.dumps(self.metadata, sort_keys=True)}


INFO_LAYER = "denoisekit_info"


@keras.saving.register_keras_serializable(package=PACKAGE)
class ImpulseFill(keras.layers.Layer):
    """(N, H, W, C) -> [filled (N, H, W, C), impulses (N, H, W, 1)]: each impulse (a pixel pure
    black or white in every channel) replaced by the Gaussian-weighted mean of the clean pixels
    around it (normalized convolution, Knutsson & Westin 1993), at the smallest of ``sigmas``
    that reaches any; impulses with none in reach keep their value. With ``pairs``, impulses
    with a clean pixel pair next to them get the edge-directed fill first (the one of
    ``impulses.edge_directed_fill(far=False)``), the Gaussian scales the rest: on the validation
    photo crops 1.8 / 0.9 / 0.3 dB closer than the Gaussian scales alone at 10 / 30 / 50%
    impulses (pairs 2 px away, which the classical fill takes next, did worse than the Gaussian
    at 50%). A salt-and-pepper model that sees this fill and the mask only has to correct the
    fill where the mask says."""

    #: Weight (out of 1) of clean pixels a scale needs before its mean is used.
    MIN_WEIGHT = 1e-3

    def __init__(self, sigmas: tuple[float, ...] | list[float] = (1.0, 2.0, 4.0), pairs: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sigmas = tuple(float(s) for s in sigmas)
        self.pairs = bool(pairs)

    @staticmethod
    def _reach(sigma: float) -> int:
        """Pixels a side one Gaussian reads: three sigmas, rounded up."""
        return int(3 * sigma + 0.999)

    @property
    def radius(self) -> int:
        """Pixels a side the fill reads (the widest Gaussian's reach, or the pairs' 1 px)."""
        return max([self._reach(s) for s in self.sigmas] + [1] * self.pairs)

    def _blur(self, x, sigma: float):
        import numpy as np

        half = self._reach(sigma)
        taps = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
        taps = (taps / taps.sum()).astype("float32")
        channels = x.shape[-1]
        # Separable, per channel; zero padding: the clean-pixel weights (the last channel) say
        # how much of each window lies inside the image, so borders need no special case.
        rows = ops.convert_to_tensor(np.tile(taps.reshape(-1, 1, 1, 1), (1, 1, channels, 1)), dtype=x.dtype)
        cols = ops.convert_to_tensor(np.tile(taps.reshape(1, -1, 1, 1), (1, 1, channels, 1)), dtype=x.dtype)
        return ops.depthwise_conv(ops.depthwise_conv(x, rows, padding="same"), cols, padding="same")

    def _paired(self, x, clean, todo):
        """``x`` with the edge-directed fill (``impulses.edge_directed_fill``, the same weights)
        of the impulses in ``todo`` that have a clean pair next to them; what is left to do."""
        from .impulses import AGREEMENT, NEAR_PAIRS

        pad = 1
        padding = [[0, 0], [pad, pad], [pad, pad], [0, 0]]
        values, usable = ops.pad(x, padding), ops.pad(clean, padding)  # the border counts as no data

        def shifted(t, dy, dx):  # t[y + dy, x + dx] for every pixel
            return t[:, pad + dy:(dy - pad) or None, pad + dx:(dx - pad) or None, :]

        total = weight_sum = 0.0
        for dy, dx in NEAR_PAIRS.tolist():
            ahead, behind = shifted(values, dy, dx), shifted(values, -dy, -dx)
            both = shifted(usable, dy, dx) * shifted(usable, -dy, -dx)
            disagreement = ops.mean(ops.abs(ahead - behind), axis=-1, keepdims=True)
            weight = both / ((disagreement + AGREEMENT) ** 2 * float(dy * dy + dx * dx))
            total = total + weight * 0.5 * (ahead + behind)
            weight_sum = weight_sum + weight
        use = todo * ops.cast(weight_sum > 0.0, x.dtype)
        return x + use * (total / ops.maximum(weight_sum, 1e-12) - x), todo - use

    def call(self, x):
        dark = ops.all(x <= 0.0, axis=-1, keepdims=True)
        bright = ops.all(x >= 1.0, axis=-1, keepdims=True)
        impulse = ops.cast(ops.logical_or(dark, bright), x.dtype)
        clean = 1.0 - impulse
        channels = x.shape[-1]
        weighted = ops.concatenate([x * clean, clean], axis=-1)  # the clean values and their weights
        filled, todo = x, impulse
        if self.pairs:
            filled, todo = self._paired(x, clean, todo)
        for sigma in self.sigmas:
            blurred = self._blur(weighted, sigma)
            total, weight = blurred[..., :channels], blurred[..., channels:]
            use = todo * ops.cast(weight > self.MIN_WEIGHT, x.dtype)
            filled = filled + use * (total / ops.maximum(weight, self.MIN_WEIGHT) - filled)
            todo = todo - use
        return [filled, impulse]

    def compute_output_shape(self, shape):
        return [tuple(shape), (*shape[:-1], 1)]

    def get_config(self):
        return {**super().get_config(), "sigmas": list(self.sigmas), "pairs": self.pairs}
