"""The textbook's denoising autoencoder on digits, trained with plain Keras, and the recipe
choices in which denoisekit's training differs from it, each a switch.

The model is the conv autoencoder of the autoencoder chapter (Atienza, "Advanced Deep
Learning with Keras", ch. 3): Conv2D 32 and 64 with stride 2, a Dense latent of 16, a
linear Dense back to 7x7x64, Conv2DTranspose 64 and 32 with stride 2, a Conv2DTranspose to
one channel and a sigmoid; MSE, Adam at Keras's default rate, batch 32, 10 epochs, the
noise drawn once, no augmentation. Used by examples/digits.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from denoisekit.training.schedules import RunSchedule

#: The switches, each one of denoisekit's choices (or the textbook's, where it is the default).
SWITCHES = ("quantize", "fresh_noise", "dense_relu", "dihedral", "holdout")


@dataclass(frozen=True)
class Recipe:
    """How the textbook model is trained; each field True takes denoisekit's way instead."""

    quantize: bool = False  # noisy training inputs rounded to 8 bits (as the stored test inputs are)
    fresh_noise: bool = False  # new noise every epoch, not one draw for the whole run
    schedule: str = "constant"  # or cosine, wsd: the learning rate as `train --schedule` shapes it
    dense_relu: bool = False  # a ReLU after the decoder's Dense (denoisekit's autoencoder before this change)
    dihedral: bool = False  # random flips and 90-degree turns of each training digit
    holdout: bool = False  # every tenth digit held out for validation, as `train --data DIR` does


def build(latent: int = 16, dense_relu: bool = False):
    """The chapter's conv autoencoder for 28x28x1 digits (uncompiled)."""
    import keras
    from keras import layers

    inputs = keras.Input((28, 28, 1))
    x = inputs
    for filters in (32, 64):
        x = layers.Conv2D(filters, 3, strides=2, activation="relu", padding="same")(x)
    x = layers.Flatten()(x)
    code = layers.Dense(latent, name="latent")(x)
    x = layers.Dense(7 * 7 * 64, activation="relu" if dense_relu else None)(code)
    x = layers.Reshape((7, 7, 64))(x)
    for filters in (64, 32):
        x = layers.Conv2DTranspose(filters, 3, strides=2, activation="relu", padding="same")(x)
    x = layers.Conv2DTranspose(1, 3, padding="same")(x)
    outputs = layers.Activation("sigmoid")(x)
    return keras.Model(inputs, outputs, name="textbook")


def _noisy(clean: np.ndarray, sigma: float, rng: np.random.Generator, quantize: bool) -> np.ndarray:
    noisy = np.clip(clean + rng.normal(0.0, sigma / 255.0, clean.shape), 0.0, 1.0)
    return (np.round(noisy * 255.0) / 255.0 if quantize else noisy).astype(np.float32)


def _dihedral(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each image (N, 28, 28, 1) flipped or not and turned by 0-3 quarter turns, at random."""
    out = np.where(rng.random(len(images))[:, None, None, None] < 0.5, images[:, :, ::-1], images)
    turns = rng.integers(0, 4, len(images))
    for k in range(1, 4):  # one vectorised rot90 per turn count
        out[turns == k] = np.rot90(out[turns == k], k, axes=(1, 2))
    return out


def train_textbook(clean: np.ndarray, sigma: float, seed: int, recipe: Recipe = Recipe(), *,
                   epochs: int = 10, batch: int = 32, verbose: int = 2):
    """Train the textbook model on clean digits (N, 28, 28, 1) in [0, 1] with Gaussian noise ``sigma``
    (0-255 scale, clipped) and return it. ``recipe`` switches on denoisekit's choices one by one."""
    import keras

    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    if recipe.holdout:
        clean = np.delete(clean, np.arange(9, len(clean), 10), axis=0)
    model = build(dense_relu=recipe.dense_relu)
    steps = epochs * (len(clean) // batch)
    rate = RunSchedule(1e-3, steps, recipe.schedule)
    model.compile(optimizer=keras.optimizers.Adam(rate), loss="mse")
    noisy = _noisy(clean, sigma, rng, recipe.quantize)
    for epoch in range(epochs):  # one fit per epoch, so that noise and turns can change between them
        if recipe.fresh_noise and epoch:
            noisy = _noisy(clean, sigma, rng, recipe.quantize)
        inputs, targets = noisy, clean
        if recipe.dihedral:  # each (noisy, clean) pair turned together
            both = _dihedral(np.concatenate([noisy, clean], axis=-1), rng)
            inputs, targets = both[..., :1], both[..., 1:]
        model.fit(inputs, targets, epochs=epoch + 1, initial_epoch=epoch, batch_size=batch, verbose=verbose)
    return model
