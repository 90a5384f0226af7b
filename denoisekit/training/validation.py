"""Validation every epoch: PSNR/SSIM of the model's output on a fixed noisy set."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from .. import layers as _quiet_tf  # noqa: F401  (imports TensorFlow quietly first)
from ..metrics import mean, psnr, ssim
from .padding import pad_images, round_up


def predict_pairs(model: Any, pairs: list[tuple[np.ndarray, np.ndarray]], batch: int = 64, *,
                  multiple: int = 1, fixed_size: tuple[int, int] | None = None) -> list[np.ndarray]:
    """Model outputs (clipped to [0, 1]) for each noisy image; same-sized images go in batches,
    padded as inference pads them (to a multiple of ``multiple``, or to ``fixed_size``) and
    cropped back, so every image is scored on its own pixels."""
    by_shape: dict[tuple, list[int]] = defaultdict(list)
    for i, (noisy, _) in enumerate(pairs):
        by_shape[noisy.shape].append(i)
    outputs: list[np.ndarray | None] = [None] * len(pairs)
    for (h, w, _), indices in by_shape.items():
        size = fixed_size or (round_up(h, multiple), round_up(w, multiple))
        for start in range(0, len(indices), batch):
            chunk = indices[start:start + batch]
            inputs = np.stack([pairs[i][0] for i in chunk])
            if (h, w) != tuple(size):
                inputs = pad_images(inputs, size)
            restored = np.asarray(model.predict_on_batch(inputs))[:, :h, :w]
            for i, out in zip(chunk, np.clip(restored, 0.0, 1.0)):
                outputs[i] = out
    return outputs  # type: ignore[return-value]


def score(pairs: list[tuple[np.ndarray, np.ndarray]], outputs: list[np.ndarray]) -> dict[str, float]:
    return {
        "psnr": mean(psnr(clean, out) for (_, clean), out in zip(pairs, outputs)),
        "ssim": mean(ssim(clean, out) for (_, clean), out in zip(pairs, outputs)),
    }


import keras  # noqa: E402


class ValidationCallback(keras.callbacks.Callback):
    """Adds ``val_psnr`` and ``val_ssim`` to each epoch's logs (before checkpoints see them);
    ``outputs`` holds the last epoch's restorations (for the collapse guard)."""

    def __init__(self, pairs: list[tuple[np.ndarray, np.ndarray]], *, multiple: int = 1,
                 fixed_size: tuple[int, int] | None = None) -> None:
        super().__init__()
        self.pairs, self.multiple, self.fixed_size = pairs, multiple, fixed_size
        self.input_scores = score(pairs, [noisy for noisy, _ in pairs])
        self.outputs: list[np.ndarray] = []

    def predict(self, model: Any) -> list[np.ndarray]:
        return predict_pairs(model, self.pairs, multiple=self.multiple, fixed_size=self.fixed_size)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.outputs = self.predict(self.model)
        figures = score(self.pairs, self.outputs)
        if logs is not None:
            logs["val_psnr"] = figures["psnr"]
            logs["val_ssim"] = figures["ssim"]
