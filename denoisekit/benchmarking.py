"""Compare restorers on clean images corrupted with a fixed seed: PSNR, SSIM, seconds per megapixel."""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from .images import stored_values
from .metrics import mean, psnr, ssim
from .noise_ops import apply_corruption

#: How the noisy input is stored before restoration: ``png`` = clipped and rounded to
#: 8 bits, as users' files are; ``float`` = exactly as the corruption made it.
STORES = ("png", "float")


@dataclass
class Case:
    """One benchmark image: its name, clean pixels and stored noisy input."""

    name: str
    clean: np.ndarray
    noisy: np.ndarray

    @property
    def megapixels(self) -> float:
        return self.clean.shape[0] * self.clean.shape[1] / 1e6


@dataclass
class Result:
    """One restorer's figures over all cases."""

    restorer: str
    psnr: float | None
    ssim: float | None
    seconds_per_mp: float | None
    per_image: list[dict[str, Any]] = field(default_factory=list)


def make_cases(images: Mapping[str, np.ndarray], corruption: Any, params: Mapping[str, Any],
               seed: int, store: str = "png") -> tuple[list[Case], list[str]]:
    """Corrupt each image with a seed keyed by its name and store it as asked.

    Returns the cases and the names of images the corruption left unchanged (a gray photo
    under ``grayscale``): they are left out, since their input scores infinite PSNR, which
    no mean can hold, while a restorer's finite score would lift its own mean alone.
    """
    cases, unchanged = [], []
    for name, clean in images.items():
        noisy = apply_corruption(corruption, clean, params, seed, key=name)
        if store == "png":
            noisy = stored_values(noisy)
        # Unchanged: the same 8-bit file (png), or the same floats (float: sigma 0.05 is a change)
        if np.max(np.abs(np.clip(noisy, 0, 1) - clean)) < (0.5 / 255 if store == "png" else 1e-6):
            unchanged.append(name)
        else:
            cases.append(Case(name, clean, noisy))
    return cases, unchanged


def score_input(cases: list[Case]) -> Result:
    """The noisy input's own figures (restorer ``noisy``)."""
    return _result("noisy", [_score(c, np.clip(c.noisy, 0, 1)) for c in cases], None)


@dataclass
class TimedRestorer:
    """A restorer under test: each image's scores (from the first pass) and fastest time.

    Call :meth:`run_pass` once per pass; with several passes each image's time is the
    fastest of its passes (as ``timeit`` reports), which a busy or shared machine slows
    least. Passes of different restorers can interleave, so a burst of load from elsewhere
    does not land on one restorer's every pass. Outputs are scored as they come and not
    kept, so memory stays one image per restorer whatever the folder's size.
    """

    label: str
    restore: Callable[[np.ndarray], np.ndarray]
    scores: list[dict[str, Any]] = field(default_factory=list)
    seconds: list[float | None] = field(default_factory=list)

    def run_pass(self, cases: list[Case], progress: Callable[[], None] | None = None) -> None:
        """Restore every case once, timed; the first pass starts with an untimed warm-up (tracing,
        caches, the models a route loads) on a corner of the first image of each channel count.
        An image the restorer fails on is kept as failed (``errors``), not timed, and the rest go on."""
        first = not self.scores
        if first:
            for channels in dict.fromkeys(case.noisy.shape[-1] for case in cases):
                corner = next(case for case in cases if case.noisy.shape[-1] == channels).noisy[:64, :64]
                try:
                    self.restore(corner)
                except Exception:  # noqa: BLE001  the image's own call says what fails
                    pass
        for i, case in enumerate(cases):
            start = time.perf_counter()
            try:
                out = self.restore(case.noisy)
            except Exception as err:  # noqa: BLE001  one image's failure: the others are still measured
                if first:
                    self.scores.append({"image": case.name, "psnr": None, "ssim": None,
                                        "error": f"{type(err).__name__}: {err}"})
                    self.seconds.append(None)
                if progress:
                    progress()
                continue
            elapsed = time.perf_counter() - start
            if first:
                self.scores.append(_score(case, np.clip(np.asarray(out, np.float32).reshape(case.clean.shape), 0, 1)))
                self.seconds.append(elapsed)
            elif self.seconds[i] is not None:
                self.seconds[i] = min(self.seconds[i], elapsed)
            if progress:
                progress()

    @property
    def errors(self) -> list[str]:
        """One line per image the restorer failed on."""
        return [f"{self.label}: {score['image']}: {score['error']}" for score in self.scores if "error" in score]

    def result(self, cases: list[Case]) -> Result:
        """PSNR, SSIM and seconds per megapixel over ``cases`` (after at least one pass); an image
        the restorer failed on counts in neither."""
        if len(self.scores) != len(cases):
            raise RuntimeError(f"{self.label}: run a pass over the cases first")
        per_image = [{**score, "seconds": elapsed} for score, elapsed in zip(self.scores, self.seconds)]
        done = [(elapsed, case.megapixels) for elapsed, case in zip(self.seconds, cases) if elapsed is not None]
        s_per_mp = sum(e for e, _ in done) / sum(mp for _, mp in done) if done else None
        return _result(self.label, per_image, s_per_mp)


def _score(case: Case, output: np.ndarray) -> dict[str, Any]:
    return {"image": case.name, "psnr": psnr(case.clean, output), "ssim": ssim(case.clean, output)}


def _result(label: str, per_image: list[dict[str, Any]], s_per_mp: float | None) -> Result:
    return Result(label, mean(r["psnr"] for r in per_image), mean(r["ssim"] for r in per_image), s_per_mp, per_image)


def cpu_description() -> dict[str, Any]:
    """The CPU that measured the times (speeds only compare within one machine)."""
    model, flags = platform.processor() or "unknown", set()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name") and model in ("unknown", "", "x86_64"):
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    import os

    return {"model": model, "cores": os.cpu_count(),
            "avx2": "avx2" in flags, "avx512": "avx512f" in flags,
            "amx_bf16": "amx_bf16" in flags, "avx512_bf16": "avx512_bf16" in flags}
