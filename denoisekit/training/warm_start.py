"""Start a colour model from a trained gray one of the same architecture.

A gray denoiser already knows what noise and images look like; a colour model of the same
architecture differs only in the channels its first layer reads and its last layer writes. The
grown model's first layer reads the mean of the colour channels with the gray weights, and its
last writes the gray output to every channel, so before any training it restores the noise the
channels share (the colour model then learns what differs between them). Inner layers keep
their weights unchanged.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np


class WarmStartError(ValueError):
    """The two models differ in more than their channels."""


def _widen(weights: np.ndarray, target_shape: tuple[int, ...], axis: int, scale: float) -> np.ndarray | None:
    """``weights`` with each index along ``axis`` repeated once per colour channel (the channel
    varying fastest, as space-to-depth and plain channel layouts both order them), times ``scale``;
    None when that does not give ``target_shape``."""
    if weights.ndim != len(target_shape) or not 0 < weights.shape[axis] < target_shape[axis]:
        return None
    grown = np.repeat(weights, target_shape[axis] // weights.shape[axis], axis=axis) * scale
    return grown if grown.shape == tuple(target_shape) else None


def _transfer(source: Any, target: Any, adapt: Callable[[str, np.ndarray, tuple[int, ...]], np.ndarray]) -> int:
    """Copy each weight of ``source`` into the layer of the same name in ``target``; weights
    whose shape differs go through ``adapt(layer name, weights, target shape)``. Returns how
    many layers had a weight adapted."""
    by_name = {layer.name: layer for layer in source.layers if layer.weights}
    adapted = 0
    for layer in target.layers:
        if not layer.weights:
            continue
        if layer.name not in by_name:
            raise WarmStartError(f"layer {layer.name} of the new model has no counterpart in {source.name}")
        values, changed = [], False
        for weights, current in zip(by_name[layer.name].get_weights(), layer.get_weights()):
            if weights.shape != current.shape:
                weights, changed = adapt(layer.name, weights, tuple(current.shape)), True
            values.append(weights)
        layer.set_weights(values)
        adapted += changed
    return adapted


def grow_channels(source: Any, target: Any, channels: int) -> int:
    """Copy the gray Keras model ``source`` into ``target``, the same architecture built for
    ``channels`` channels: equal weights copied, the first layer's input weights shared out
    over the channels (each divided by ``channels``, so it reads their mean) and the last
    layer's output weights repeated. Returns how many layers were grown."""

    def grow(name: str, weights: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        # Kernels are (..., in, out): a wider input reads the mean, a wider output repeats.
        widened = _widen(weights, shape, -2, 1.0 / channels) if weights.shape[-1:] == shape[-1:] else None
        if widened is None:
            widened = _widen(weights, shape, -1, 1.0)
        if widened is None:
            raise WarmStartError(f"layer {name}: weights {weights.shape} cannot grow to {shape}")
        return widened

    return _transfer(source, target, grow)


def add_inputs(source: Any, target: Any) -> int:
    """Copy ``source`` into ``target``, the same architecture with more inputs to some layers
    (a parameter that appends channels, such as the U-Net's impulse mask): equal weights
    copied, and each kernel whose input axis grew keeps its weights for the first inputs and
    reads the appended ones with zero weights, so ``target`` starts out computing what
    ``source`` did. Returns how many layers gained inputs."""

    def append(name: str, weights: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        if not (weights.ndim == len(shape) >= 2 and weights.shape[:-2] == shape[:-2]
                and weights.shape[-1] == shape[-1] and weights.shape[-2] < shape[-2]):
            raise WarmStartError(f"layer {name}: weights {weights.shape} cannot become {shape}")
        pad = [(0, 0)] * weights.ndim
        pad[-2] = (0, shape[-2] - weights.shape[-2])
        return np.pad(weights, pad)

    return _transfer(source, target, append)
