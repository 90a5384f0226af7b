"""Training losses: L1, L2, PSNR, binary cross-entropy, and mixes with SSIM, in Keras ops (any backend).

Every loss is taken on the real pixels only: the training target carries, as a last channel,
a mask that is 1 on real pixels and 0 where a patch was padded to the size the model needs
(padding.py); a target without that channel counts every pixel. Each image's loss is its
mean over its real pixels.

SSIM here is the one ``denoisekit metrics`` reports (scikit-image's default: 7x7 uniform
window, sample covariances, K1 = 0.01, K2 = 0.03, data range 1, the border the window does
not cover left out, mean over channels), so a model trained on it is trained for the
figure it is judged by. The mixes follow Zhao, Gallo, Frosio and Kautz, "Loss Functions for
Image Restoration with Neural Networks" (2017): 0.84 of (1 - SSIM), 0.16 of the per-pixel
loss, which keeps SSIM's structure without its blindness to a uniform shift in brightness.

The PSNR loss is minus each image's PSNR (as HINet, Chen et al. 2021, trains): the mean over a
batch of ``10 log10(MSE)``, so each image counts by its error relative to its own, as the
benchmarks' mean of per-image decibels does. L1 and L2 count absolute error, so in a batch of
mixed noise levels (``-p sigma=0:55``, ``-p amount=0:0.5``) the heavily corrupted patches
dominate their gradient and the lightly corrupted ones, where a tenth of a decibel is a far
smaller error, are served least.
"""

from __future__ import annotations

import math
from typing import Any

import keras
from keras import ops

SSIM_WINDOW = 7
SSIM_WEIGHT = 0.84
_C1, _C2 = 0.01 ** 2, 0.03 ** 2
#: Added to each image's MSE in the PSNR loss: caps a patch's PSNR near 100 dB, so a patch
#: restored all but exactly does not take over its batch's gradient.
PSNR_FLOOR = 1e-10


def split_target(y_true: Any, y_pred: Any) -> tuple[Any, Any]:
    """(clean (N, H, W, C), mask (N, H, W, 1)) from a target with or without its mask channel."""
    y_true, channels = ops.cast(y_true, "float32"), y_pred.shape[-1]
    if y_true.shape[-1] == channels:
        return y_true, ops.ones_like(y_true[..., :1])
    return y_true[..., :channels], y_true[..., channels:channels + 1]


def masked_mean(per_pixel: Any, mask: Any) -> Any:
    """Each image's mean of ``per_pixel`` (N, H, W, C) over the pixels where ``mask`` (N, H, W, 1) is 1."""
    weight = ops.sum(mask, axis=(1, 2, 3)) * per_pixel.shape[-1]
    return ops.sum(per_pixel * mask, axis=(1, 2, 3)) / ops.maximum(weight, 1.0)


def ssim_per_image(y_true: Any, y_pred: Any, mask: Any = None) -> Any:
    """Mean SSIM of each image of a batch (N, H, W, C) in [0, 1]: a tensor (N,). With a ``mask``
    (N, H, W, 1), only the windows that lie wholly on real pixels count."""
    y_true, y_pred = ops.cast(y_true, "float32"), ops.cast(y_pred, "float32")

    def local_mean(x: Any) -> Any:
        return ops.average_pool(x, SSIM_WINDOW, strides=1, padding="valid")

    cov_norm = SSIM_WINDOW ** 2 / (SSIM_WINDOW ** 2 - 1)  # sample (not population) covariances
    mx, my = local_mean(y_true), local_mean(y_pred)
    vx = cov_norm * (local_mean(y_true * y_true) - mx * mx)
    vy = cov_norm * (local_mean(y_pred * y_pred) - my * my)
    vxy = cov_norm * (local_mean(y_true * y_pred) - mx * my)
    local = ((2 * mx * my + _C1) * (2 * vxy + _C2)) / ((mx * mx + my * my + _C1) * (vx + vy + _C2))
    if mask is None:
        return ops.mean(local, axis=(1, 2, 3))
    whole = ops.cast(local_mean(ops.cast(mask, "float32")) > 0.999, "float32")
    return masked_mean(local, whole)


def _ssim_term(y_true: Any, y_pred: Any) -> Any:
    clean, mask = split_target(y_true, y_pred)
    return clean, mask, 1.0 - ssim_per_image(clean, y_pred, mask)


@keras.saving.register_keras_serializable(package="denoisekit")
def l1_loss(y_true: Any, y_pred: Any) -> Any:
    clean, mask = split_target(y_true, y_pred)
    return masked_mean(ops.abs(clean - y_pred), mask)


@keras.saving.register_keras_serializable(package="denoisekit")
def l2_loss(y_true: Any, y_pred: Any) -> Any:
    clean, mask = split_target(y_true, y_pred)
    return masked_mean(ops.square(clean - y_pred), mask)


@keras.saving.register_keras_serializable(package="denoisekit")
def psnr_loss(y_true: Any, y_pred: Any) -> Any:
    """Minus each image's PSNR in dB (data range 1): ``10 log10`` of its L2 loss."""
    return (10.0 / math.log(10.0)) * ops.log(l2_loss(y_true, y_pred) + PSNR_FLOOR)


@keras.saving.register_keras_serializable(package="denoisekit")
def bce_loss(y_true: Any, y_pred: Any) -> Any:
    """Binary cross-entropy of outputs in [0, 1] (a Bernoulli decoder): only for a sigmoid output."""
    clean, mask = split_target(y_true, y_pred)
    return masked_mean(ops.binary_crossentropy(clean, y_pred), mask)


@keras.saving.register_keras_serializable(package="denoisekit")
def ssim_loss(y_true: Any, y_pred: Any) -> Any:
    return _ssim_term(y_true, y_pred)[2]


@keras.saving.register_keras_serializable(package="denoisekit")
def l1_ssim_loss(y_true: Any, y_pred: Any) -> Any:
    clean, mask, structure = _ssim_term(y_true, y_pred)
    return SSIM_WEIGHT * structure + (1 - SSIM_WEIGHT) * masked_mean(ops.abs(clean - y_pred), mask)


@keras.saving.register_keras_serializable(package="denoisekit")
def l2_ssim_loss(y_true: Any, y_pred: Any) -> Any:
    clean, mask, structure = _ssim_term(y_true, y_pred)
    return SSIM_WEIGHT * structure + (1 - SSIM_WEIGHT) * masked_mean(ops.square(clean - y_pred), mask)


#: ``train --loss`` names (``training.LOSS_NAMES``) -> Keras losses. L1 suits photos (KAIR's
#: recipe); L2 suits sparse images such as digits, where L1's median pulls an untrained
#: autoencoder to an all-black output, and impulse noise and colorization (see RECIPE.md);
#: psnr weighs each image by its own error (fine-tuning across noise levels);
#: bce is the textbook's Bernoulli decoder, for outputs in [0, 1] (a sigmoid).
LOSSES: dict[str, Any] = {
    "l1": l1_loss,
    "l2": l2_loss,
    "psnr": psnr_loss,
    "ssim": ssim_loss,
    "l1+ssim": l1_ssim_loss,
    "l2+ssim": l2_ssim_loss,
    "bce": bce_loss,
}


def output_activation(model: Any) -> str | None:
    """The name of the activation that makes ``model``'s output (``sigmoid``...), or None when the
    output comes from a layer without one (a residual subtraction). The metadata layer is seen through."""
    from ..layers import ModelInfo

    layer = model.outputs[0]._keras_history.operation
    while isinstance(layer, ModelInfo):
        layer = layer.input._keras_history.operation
    activation = getattr(layer, "activation", None)
    name = getattr(activation, "__name__", None)
    return None if name in (None, "linear") else name
