"""Training losses: L1, L2, and their mixes with SSIM, in Keras ops (any backend).

SSIM here is the one ``denoisekit metrics`` reports (scikit-image's default: 7x7 uniform
window, sample covariances, K1 = 0.01, K2 = 0.03, data range 1, the border the window does
not cover left out, mean over channels), so a model trained on it is trained for the
figure it is judged by. The mixes follow Zhao, Gallo, Frosio and Kautz, "Loss Functions for
Image Restoration with Neural Networks" (2017): 0.84 of (1 - SSIM), 0.16 of the per-pixel
loss, which keeps SSIM's structure without its blindness to a uniform shift in brightness.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

SSIM_WINDOW = 7
SSIM_WEIGHT = 0.84
_C1, _C2 = 0.01 ** 2, 0.03 ** 2


def ssim_per_image(y_true: Any, y_pred: Any) -> Any:
    """Mean SSIM of each image of a batch (N, H, W, C) in [0, 1]: a tensor (N,)."""
    y_true, y_pred = ops.cast(y_true, "float32"), ops.cast(y_pred, "float32")

    def local_mean(x: Any) -> Any:
        return ops.average_pool(x, SSIM_WINDOW, strides=1, padding="valid")

    cov_norm = SSIM_WINDOW ** 2 / (SSIM_WINDOW ** 2 - 1)  # sample (not population) covariances
    mx, my = local_mean(y_true), local_mean(y_pred)
    vx = cov_norm * (local_mean(y_true * y_true) - mx * mx)
    vy = cov_norm * (local_mean(y_pred * y_pred) - my * my)
    vxy = cov_norm * (local_mean(y_true * y_pred) - mx * my)
    local = ((2 * mx * my + _C1) * (2 * vxy + _C2)) / ((mx * mx + my * my + _C1) * (vx + vy + _C2))
    return ops.mean(local, axis=(1, 2, 3))


@keras.saving.register_keras_serializable(package="denoisekit")
def ssim_loss(y_true: Any, y_pred: Any) -> Any:
    return 1.0 - ssim_per_image(y_true, y_pred)


def _with_ssim(per_pixel: Any, y_true: Any, y_pred: Any) -> Any:
    """SSIM_WEIGHT of (1 - SSIM) plus the rest of the per-image mean of ``per_pixel`` (N, H, W, C)."""
    return SSIM_WEIGHT * ssim_loss(y_true, y_pred) + (1 - SSIM_WEIGHT) * ops.mean(per_pixel, axis=(1, 2, 3))


@keras.saving.register_keras_serializable(package="denoisekit")
def l1_ssim_loss(y_true: Any, y_pred: Any) -> Any:
    return _with_ssim(ops.abs(y_true - y_pred), y_true, y_pred)


@keras.saving.register_keras_serializable(package="denoisekit")
def l2_ssim_loss(y_true: Any, y_pred: Any) -> Any:
    return _with_ssim(ops.square(y_true - y_pred), y_true, y_pred)


#: ``train --loss`` names (``training.LOSS_NAMES``) -> Keras losses. L1 suits photos (KAIR's
#: recipe); L2 suits sparse images such as digits, where L1's median pulls an untrained
#: autoencoder to an all-black output, and impulse noise and colorization (see RECIPE.md).
LOSSES: dict[str, Any] = {
    "l1": "mean_absolute_error",
    "l2": "mean_squared_error",
    "ssim": ssim_loss,
    "l1+ssim": l1_ssim_loss,
    "l2+ssim": l2_ssim_loss,
}
