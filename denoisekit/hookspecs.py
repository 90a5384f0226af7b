"""The denoisekit plugin contract: every hook a plugin may implement.

A plugin is a module (or object) whose functions are marked with
``denoisekit.hookimpl`` and whose distribution declares an entry point in the
group ``denoisekit``::

    [project.entry-points.denoisekit]
    poisson = "denoisekit_poisson"

Each hook receives a ``register`` callback. Call it once per thing the plugin
provides; one plugin may register several things of each kind. Names must be
unique across all installed plugins: a second plugin that registers a name
already taken is an error that names both providers.

The objects you register are plain classes or instances with these attributes
(see ``denoisekit.plugin_types`` for ready-made base classes):

- ``name``: str, unique within its kind, lower-case with dashes (``"salt-and-pepper"``).
- ``description``: str, one line.
- ``params``: tuple of ``denoisekit.Param``; each declares type, default and valid range,
  so ``-p key=value`` on the command line reaches the plugin with no core change.

The builtin corruptions, restorers and architectures are registered through
these same hooks (see ``denoisekit/builtins/``).
"""

from __future__ import annotations

from typing import Callable

import pluggy

hookspec = pluggy.HookspecMarker("denoisekit")


@hookspec
def register_corruptions(register: Callable[[object], None]) -> None:
    """Register noise models / degradations with ``register(corruption)``.

    A corruption has ``name``, ``description``, ``params`` and a method::

        apply(images: tf.Tensor, seed: tf.Tensor, **params) -> tf.Tensor

    ``images`` is a float32 batch in [0, 1], shape (N, H, W, C) with C = 1 or 3;
    ``seed`` is an int32 tensor of shape (2,) to use with TensorFlow's stateless
    random ops (``tf.random.stateless_*``), so the same seed gives the same noise;
    ``params`` holds the parsed values of the declared ``params``. Return a float32
    tensor of the same shape. Use TensorFlow ops only (no numpy, no Python loops
    over pixels): ``apply`` runs inside ``tf.data`` during training.
    """


@hookspec
def register_restorers(register: Callable[[object], None]) -> None:
    """Register image restorers (learned models, classical filters) with ``register(restorer)``.

    A restorer has ``name``, ``description``, ``params`` and a factory::

        make(**params) -> Callable[[np.ndarray], np.ndarray]

    ``make`` is called once per run (load weights there); the function it returns
    takes one float32 image in [0, 1] of shape (H, W, C), C = 1 or 3, RGB order, and
    returns the restored image with the same shape and range.
    """


@hookspec
def register_architectures(register: Callable[[object], None]) -> None:
    """Register Keras model architectures for ``denoisekit train --arch NAME``.

    An architecture has ``name``, ``description``, ``params`` and::

        build(channels: int, **params) -> keras.Model

    The model maps a noisy float32 batch (N, H, W, channels) in [0, 1] to the clean
    estimate of the same shape. A model that only accepts one input size declares it
    in its ``keras.Input`` shape (the trainer then uses that patch size and inference
    tiles at it); otherwise build it with ``keras.Input((None, None, channels))``.
    If height and width must be multiples of some number (downsampling steps), add a
    method ``size_multiple(**params) -> int``; inference pads to it, and training pads
    patches to it with the loss on the real pixels only. An optional method
    ``training_defaults(noise: str) -> dict`` returns what ``train`` uses against the
    corruption named ``noise`` where the user does not say: any of ``loss`` (a ``--loss``
    name), ``augment`` (none, flips, dihedral), ``schedule`` (cosine, constant) and
    ``arch_params`` (e.g. ``{"bias": True}``).
    Custom layers must be registered with ``keras.saving.register_keras_serializable``
    so saved models load with Keras ``safe_mode`` on.
    """
