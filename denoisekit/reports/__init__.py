"""What ``denoisekit clean`` measured: per-image rows, means, and the report files."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..metrics import mean

#: Figures reported for the input and the output of each image.
FIGURES = ("psnr", "ssim", "sigma")


def paired_figures(rows: list[dict[str, Any]], key: str) -> list[tuple[float, float]]:
    """(input, output) figures of the images that have both, finite: an input identical to its
    reference (infinite PSNR) leaves the output's figure out too, so both means cover the same files."""
    pairs = [(r["input"].get(key), r["output"].get(key)) for r in rows]
    return [(a, b) for a, b in pairs if a is not None and b is not None and math.isfinite(a) and math.isfinite(b)]


@dataclass
class Report:
    """A run's settings, one row per image (written or kept), and the failures."""

    restorer: str
    params: dict[str, Any]
    source: Path
    out: Path
    reference: Path | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    crops: dict[str, dict[str, bytes]] = field(default_factory=dict)  # file -> {role: PNG bytes}, for HTML

    @property
    def models(self) -> list[str]:
        """Every model used, once each (a row's ``a + b``: the opponent route's two)."""
        return sorted({name for r in self.rows if r.get("model") for name in r["model"].split(" + ")})

    def summary(self) -> dict[str, Any]:
        """Means over the images that have each figure; seconds per megapixel over those restored now."""
        timed = [r for r in self.rows if r.get("seconds") is not None]
        megapixels = sum(r["width"] * r["height"] * r.get("pages", 1) for r in timed) / 1e6  # stacks: every page
        seconds = sum(r["seconds"] for r in timed)
        paired = {k: paired_figures(self.rows, k) for k in FIGURES}
        return {
            "input": {k: mean(a for a, _ in pairs) for k, pairs in paired.items()},
            "output": {k: mean(b for _, b in pairs) for k, pairs in paired.items()},
            "seconds_per_megapixel": seconds / megapixels if megapixels else None,
            "count": len(self.rows),
            "scored": sum("psnr" in r["output"] for r in self.rows),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "restorer": self.restorer,
            "params": self.params,
            "models": self.models,
            "input": str(self.source),
            "output": str(self.out),
            "reference": None if self.reference is None else str(self.reference),
            "files": self.rows,
            "mean": self.summary(),
            "notes": self.notes,
            "failed": self.failed,
        }
