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
