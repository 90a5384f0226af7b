"""The collapse guard: a model no better than its noisy input, or than a constant image,
after its first epochs is named in a warning with the likely cause and the fix, and the
model's metadata records it.

The classic failures: under L1 a model of images that are mostly background (digits, text)
finds the median pixel, the background, and outputs it everywhere (an autoencoder trained so
on digits scored 9.7 dB against its noisy input's 11.2); a bias-free residual net whose ReLUs
all die returns its input unchanged, for good; too high a learning rate does either.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..metrics import mean
from . import TrainingWarning

#: The guard looks from the end of this epoch on (the first epochs of a sound run may still
#: trail its input), and warns once.
GUARD_EPOCH = 2
#: An output whose pixels spread less than this (mean per-image standard deviation, against
#: the clean images') carries no picture.
FLAT_SHARE = 0.1
#: Fewer steps than this, and the likeliest cause is that the model has not trained yet.
SHORT_RUN_STEPS = 1000
L1_LOSSES = ("l1", "ssim", "l1+ssim")


@dataclass
class Collapse:
    """What the guard found at ``epoch`` (1-based); ``kind``: constant, identity or no-better."""

    epoch: int
    kind: str
    val_psnr: float
    input_psnr: float
    constant_psnr: float
    advice: str

    def message(self) -> str:
        what = {"constant": "its output is nearly the same value everywhere",
                "identity": "it returns its input unchanged (its units may all have died)",
                "no-better": "it has not learnt to restore"}[self.kind]
        if self.input_psnr >= self.constant_psnr:
            bar = f"its noisy input ({self.input_psnr:.2f} dB)"
        else:
            bar = f"a constant image ({self.constant_psnr:.2f} dB; its noisy input: {self.input_psnr:.2f})"
        return (f"after epoch {self.epoch} the model scores {self.val_psnr:.2f} dB on validation, no better than "
                f"{bar}: {what}; {self.advice}")


def constant_psnr(pairs: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """Mean PSNR of the best constant image (each clean image's mean) against the clean images."""
    return mean(10 * np.log10(1.0 / np.var(clean, dtype=np.float64)) if np.var(clean) > 0 else np.inf
                for _, clean in pairs) or 0.0


def advice(kind: str, loss: str, learning_rate: float, bias: bool | None, steps: int | None = None) -> str:
    """The likely causes and fixes for a collapse, most likely first (one line); ``steps``: trained so far."""
    fixes = []
    if kind != "identity" and loss in L1_LOSSES:
        fixes.append("--loss l2 (under L1 the best guess for images that are mostly background is the "
                     "background itself; bce for a sigmoid output)")
    if steps is not None and steps < SHORT_RUN_STEPS and kind != "identity":
        fixes.append(f"more steps (--epochs, --steps-per-epoch: {steps} so far)")
    if bias is False:
        fixes.append("-a bias=true (bias-free ReLU units can all die, on impulse noise and dark images)")
    fixes.append(f"a lower --lr (this run's: {learning_rate:g})")
    return "try " + "; or ".join(fixes)


def diagnose(pairs: list[tuple[np.ndarray, np.ndarray]], outputs: list[np.ndarray], *, epoch: int,
             val_psnr: float | None, input_psnr: float | None, flat_psnr: float, loss: str, learning_rate: float,
             bias: bool | None, steps: int | None = None) -> Collapse | None:
    """A Collapse when the outputs score no better than the noisy inputs or a constant image
    (``val_psnr`` None: every output is exact; ``input_psnr`` None: the noise left every
    validation input exact, so returning it is no collapse)."""
    if input_psnr is None:
        return None
    identity = all(np.array_equal(out, np.clip(noisy, 0, 1)) for (noisy, _), out in zip(pairs, outputs))
    if not identity and (val_psnr is None or val_psnr > max(input_psnr, flat_psnr)):
        return None
    spread = np.mean([np.std(out) for out in outputs])
    clean_spread = np.mean([np.std(clean) for _, clean in pairs])
    kind = "identity" if identity else "constant" if spread < FLAT_SHARE * clean_spread else "no-better"
    return Collapse(epoch, kind, float(val_psnr), float(input_psnr), float(flat_psnr),
                    advice(kind, loss, learning_rate, bias, steps))


import keras  # noqa: E402


class CollapseGuard(keras.callbacks.Callback):
    """Checks each epoch's validation (after ``validation``, a ValidationCallback, has run) from
    GUARD_EPOCH on; the first collapse is warned about and kept in ``found``."""

    def __init__(self, validation: Any, *, loss: str, learning_rate: float, bias: bool | None,
                 steps_per_epoch: int | None = None, first_epoch: int = GUARD_EPOCH) -> None:
        super().__init__()
        self.validation, self.first_epoch, self.steps_per_epoch = validation, first_epoch, steps_per_epoch
        self.hints = {"loss": loss, "learning_rate": learning_rate, "bias": bias}
        self.flat_psnr = constant_psnr(validation.pairs)
        self.found: Collapse | None = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.found is not None or epoch + 1 < self.first_epoch or not logs or "val_psnr" not in logs:
            return
        self.found = diagnose(self.validation.pairs, self.validation.outputs, epoch=epoch + 1,
                              val_psnr=logs["val_psnr"], input_psnr=self.validation.input_scores["psnr"],
                              flat_psnr=self.flat_psnr, **self.hints,
                              steps=(epoch + 1) * self.steps_per_epoch if self.steps_per_epoch else None)
        if self.found is not None:
            warnings.warn(self.found.message(), TrainingWarning, stacklevel=2)

    def record(self, final_psnr: float) -> dict[str, Any] | None:
        """The metadata entry: the collapse, and whether the kept model got past it."""
        if self.found is None:
            return None
        beaten = max(self.found.input_psnr, self.found.constant_psnr)
        return {**asdict(self.found), "recovered": bool(final_psnr > beaten)}
