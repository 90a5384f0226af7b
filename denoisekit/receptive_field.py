"""How far a fully convolutional Keras model looks: its theoretical receptive field, from its layers.

Restoring an image in chunks (``large.py``) is exact only if each chunk is read with at least
this much context on every side. The bound is worked out layer by layer on the model's graph,
per axis, as the span of input pixels each output pixel can depend on (convolutions, pooling,
transposed convolutions, up-sampling, pixel shuffles; pointwise layers and merges add nothing),
so it holds for any weights. A layer it does not know (a dense layer, a custom one) is an error
rather than a guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import ceil
from typing import Any

#: Layers that act on each pixel on its own: they pass their input's span on unchanged
#: (merges take the widest of their inputs').
POINTWISE = {
    "InputLayer", "Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax", "Rescaling",
    "BatchNormalization", "Dropout", "GaussianNoise", "GaussianDropout", "Identity", "Add", "Subtract",
    "Multiply", "Average", "Maximum", "Minimum", "Concatenate",
    # denoisekit's own (layers.py): colour conversions and the metadata layer
    "Luma", "LumaChromaToRGB", "ModelInfo",
}


@dataclass(frozen=True)
class Span:
    """Along one axis: a tensor's element ``o`` covers input pixels ``[o*jump, (o+1)*jump)`` and
    depends on input pixels from ``before`` below that cell to ``after`` above it."""

    before: Fraction = Fraction(0)
    after: Fraction = Fraction(0)
    jump: Fraction = Fraction(1)

    def conv(self, kernel: int, stride: int, dilation: int, pad: tuple[int, int]) -> "Span":
        """A convolution or pooling window; ``pad``: the least and most padding before the data."""
        extent = (kernel - 1) * dilation
        j = self.jump
        return Span(self.before + pad[1] * j, self.after + (extent - pad[0]) * j - (stride - 1) * j, j * stride)

    def transposed(self, kernel: int, stride: int, pad: tuple[int, int]) -> "Span":
        """A transposed convolution: output ``o`` gathers inputs ``q`` with ``o = q*stride + t - pad``."""
        j = self.jump / stride
        return Span(self.before + (kernel - 1 - pad[0]) * j, self.after + pad[1] * j + (self.jump - j), j)

    def spread(self, factor: int, extra: int = 0) -> "Span":
        """Up-sampling by ``factor`` (nearest, or ``extra`` input cells more each side for interpolation)."""
        j = self.jump / factor
        grow = (factor - 1) * j + extra * self.jump
        return Span(self.before + grow, self.after + grow, j)

    def merge(self, other: "Span") -> "Span":
        if self.jump != other.jump:
            raise ValueError("merges tensors of different resolutions")
        return Span(max(self.before, other.before), max(self.after, other.after), self.jump)


class UnknownLayer(ValueError):
    """A layer whose receptive field this module cannot bound; the message names it."""


def receptive_radius(model: Any) -> int:
    """Input pixels on each side that any output pixel of ``model`` (a Keras functional model,
    NHWC, output at the input's resolution) can depend on."""
    spans: dict[int, tuple[Span, Span]] = {id(t): (Span(), Span()) for t in model.inputs}
    for op in model.operations:
        for node in op._inbound_nodes:
            inputs = [spans[id(t)] for t in _flat(node.input_tensors) if id(t) in spans]
            if not inputs:
                continue
            try:
                out = _through(op, inputs)
            except ValueError as err:
                raise UnknownLayer(f"layer {op.name!r} ({type(op).__name__}): {err}") from None
            for tensor in _flat(node.output_tensors):
                spans[id(tensor)] = out
    (ys, xs) = spans[id(_flat(model.outputs)[0])]
    if ys.jump != 1 or xs.jump != 1:
        raise UnknownLayer("the model's output is not at its input's resolution")
    return max(0, ceil(max(ys.before, ys.after, xs.before, xs.after)))


def _flat(tensors: Any) -> list[Any]:
    if isinstance(tensors, (list, tuple)):
        return [t for item in tensors for t in _flat(item)]
    if isinstance(tensors, dict):
        return [t for item in tensors.values() for t in _flat(item)]
    return [tensors]


def _pair(value: Any) -> tuple[int, int]:
    return (int(value), int(value)) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _padding(padding: str, kernel: int, dilation: int, stride: int) -> tuple[int, int]:
    """The least and most padding before the data: none for ``valid``; for ``same`` TensorFlow's
    half of the total, which with a stride depends on the input's size."""
    if padding == "valid":
        return (0, 0)
    half = ((kernel - 1) * dilation) // 2
    return (half, half) if stride == 1 else (0, half)


def _through(op: Any, inputs: list[tuple[Span, Span]]) -> tuple[Span, Span]:
    kind = type(op).__name__
    if kind in POINTWISE:
        if kind == "Concatenate" and op.axis not in (-1, 3):
            raise ValueError("concatenates along a spatial axis")
        ys, xs = inputs[0]
        for other_y, other_x in inputs[1:]:
            ys, xs = ys.merge(other_y), xs.merge(other_x)
        return ys, xs
    (ys, xs), = inputs
    if kind in ("Conv2D", "DepthwiseConv2D", "SeparableConv2D", "MaxPooling2D", "AveragePooling2D"):
        pooling = "Pooling" in kind
        kernel = _pair(op.pool_size if pooling else op.kernel_size)
        stride = _pair(op.strides)
        dilation = (1, 1) if pooling else _pair(op.dilation_rate)
        return tuple(span.conv(k, s, d, _padding(op.padding, k, d, s))  # type: ignore[return-value]
                     for span, k, s, d in zip((ys, xs), kernel, stride, dilation))
    if kind == "Conv2DTranspose":
        if _pair(op.dilation_rate) != (1, 1):
            raise ValueError("dilated transposed convolution")
        kernel, stride = _pair(op.kernel_size), _pair(op.strides)
        pads = [(0, 0) if op.padding == "valid" else (0, max(k - s, 0)) for k, s in zip(kernel, stride)]
        return tuple(span.transposed(k, s, p)  # type: ignore[return-value]
                     for span, k, s, p in zip((ys, xs), kernel, stride, pads))
    if kind == "UpSampling2D":
        extra = 0 if op.interpolation == "nearest" else 1
        return tuple(span.spread(f, extra) for span, f in zip((ys, xs), _pair(op.size)))  # type: ignore[return-value]
    if kind == "SpaceToDepth":
        return ys.conv(op.block, op.block, 1, (0, 0)), xs.conv(op.block, op.block, 1, (0, 0))
    if kind == "DepthToSpace":
        return ys.spread(op.block), xs.spread(op.block)
    if kind == "ImpulseFill":
        side = 2 * op.radius + 1
        return ys.conv(side, 1, 1, (op.radius, op.radius)), xs.conv(side, 1, 1, (op.radius, op.radius))
    raise ValueError("its receptive field is unknown (not a convolution, pooling, up-sampling or pointwise layer)")
