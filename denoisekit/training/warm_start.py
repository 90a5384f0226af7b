"""Start a colour model from a trained gray one of the same architecture.

A gray denoiser already knows what noise and images look like; a colour model of the same
architecture differs only in the channels its first layer reads and its last layer writes. The
grown model's first layer reads the mean of the colour channels with the gray weights, and its
last writes the gray output to every channel, so before any training it restores the noise the
channels share (the colour model then learns what differs between them). Inner layers keep
their weights unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class WarmStartError(ValueError):
    """The two models differ in more than their channels."""


def _widen(weights: np.ndarray, target_shape: tuple[int, ...], axis: int, scale: float) -> np.ndarray | None:
    """``weights`` with each index along ``axis`` repeated once per colour channel (the channel
    varying fastest, as space-to-depth and plain channel layouts both order them), times ``scale``;
    None when that does not give ``target_shape``."""
    if weights.ndim != len(target_shape) or weights.shape[axis] == 0 or target_shape[axis] % weights.shape[axis]:
        return None
    repeats = target_shape[axis] // weights.shape[axis]
    grown = np.repeat(weights, repeats, axis=axis) * scale if repeats > 1 else None
    return grown if grown is not None and grown.shape == tuple(target_shape) else None


def grow_channels(source: Any, target: Any, channels: int) -> int:
    """Copy the gray Keras model ``source`` into ``target``, the same architecture built for
    ``channels`` channels: equal weights copied, the first layer's input weights shared out
    over the channels (each divided by ``channels``, so it reads their mean) and the last
    layer's output weights repeated. Returns how many layers were grown."""
    by_name = {layer.name: layer for layer in source.layers if layer.weights}
    grown = 0
    for layer in target.layers:
        if not layer.weights:
            continue
        if layer.name not in by_name:
            raise WarmStartError(f"layer {layer.name} of the colour model has no counterpart in the gray one")
        old = [np.asarray(w) for w in by_name[layer.name].get_weights()]
        new_shapes = [tuple(w.shape) for w in layer.get_weights()]
        if [w.shape for w in old] == new_shapes:
            layer.set_weights(old)
            continue
        values = []
        for weights, shape in zip(old, new_shapes):
            if weights.shape == shape:
                values.append(weights)
                continue
            # Kernels are (..., in, out): a wider input reads the mean, a wider output repeats.
            widened = (_widen(weights, shape, -2, 1.0 / channels) if weights.ndim >= 2 and
                       weights.shape[-1] == shape[-1] else None)
            if widened is None:
                widened = _widen(weights, shape, -1, 1.0)
            if widened is None:
                raise WarmStartError(f"layer {layer.name}: weights {weights.shape} cannot grow to {shape}")
            values.append(widened)
        layer.set_weights(values)
        grown += 1
    return grown
