"""Learning-rate schedules for ``train --schedule``, over the steps or over ``--time-limit``.

wsd (the default): warmup-stable-decay without the warmup, the rate constant and then a cosine
decay to 1% over the run's last fifth: as good as a cosine on long runs (Hägele et al. 2024),
and better on short ones, which are still learning when a cosine has already slowed them (a unet
after 1,000 steps on photos at sigma 25: 27.12 dB against the cosine's 26.61; the textbook's
autoencoder on digits: examples/README.md); cosine: decay to 1% over the whole run (how the
bundled models were trained); constant: the rate throughout (the textbook's Adam).
"""

from __future__ import annotations

import math
from typing import Any

import keras
from keras import ops

#: The cosine and wsd schedules end at this fraction of the initial learning rate.
FLOOR = 0.01
#: wsd decays over this last share of the run.
DECAY_SHARE = 0.2


def rate_factor(schedule: str, done: Any) -> Any:
    """The fraction of the initial rate at ``done`` (0-1, a float or a tensor) of the run."""
    if schedule == "constant":
        return 1.0
    done = ops.convert_to_tensor(done, "float32")
    if schedule == "wsd":
        done = ops.clip((done - (1 - DECAY_SHARE)) / DECAY_SHARE, 0.0, 1.0)
    elif schedule != "cosine":
        raise ValueError(f"unknown schedule {schedule!r} (cosine, constant, wsd)")
    return FLOOR + (1 - FLOOR) * 0.5 * (1 + ops.cos(math.pi * done))


@keras.saving.register_keras_serializable(package="denoisekit")
class RunSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """``rate`` over ``steps`` by ``schedule``, after a linear ramp over ``warmup`` steps (fine-tuning)."""

    def __init__(self, rate: float, steps: int, schedule: str = "cosine", warmup: int = 0) -> None:
        self.rate, self.steps, self.schedule, self.warmup = float(rate), int(steps), schedule, int(warmup)

    def __call__(self, step: Any) -> Any:
        step = ops.cast(step, "float32")
        ramp = ops.minimum(1.0, (step + 1) / self.warmup) if self.warmup else 1.0
        done = ops.clip((step - self.warmup) / max(1, self.steps - self.warmup), 0.0, 1.0)
        return self.rate * ramp * rate_factor(self.schedule, done)

    def get_config(self) -> dict[str, Any]:
        return {"rate": self.rate, "steps": self.steps, "schedule": self.schedule, "warmup": self.warmup}
