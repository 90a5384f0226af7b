"""Validation every epoch: PSNR/SSIM of the model's output on a fixed noisy set."""

from __future__ import annotations

import warnings
from collections import defaultdict
from typing import Any

import numpy as np

from .. import layers as _quiet_tf  # noqa: F401  (imports TensorFlow quietly first)
from ..metrics import mean, psnr, ssim


def predict_pairs(model: Any, pairs: list[tuple[np.ndarray, np.ndarray]], batch: int = 64) -> list[np.ndarray]:
    """Model outputs (clipped to [0, 1]) for each noisy image; same-sized images go in batches."""
    by_shape: dict[tuple, list[int]] = defaultdict(list)
    for i, (noisy, _) in enumerate(pairs):
        by_shape[noisy.shape].append(i)
    outputs: list[np.ndarray | None] = [None] * len(pairs)
    for indices in by_shape.values():
        for start in range(0, len(indices), batch):
            chunk = indices[start:start + batch]
            restored = model.predict_on_batch(np.stack([pairs[i][0] for i in chunk]))
            for i, out in zip(chunk, np.clip(np.asarray(restored), 0.0, 1.0)):
                outputs[i] = out
    return outputs  # type: ignore[return-value]


def score(pairs: list[tuple[np.ndarray, np.ndarray]], outputs: list[np.ndarray]) -> dict[str, float]:
    return {
        "psnr": mean(psnr(clean, out) for (_, clean), out in zip(pairs, outputs)),
        "ssim": mean(ssim(clean, out) for (_, clean), out in zip(pairs, outputs)),
    }


import keras  # noqa: E402


class ValidationCallback(keras.callbacks.Callback):
    """Adds ``val_psnr`` and ``val_ssim`` to each epoch's logs (before checkpoints see them)."""

    def __init__(self, pairs: list[tuple[np.ndarray, np.ndarray]]) -> None:
        super().__init__()
        self.pairs = pairs
        self.input_scores = score(pairs, [noisy for noisy, _ in pairs])

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        outputs = predict_pairs(self.model, self.pairs)
        figures = score(self.pairs, outputs)
        if logs is not None:
            logs["val_psnr"] = figures["psnr"]
            logs["val_ssim"] = figures["ssim"]
        if all(np.array_equal(out, np.clip(noisy, 0, 1)) for (noisy, _), out in zip(self.pairs, outputs)):
            # A residual net whose ReLUs have all died returns its input exactly, for good.
            warnings.warn("the model returns its input unchanged (its units may all have died); "
                          "try a lower --lr or another --arch", RuntimeWarning, stacklevel=2)
