"""One guard around every call into a plugin: its exception, or a result that breaks the
contract, becomes one ``PluginCallError`` line naming the plugin and its distribution.

``DENOISEKIT_DEBUG=1`` lets a plugin's own exception (and traceback) through instead.
Corruptions applied to numpy images are guarded in ``noise_ops.apply_corruption``, and in
the training feed by the trainer; this module guards the other calls: a restorer's function,
an architecture's ``build`` and ``size_multiple``, a corruption's ``untouched`` and ``fill``.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from .plugins import PluginCallError, debugging, describe

#: A restorer returns values in [0, 1]; a model's small overshoot is clipped, but values past
#: these bounds mean another scale (0-255, say), which clipping would turn into a white image.
RESTORED_RANGE = (-0.5, 1.5)


def call_plugin(kind: str, obj: object, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``, a method of plugin ``obj``; its exception named in one line."""
    try:
        return fn(*args, **kwargs)
    except PluginCallError:
        raise
    except Exception as err:
        if debugging():
            raise
        raise PluginCallError(f"{describe(kind, obj)} failed in {what}: {type(err).__name__}: {err}") from None


class GuardedRestore:
    """A restorer plugin's function, called through the guard and its result checked: an
    ``(H, W, 1 or 3)`` array of the input's height and width, finite, in about [0, 1].

    Other attributes (``notes``, ``last_model`` of the model restorer, ``many_limit``) are the
    function's own.
    """

    def __init__(self, plugin: object, fn: Callable[[np.ndarray], np.ndarray]) -> None:
        self.plugin, self.fn = plugin, fn

    def __getattr__(self, name: str) -> Any:
        return getattr(self.fn, name)

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        if getattr(pixels, "ndim", None) != 3:  # else the plugin's own error, or a wrong "returned shape"
            raise ValueError(f"a restorer takes one (H, W, C) float32 image in [0, 1], not shape "
                             f"{getattr(pixels, 'shape', type(pixels).__name__)} (a gray image: image[..., None])")
        return self._checked(pixels, call_plugin("restorer", self.plugin, "restoring an image", self.fn, pixels))

    def restore_many(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The function's ``restore_many`` (several images of one shape at once), guarded, each
        result checked as one image's; one call per image for a function without it."""
        many = getattr(self.fn, "restore_many", None)
        if not callable(many):
            return [self(image) for image in images]
        outs = call_plugin("restorer", self.plugin, "restoring images", many, list(images))
        if not isinstance(outs, (list, tuple)) or len(outs) != len(images):
            given = f"{len(outs)} results" if isinstance(outs, (list, tuple)) else type(outs).__name__
            raise self._broken(f"restore_many returned {given} for {len(images)} images (expected a list, one each)")
        return [self._checked(image, out) for image, out in zip(images, outs)]

    def _checked(self, pixels: np.ndarray, out: Any) -> np.ndarray:
        """One result as float32, or a ``PluginCallError`` saying how it breaks the contract."""
        given = type(out).__name__
        try:
            out = None if out is None else np.asarray(out, np.float32)
        except (TypeError, ValueError):
            out = None
        if out is None:
            raise self._broken(f"returned {given}, not an array of pixels")
        height, width = pixels.shape[:2]
        if out.ndim != 3 or out.shape[:2] != (height, width) or out.shape[2] not in (1, 3):
            raise self._broken(f"returned shape {out.shape} for an image of shape {pixels.shape} "
                               f"(expected ({height}, {width}, 1 or 3))")
        if not np.isfinite(out).all():
            raise self._broken("returned NaN or infinite values")
        low, high = (float(out.min()), float(out.max())) if out.size else (0.0, 0.0)
        if low < RESTORED_RANGE[0] or high > RESTORED_RANGE[1]:
            raise self._broken(f"returned values from {low:g} to {high:g} (a restorer returns values in [0, 1])")
        return out

    def _broken(self, text: str) -> PluginCallError:
        return PluginCallError(f"{describe('restorer', self.plugin)} {text}")


def guarded_restorer(plugin: object, **values: Any) -> GuardedRestore:
    """``plugin.make(**values)``, guarded, its function wrapped in ``GuardedRestore``."""
    return GuardedRestore(plugin, call_plugin("restorer", plugin, "make()", plugin.make, **values))


def build_model(plugin: object, channels: int, **params: Any) -> Any:
    """``plugin.build(channels, **params)``, guarded and checked: a Keras model taking and
    returning images of ``channels`` channels of any size the architecture allows."""
    import keras

    model = call_plugin("architecture", plugin, "build()", plugin.build, channels, **params)
    name = describe("architecture", plugin)
    if not isinstance(model, keras.Model):
        raise PluginCallError(f"{name} build() returned {type(model).__name__}, not a keras.Model")
    shapes = [tuple(model.input_shape), tuple(model.output_shape)]
    if any(len(shape) != 4 for shape in shapes):
        raise PluginCallError(f"{name} build() made a model of input {shapes[0]} and output {shapes[1]}: "
                              f"both must be (batch, height, width, channels)")
    if shapes[0][-1] != channels or shapes[1][1:] != shapes[0][1:]:
        raise PluginCallError(f"{name} build() made a model from {shapes[0]} to {shapes[1]}: "
                              f"a denoiser maps {channels}-channel images to images of the same shape")
    return model


def size_multiple(plugin: object, **params: Any) -> int:
    """The architecture's ``size_multiple(**params)`` (1 when it has none), guarded: a positive int."""
    method = getattr(plugin, "size_multiple", None)
    if not callable(method):
        return 1
    value = call_plugin("architecture", plugin, "size_multiple()", method, **params)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise PluginCallError(f"{describe('architecture', plugin)} size_multiple() returned {value!r}, "
                              f"not a positive integer")
    return int(value)


def impulse_mask(plugin: object, noisy: np.ndarray) -> np.ndarray | None:
    """A corruption's ``untouched(noisy)`` (None when it has none), guarded: None or a boolean
    mask of the image's shape."""
    method = getattr(plugin, "untouched", None)
    if not callable(method):
        return None
    mask = call_plugin("corruption", plugin, "untouched()", method, noisy)
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.shape != noisy.shape or mask.dtype != np.bool_:
        raise PluginCallError(f"{describe('corruption', plugin)} untouched() returned {mask.dtype} of shape "
                              f"{mask.shape} for an image of shape {noisy.shape} (expected a bool mask of that shape)")
    return mask


def classical_fill(plugin: object, noisy: np.ndarray) -> np.ndarray | None:
    """A corruption's ``fill(noisy)`` (None when it has none), guarded: None or a finite float
    image of the noisy image's shape."""
    method = getattr(plugin, "fill", None)
    if not callable(method):
        return None
    estimate = call_plugin("corruption", plugin, "fill()", method, noisy)
    if estimate is None:
        return None
    estimate = np.asarray(estimate, np.float32)
    if estimate.shape != noisy.shape or not np.isfinite(estimate).all():
        raise PluginCallError(f"{describe('corruption', plugin)} fill() returned shape {estimate.shape} "
                              f"(finite: {bool(np.isfinite(estimate).all())}) for an image of shape {noisy.shape}")
    return estimate
