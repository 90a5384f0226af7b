"""Start a model from a trained one of the same architecture: a colour model from a gray one,
or one with more channels or inputs in some layers.

A gray denoiser already knows what noise and images look like; a colour model of the same
architecture differs only in the channels its first layer reads and its last layer writes. The
grown model's first layer reads the mean of the colour channels with the gray weights, and its
last writes the gray output to every channel, so before any training it restores the noise the
channels share (the colour model then learns what differs between them). Inner layers keep
their weights unchanged.

A model with more inputs to a layer (an appended impulse mask) or more channels in a layer (a
wider lowest level) starts out computing what the trained one did: every weight it had is
copied, and the weights that read a new channel or input are zero, so new channels change
nothing until training moves those weights (their own incoming weights keep the new model's
random initialisation, so they compute something for the gradient to use: Net2Net's
function-preserving widening, Chen et al. 2016, with zero read-out instead of split copies).
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


def _transfer(source: Any, target: Any, adapt: Callable[[Any, np.ndarray, np.ndarray], np.ndarray]) -> int:
    """Copy each weight of ``source`` into the layer of the same name in ``target``; weights
    whose shape differs go through ``adapt(target layer, weights, the target's own)``. Returns
    how many layers had a weight adapted."""
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
                weights, changed = adapt(layer, weights, current), True
            values.append(weights)
        layer.set_weights(values)
        adapted += changed
    return adapted


def grow_channels(source: Any, target: Any, channels: int) -> int:
    """Copy the gray Keras model ``source`` into ``target``, the same architecture built for
    ``channels`` channels: equal weights copied, the first layer's input weights shared out
    over the channels (each divided by ``channels``, so it reads their mean) and the last
    layer's output weights repeated. Returns how many layers were grown."""

    def grow(layer: Any, weights: np.ndarray, current: np.ndarray) -> np.ndarray:
        shape = tuple(current.shape)
        # Kernels are (..., in, out): a wider input reads the mean, a wider output repeats.
        widened = _widen(weights, shape, -2, 1.0 / channels) if weights.shape[-1:] == shape[-1:] else None
        if widened is None:
            widened = _widen(weights, shape, -1, 1.0)
        if widened is None:
            raise WarmStartError(f"layer {layer.name}: weights {weights.shape} cannot grow to {shape}")
        return widened

    return _transfer(source, target, grow)


def _layer_names(model: Any) -> set[str]:
    """The names of a model's layers, less the metadata layer a saved model carries."""
    from ..layers import INFO_LAYER

    return {layer.name for layer in model.layers} - {INFO_LAYER}


def add_channels(source: Any, target: Any) -> int:
    """Copy ``source`` into ``target``, the same architecture with more inputs to some layers
    (a parameter that appends channels, such as the U-Net's impulse mask) or more channels in
    some (a wider level): the weights ``source`` had are copied, the weights reading a new
    channel or input are zero, and those computing a new channel from the old ones keep
    ``target``'s initialisation, so ``target`` starts out computing what ``source`` did.
    Returns how many layers changed shape."""

    # New layers (an impulse prefill) compute something new by design, so the result cannot be
    # checked against ``source``: there only appended inputs are allowed.
    same_layers = _layer_names(target) == _layer_names(source)

    def extend(layer: Any, weights: np.ndarray, current: np.ndarray) -> np.ndarray:
        # Kernels are (..., in, out); a transposed convolution's are (..., out, in).
        inputs = weights.ndim - 1 if type(layer).__name__ == "Conv2DTranspose" else weights.ndim - 2
        grown = [axis for axis in range(weights.ndim) if weights.shape[axis] != current.shape[axis]]
        if weights.ndim != current.ndim or any(a > b for a, b in zip(weights.shape, current.shape)) or (
                weights.ndim >= 3 and weights.shape[:-2] != current.shape[:-2]) or (
                not same_layers and grown != [inputs]):
            raise WarmStartError(f"layer {layer.name}: weights {weights.shape} cannot become {current.shape}")
        extended = np.array(current, copy=True)
        if weights.ndim >= 2:
            new_inputs = [slice(None)] * weights.ndim
            new_inputs[inputs] = slice(weights.shape[inputs], None)
            extended[tuple(new_inputs)] = 0.0
        else:  # a bias: new channels start at zero
            extended[weights.shape[0]:] = 0.0
        extended[tuple(slice(0, n) for n in weights.shape)] = weights
        return extended

    changed = _transfer(source, target, extend)
    if not same_layers:
        return changed
    # Same layers, more channels: the copy keeps each layer's old channels first, and a channel
    # added before a concatenation's later part (every level wider: the skip connections) would
    # shift it. Checked, not assumed.
    side = [int(n) if n else 64 for n in source.input_shape[1:3]]
    probe = np.random.default_rng(0).uniform(0.05, 0.95, (1, *side, source.input_shape[-1])).astype("float32")
    if not np.allclose(target.predict_on_batch(probe), source.predict_on_batch(probe), atol=1e-4):
        raise WarmStartError(f"{target.name} with the added channels does not start out as {source.name}: "
                             "only inputs appended to a layer, or a wider lowest level, can be added")
    return changed
