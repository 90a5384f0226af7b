"""Edge-aware smoothing of a colorization's chroma, guided by the image's own luminance.

A regression colorizer is unsure of colour at fine scale and shows it as blotches: the
predicted chroma (the output minus its luma) is smoothed with a guided filter (He, Sun and
Tang 2010) whose guide is the luma, so colour changes only where brightness does. The
filter is linear in the chroma for a fixed guide, so the luma of the result is the input's;
a colour too strong for a pixel's brightness is made fainter (:func:`fit_gamut`), not
clipped per channel, which would change the brightness too.

A colorizer's smoothed chroma is then corrected by its own calibration (:func:`map_chroma`): an
affine map of the (red, blue) chroma fitted by least squares on held-out photographs
(:func:`fit_chroma_map`; ``train`` fits it on its validation images and stores it in the model
file as ``chroma_map``), the linear estimate of the true colour given the predicted one. It
keeps the colour a model gets right, shrinks what it gets wrong towards gray, and moves the
model's habitual tint (warm where the truth is green) onto the colours it predicts.

Images are filtered in strips of rows, each read with the ``2 * radius`` rows of context
the two box-filter passes need, so memory is a few strips, not a few images, and the
result equals filtering the whole image at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Sequence

import numpy as np

from .builtins.corruptions import LUMA_WEIGHTS  # BT.601, as images.to_gray

#: The metadata key of a colorizer's chroma calibration: 3 rows (red chroma, blue chroma, 1)
#: by 2 columns (the corrected red and blue chroma); green follows from the luma.
CHROMA_MAP_KEY = "chroma_map"

#: Regularisation of the guided filter, on the [0, 1] scale squared: luma edges whose local
#: standard deviation is well above 0.1 keep their colour edge, flatter regions are averaged.
CHROMA_EPS = 1e-2
STRIP_ROWS = 128
#: The radius ``clean`` uses. The validation crops scored better with every radius tried
#: (1-64 px, and a single tint for the whole image best of all); 16 keeps regional colour
#: (benchmarks/README.md says how it was chosen).
DEFAULT_CHROMA_RADIUS = 16
#: With a cap above 0, ``clean`` maps each pixel's chroma (a vector of length m on the [0, 1]
#: scale, after the model's ``chroma_map``) to length ``gain * cap * m / (m + knee)``: at most
#: ``cap`` away from gray, strong colours (often blotches) shrunk most. Cap and knee were chosen
#: with the bundled colorizer's map on the validation sets by benchmarks/colorize_calibrate.py
#: (benchmarks/README.md, "Colorization"): among the choices within a tolerance of the
#: best worst-set SSIM gain over the gray input (0.001), the greyest (issue 20: greyer where unsure).
DEFAULT_CHROMA_CAP = 0.15
CHROMA_KNEE = 0.15
#: A share of the (capped) chroma kept, the rest gray; 1 with the cap, which already shrinks.
DEFAULT_CHROMA_GAIN = 1.0


def guided_coefficients(guide: np.ndarray, src: np.ndarray, radius: int,
                        eps: float = CHROMA_EPS) -> tuple[np.ndarray, np.ndarray]:
    """The guided filter's local linear model of ``src`` (H, W, C<=4) on a one-channel ``guide``
    (H, W), window ``2 radius + 1``, averaged over the windows: (slope, offset), each (H, W, C)."""
    import cv2

    def box(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, -1, (2 * radius + 1, 2 * radius + 1), borderType=cv2.BORDER_REFLECT)

    guide = np.ascontiguousarray(guide, np.float32)
    src = np.ascontiguousarray(src, np.float32)
    mean_i, mean_p = box(guide), box(src)
    var_i = box(guide * guide) - mean_i * mean_i
    a = (box(guide[..., None] * src) - mean_i[..., None] * mean_p) / (var_i[..., None] + np.float32(eps))
    b = mean_p - a * mean_i[..., None]
    return box(a), box(b)


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float = CHROMA_EPS) -> np.ndarray:
    """Guided filter of ``src`` (H, W, C<=4) by a one-channel ``guide`` (H, W), window ``2 radius + 1``."""
    slope, offset = guided_coefficients(guide, src, radius, eps)
    return slope * np.asarray(guide, np.float32)[..., None] + offset


def smooth_chroma(luma: np.ndarray, rgb: np.ndarray, radius: int, strip: int = STRIP_ROWS) -> np.ndarray:
    """Smooth the chroma of ``rgb`` (H, W, 3) along the edges of ``luma`` (H, W, 1), in place.

    The chroma is ``rgb - luma``; ``radius`` is the guided filter's window radius in pixels.
    Returns ``rgb``, brought into [0, 1] by :func:`fit_gamut`.
    """
    height = rgb.shape[0]
    context = 2 * radius
    saved: np.ndarray | None = None  # rows just above this strip, as they were before smoothing
    for start in range(0, height, strip):
        end = min(height, start + strip)
        low, high = max(0, start - context), min(height, end + context)
        block = rgb[low:high].copy()
        if saved is not None:
            block[: start - low] = saved
        saved = block[max(0, end - context) - low:end - low].copy()
        y = luma[low:high, :, 0]
        smoothed = guided_filter(y, block - y[..., None], radius)
        rows = slice(start - low, end - low)
        _add_within_gamut(luma[start:end], smoothed[rows], rgb[start:end])
    return rgb


def fit_gamut(luma: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """Bring each pixel of ``rgb`` (H, W, 3) into [0, 1] by shrinking its chroma, ``rgb - luma``,
    towards gray, in place: hue and brightness kept where clipping each channel would change both
    (a colour too strong for a near-white or near-black pixel). Returns ``rgb``."""
    return _add_within_gamut(luma, rgb - luma, rgb)


def _add_within_gamut(luma: np.ndarray, chroma: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out = luma + chroma``, each pixel's chroma first shrunk (in place, ``chroma`` may be
    ``out``) by the largest share up to 1 that keeps every channel in [0, 1]."""
    limit = np.where(chroma > 0, 1 - luma, -luma)  # how far each channel may go, signed as its chroma
    room = np.full_like(chroma, np.inf)  # a channel without chroma limits nothing
    np.divide(limit, chroma, out=room, where=chroma != 0)
    chroma *= np.clip(room.min(axis=-1, keepdims=True), 0.0, 1.0)
    np.add(luma, chroma, out=out)
    return np.clip(out, 0.0, 1.0, out=out)  # rounding, and a luma outside [0, 1]


def calibrate_chroma(luma: np.ndarray, rgb: np.ndarray, gain: float = DEFAULT_CHROMA_GAIN,
                     cap: float = DEFAULT_CHROMA_CAP, knee: float = CHROMA_KNEE) -> np.ndarray:
    """Scale the chroma of ``rgb`` (H, W, 3), ``rgb - luma``, per pixel, in place: by ``gain``, and
    with a ``cap`` above 0 to the length ``gain * cap * m / (m + knee)`` of a chroma of length m.

    Returns ``rgb``, brought into [0, 1] by :func:`fit_gamut`; ``gain=1, cap=0`` leaves it as it was.
    """
    if gain == 1.0 and not cap:
        return rgb
    rgb -= luma
    if cap:
        length = np.sqrt(np.einsum("...c,...c->...", rgb, rgb))[..., None]
        rgb *= np.float32(gain * cap) / (length + np.float32(knee))
    else:
        rgb *= np.float32(gain)
    return _add_within_gamut(luma, rgb, rgb)  # rgb holds the chroma here


def _red_blue(luma: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """(..., 3) [red chroma, blue chroma, 1] of ``rgb`` around ``luma``: the affine map's inputs."""
    chroma = rgb - luma
    return np.concatenate([chroma[..., 0:1], chroma[..., 2:3], np.ones_like(chroma[..., :1])], axis=-1)


def fit_chroma_map(samples: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> list[list[float]]:
    """Least-squares affine map from predicted to true (red, blue) chroma over every pixel of
    ``samples``, each ``(luma (H, W, 1), predicted RGB (H, W, 3), true RGB (H, W, 3))``.

    Returns 3 rows (red chroma, blue chroma, 1) by 2 columns (red, blue): ``map_chroma``'s
    ``chroma_map``. Only 3x3 and 3x2 sums are kept, so any number of images fits in memory.
    """
    gram, cross = np.zeros((3, 3)), np.zeros((3, 2))
    for luma, predicted, true in samples:
        x = _red_blue(luma, predicted).reshape(-1, 3).astype(np.float64)
        y = (true - luma)[..., [0, 2]].reshape(-1, 2).astype(np.float64)
        gram += x.T @ x
        cross += x.T @ y
    if not gram[2, 2]:
        raise ValueError("no pixels to fit a chroma map on")
    solution = np.linalg.lstsq(gram, cross, rcond=None)[0]  # minimum-norm where a prediction never varies
    return [[round(float(v), 6) for v in row] for row in solution]


def map_chroma(luma: np.ndarray, rgb: np.ndarray, chroma_map: Sequence[Sequence[float]]) -> np.ndarray:
    """Correct the chroma of ``rgb`` (H, W, 3) by a colorizer's ``chroma_map``
    (:func:`fit_chroma_map`), in place, the luma kept: green is what makes the brightness
    ``luma`` again. Returns ``rgb``, brought into [0, 1] by :func:`fit_gamut`."""
    red_blue = _red_blue(luma, rgb) @ np.asarray(chroma_map, np.float32)
    wr, wg, wb = LUMA_WEIGHTS
    green = -(wr * red_blue[..., 0:1] + wb * red_blue[..., 1:2]) / wg
    rgb[...] = np.concatenate([red_blue[..., 0:1], green, red_blue[..., 1:2]], axis=-1)
    return _add_within_gamut(luma, rgb, rgb)  # rgb holds the chroma here
