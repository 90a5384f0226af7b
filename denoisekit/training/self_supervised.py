"""Training on noisy images alone: Neighbor2Neighbor and Noise2Void-style blind spots.

Neighbor2Neighbor (Huang et al., CVPR 2021): a random neighbour sub-sampler picks, in each
2x2 cell of a noisy image y, one pixel for g1(y) and a horizontally or vertically adjacent
one for g2(y): two half-size images of nearly the same scene with independent noise. The
network learns to map one to the other, plus a regulariser for the small shift between
them, with f(y) under stop-gradient:

    ||f(g1(y)) - g2(y)||^2 + gamma * ||f(g1(y)) - g2(y) - (g1(f(y)) - g2(f(y)))||^2

Noise2Void (Krull et al., CVPR 2019): a few per cent of the pixels are replaced by a random
neighbour (within a 5x5 window, the pixel itself excluded), and the loss is taken on those
pixels only, so the network cannot learn the identity.

Both rely on noise that is zero-mean and independent from pixel to pixel; both use L2,
whose minimiser is the mean, i.e. the clean signal. Masks and sub-sampler choices are drawn
in the tf.data pipeline (stateless, seeded per batch); the losses are Keras ops, so the
wrapper trains on any Keras backend. The wrapper only trains: the saved model is the plain
denoiser inside it (:func:`denoiser_of`).
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from ..metrics import mean
from ..noise_level import estimate_sigma
from ..tf_setup import tensorflow
from . import METHODS
from .patches import patch_batches, with_batch_seeds
from .validation import predict_pairs

NEIGHBOR2NEIGHBOR, NOISE2VOID = METHODS
#: Neighbor2Neighbor's regulariser weight (the paper's gamma).
GAMMA = 2.0
#: Share of pixels Noise2Void masks per patch, and the half-width of the window their
#: replacements come from (5x5, as n2v's default).
MASK_RATIO = 0.02
MASK_RADIUS = 2


def size_factor(method: str) -> int:
    """Patches and validation crops must be a multiple of this times the architecture's
    size multiple: Neighbor2Neighbor feeds the network half-size sub-images."""
    return 2 if method == NEIGHBOR2NEIGHBOR else 1


# --------------------------------------------------------------------------- Neighbor2Neighbor


def neighbor_choices(shape: Any, seed: Any) -> Any:
    """Int32 (*shape, 2): for each 2x2 cell the positions (2 * row + column, 0-3) of the
    pixel for g1 and of the adjacent one for g2. All 8 ordered pairs of side-sharing pixels
    are equally likely, and the two positions always differ."""
    tf = tensorflow()
    first_seed, side_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    first = tf.random.stateless_uniform(shape, first_seed, 0, 4, tf.int32)
    side = tf.random.stateless_uniform(shape, side_seed, 0, 2, tf.int32)
    # Bit 0 of a position is its column, bit 1 its row: flipping one bit gives the pixel
    # beside it (bit 0) or below/above it (bit 1).
    second = tf.bitwise.bitwise_xor(first, tf.bitwise.left_shift(tf.ones_like(side), side))
    return tf.stack([first, second], axis=-1)


def subsample(images: Any, choice: Any) -> Any:
    """(N, H, W, C) images -> (N, H/2, W/2, C): from each 2x2 cell, the pixel ``choice``
    (N, H/2, W/2) names (2 * row + column). Keras ops; differentiable in ``images``."""
    shape = ops.shape(images)
    h, w, c = shape[1] // 2, shape[2] // 2, shape[3]
    cells = ops.reshape(images, (-1, h, 2, w, 2, c))
    cells = ops.reshape(ops.transpose(cells, (0, 1, 3, 2, 4, 5)), (-1, h, w, 4, c))
    pick = ops.expand_dims(ops.one_hot(choice, 4, dtype=images.dtype), -1)
    return ops.sum(cells * pick, axis=3)


def neighbor2neighbor_loss(denoise: Any, noisy: Any, choices: Any, restored: Any, gamma: float = GAMMA) -> Any:
    """Neighbor2Neighbor's loss for one batch: ``denoise`` is the network f, ``restored``
    is f(noisy), taken under stop-gradient (the paper's choice: the regulariser steers
    f(g1(y)) only)."""
    first, second = choices[..., 0], choices[..., 1]
    g1, g2 = subsample(noisy, first), subsample(noisy, second)
    residual = denoise(g1) - g2
    full = ops.stop_gradient(restored)
    shift = subsample(full, first) - subsample(full, second)
    return ops.mean(ops.square(residual)) + gamma * ops.mean(ops.square(residual - shift))


# --------------------------------------------------------------------------- Noise2Void


def blind_spots(images: Any, seed: Any, ratio: float = MASK_RATIO, radius: int = MASK_RADIUS) -> tuple[Any, Any]:
    """Noise2Void's input: ``images`` (N, H, W, C) with about ``ratio`` of the pixels
    (all channels together) replaced by a pixel drawn uniformly from the (2r+1)^2 - 1
    others of the window around it (mirrored at the border), and the float mask (N, H, W, 1)
    of the replaced pixels."""
    tf = tensorflow()
    where_seed, offset_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    shape = tf.shape(images)
    n, h, w = shape[0], shape[1], shape[2]
    mask = tf.random.stateless_uniform([n, h, w], where_seed) < ratio
    side = 2 * radius + 1
    # Uniform over the window less its centre: draw one of side^2 - 1 cells, skip the centre.
    cell = tf.random.stateless_uniform([n, h, w], offset_seed, 0, side * side - 1, tf.int32)
    cell += tf.cast(cell >= side * side // 2, tf.int32)
    rows = _mirror(tf.range(h)[None, :, None] + cell // side - radius, h)
    cols = _mirror(tf.range(w)[None, None, :] + cell % side - radius, w)
    batch = tf.broadcast_to(tf.range(n)[:, None, None], [n, h, w])
    neighbours = tf.gather_nd(images, tf.stack([batch, rows, cols], axis=-1))
    masked = tf.where(mask[..., None], neighbours, images)
    return masked, tf.cast(mask[..., None], images.dtype)


def _mirror(index: Any, size: Any) -> Any:
    """Indices reflected back into [0, size) (…, 1, 0, 1, … at the start)."""
    tf = tensorflow()
    index = tf.abs(index)
    return tf.where(index >= size, 2 * (size - 1) - index, index)


def masked_mse(target: Any, prediction: Any, mask: Any) -> Any:
    """Mean squared error over the pixels where ``mask`` (N, H, W, 1) is 1, and nowhere else."""
    squared = ops.square(prediction - target) * mask
    count = ops.sum(mask) * ops.cast(ops.shape(target)[-1], mask.dtype)
    return ops.sum(squared) / ops.maximum(count, 1.0)


# --------------------------------------------------------------------------- feeds


def prepare_batch(method: str, noisy: Any, seed: Any, ratio: float = MASK_RATIO, real: Any = None) -> tuple[Any, Any]:
    """(x, y) for the trainer from a noisy batch: Neighbor2Neighbor gets the batch and the
    sub-sampler's choices; Noise2Void the blind-spot input and (noisy, mask) stacked, the mask
    left 0 where ``real`` (N, H, W, 1: 0 on padding) says a pixel is padding, so its loss is
    taken on real pixels only (and padding.pad_batch, which zeroes a target's last channel on
    the padding it adds, keeps it so)."""
    tf = tensorflow()
    if method == NEIGHBOR2NEIGHBOR:
        shape = tf.shape(noisy)
        return noisy, neighbor_choices(tf.stack([shape[0], shape[1] // 2, shape[2] // 2]), seed)
    masked, mask = blind_spots(noisy, seed, ratio)
    if real is not None:
        mask = mask * real
    return masked, tf.concat([noisy, mask], axis=-1)


def noisy_dataset(images: list[np.ndarray], method: str, *, patch: int, batch: int, seed: int,
                  augment: str | bool = "dihedral") -> Any:
    """An endless ``tf.data.Dataset`` of (x, y) batches for :class:`SelfSupervised` from noisy
    images. Images smaller than the patch are padded: Noise2Void's loss leaves the padding out;
    Neighbor2Neighbor's sub-images take it as they are (its patches need no padding otherwise)."""
    channels = images[0].shape[-1]
    batches = patch_batches(images, patch=patch, batch=batch, seed=seed, augment=augment, mask=True)
    return with_batch_seeds(batches, lambda both, s: prepare_batch(method, both[..., :channels], s,
                                                                   real=both[..., channels:]), seed + 1)


def method_loss(method: str, denoise: Any, x: Any, y: Any, restored: Any, gamma: float = GAMMA) -> Any:
    """The loss of ``method`` for one (x, y) batch of :func:`prepare_batch`; ``restored`` is
    ``denoise(x)``."""
    if method == NEIGHBOR2NEIGHBOR:
        return neighbor2neighbor_loss(denoise, x, y, restored, gamma)
    channels = ops.shape(restored)[-1]
    return masked_mse(y[..., :channels], restored, y[..., channels:])


# --------------------------------------------------------------------------- the trainer


@keras.saving.register_keras_serializable(package="denoisekit")
class SelfSupervised(keras.Model):
    """Trains ``denoiser`` by a self-supervised ``method``; calling it calls the denoiser
    (so validation and prediction see the plain model), ``compute_loss`` is the method's."""

    def __init__(self, denoiser: Any, method: str = NEIGHBOR2NEIGHBOR, gamma: float = GAMMA, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if method not in METHODS:
            raise ValueError(f"unknown self-supervised method {method!r} (choose from {', '.join(METHODS)})")
        self.denoiser, self.method, self.gamma = denoiser, method, float(gamma)

    def call(self, inputs: Any, training: bool = False) -> Any:
        return self.denoiser(inputs, training=training)

    def build(self, input_shape: Any = None) -> None:
        self.built = True  # the denoiser comes built

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        denoise = lambda images: self.denoiser(images, training=training)  # noqa: E731
        return _per_replica(method_loss(self.method, denoise, x, y, y_pred, self.gamma))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "denoiser": keras.saving.serialize_keras_object(self.denoiser),
                "method": self.method, "gamma": self.gamma}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "SelfSupervised":
        config = dict(config)
        denoiser = keras.saving.deserialize_keras_object(config.pop("denoiser"))
        return cls(denoiser, **config)


def _per_replica(loss: Any) -> Any:
    """A replica's share of the loss under tf.distribute (gradients are summed over replicas),
    as Keras' own losses scale theirs; the logged loss is scaled back by Keras."""
    if keras.backend.backend() == "tensorflow":
        replicas = tensorflow().distribute.get_strategy().num_replicas_in_sync
        if replicas > 1:
            loss = loss / replicas
    return loss


def denoiser_of(model: Any) -> Any:
    """The plain denoiser a (possibly wrapped) training model holds."""
    return model.denoiser if isinstance(model, SelfSupervised) else model


class HeldOutNoisy(keras.callbacks.Callback):
    """Validation without clean images: adds to each epoch's logs, on held-out noisy crops,
    ``val_loss`` (the method's loss without Neighbor2Neighbor's regulariser, with masks fixed
    once, so epochs compare: at gamma 2 the full loss is lower for the identity map, 2 sigma^2,
    than for a perfect denoiser, 3 sigma^2, so it would pick the least trained epoch; the
    reconstruction term alone is the denoiser's error on g1(y) plus sigma^2), ``val_noise``
    (the wavelet estimate of the noise left in the output, 0-255) and ``val_removed`` (the std
    of what the model took away, 0-255: about the noise's own std when it removes noise and
    keeps detail). Computed here on each worker alike, not by Keras' distributed evaluation."""

    def __init__(self, crops: list[np.ndarray], method: str, seed: int) -> None:
        super().__init__()
        tf = tensorflow()
        self.crops, self.method = crops, method
        self.batches = [tuple(np.asarray(t) for t in prepare_batch(method, tf.constant(c[None]),
                                                                   tf.constant([seed, i], tf.int32)))
                        for i, c in enumerate(crops)]
        self.input_noise = mean(estimate_sigma(c) for c in crops)

    def figures(self, denoiser: Any) -> dict[str, float]:
        """The held-out loss and noise figures of ``denoiser`` (a plain model or the wrapper)."""
        model = denoiser_of(denoiser)
        run = model.predict_on_batch
        losses = [float(method_loss(self.method, run, x, y, run(x), gamma=0.0)) for x, y in self.batches]
        outputs = predict_pairs(model, [(c, c) for c in self.crops])
        return {"loss": mean(losses), "noise": mean(estimate_sigma(o) for o in outputs),
                "removed": mean(float(np.std(c - o)) * 255.0 for c, o in zip(self.crops, outputs))}

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            logs.update({f"val_{k}": v for k, v in self.figures(self.model).items()})
