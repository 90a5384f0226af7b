"""An opponent colour space in which noise that is independent per RGB channel stays
independent per channel, and smaller: mean ``(R+G+B)/3`` (noise sigma/sqrt 3), red-blue
``(R-B)/2`` (sigma/sqrt 2) and green-magenta ``(R-2G+B)/4`` (sigma sqrt 6/4), the two
differences offset by 0.5 so every channel spans [0, 1].

The three rows are orthogonal, which keeps their noises independent; BM3D's colour variant
works in such a space for the same reason. A gray model restores colour images here channel
by channel, the chroma channels being smooth and the luminance far less noisy than R, G or B.
"""

from __future__ import annotations

import cv2
import numpy as np

from .chroma import guided_coefficients

#: How a gray model restores an RGB image: each RGB channel, or each opponent-colour channel.
COLOR_SPACES = ("rgb", "opponent")
#: ``clean`` restores the two chroma channels at 1/2 size (``NOISY_CHROMA_SCALE``) when the
#: noise's wavelet estimate is at least ``FULL_CHROMA_BELOW`` (0-255 scale), else at full size
#: (``chroma_scale`` 0, "auto"). On the validation photo crops half size lost 0.90 dB at sigma 5
#: and 0.26 at 15, but only 0.06 at 25 and gained 0.19 at 50 (0.07 on the saturated nature set
#: at 25), for half the time; the estimate read 19-26 there at 25 and 13-18 at 15
#: (benchmarks/README.md, "The colour route").
DEFAULT_CHROMA_SCALE = 0
NOISY_CHROMA_SCALE = 2
FULL_CHROMA_BELOW = 17.0


def chroma_scale_for(sigma: float, scale: int = DEFAULT_CHROMA_SCALE) -> int:
    """How many times smaller the chroma channels are restored: ``scale``, or with 0 (auto)
    ``NOISY_CHROMA_SCALE`` for noise of ``sigma`` (0-255) at least ``FULL_CHROMA_BELOW``, else 1."""
    if scale:
        return scale
    return NOISY_CHROMA_SCALE if sigma >= FULL_CHROMA_BELOW else 1


def to_opponent(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB in [0, 1] -> (H, W, 3) mean, red-blue + 0.5, green-magenta + 0.5."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return np.stack([(r + g + b) / 3, (r - b) / 2 + 0.5, (r - 2 * g + b) / 4 + 0.5], axis=-1).astype(np.float32)


def from_opponent(opp: np.ndarray) -> np.ndarray:
    """The inverse of :func:`to_opponent`, clipped to [0, 1]."""
    mean, red_blue, green_magenta = opp[..., 0], opp[..., 1] - 0.5, opp[..., 2] - 0.5
    rgb = np.stack([mean + red_blue + green_magenta * (2 / 3), mean - green_magenta * (4 / 3),
                    mean - red_blue + green_magenta * (2 / 3)], axis=-1)
    return np.clip(rgb, 0.0, 1.0).astype(np.float32)


def block_means(pixels: np.ndarray, scale: int) -> np.ndarray:
    """(H, W, C) -> (ceil(H / scale), ceil(W / scale), C): the mean of each ``scale`` x ``scale``
    block, the last row and column of blocks padded by repeating the edge."""
    height, width, channels = pixels.shape
    rows, cols = -(-height // scale) * scale, -(-width // scale) * scale
    padded = np.pad(pixels, ((0, rows - height), (0, cols - width), (0, 0)), mode="edge")
    return np.ascontiguousarray(padded.reshape(rows // scale, scale, cols // scale, scale, channels).mean(axis=(1, 3)))


#: ``upsample_chroma``'s window radius (in pixels of the small chroma) and regularisation (on the
#: 0-1 scale, squared): chosen on the validation crops at sigma 20, 25 and 50 (benchmarks/README.md,
#: "The colour route"), where they took back what half-size chroma had lost to full size at 25
#: (+0.14 dB on the photo crops) for no image more than 0.03 dB below plain bilinear.
DETAIL_RADIUS = 1
DETAIL_EPS = 1e-3


def upsample_chroma(chroma: np.ndarray, mean: np.ndarray, scale: int,
                    radius: int = DETAIL_RADIUS, eps: float = DETAIL_EPS) -> np.ndarray:
    """Chroma restored ``scale`` times smaller (h, w, 2) brought up to the size of the restored
    ``mean`` (H, W, 1): bilinear, plus the detail the mean has above the small size, times the
    local slope of chroma on mean (the linear coefficient of a guided filter, fitted on the small
    images). A colour edge that is also an edge of brightness comes back sharp (a kite's stripes
    against the sky); where chroma does not follow brightness the slope is near 0 and the result
    is the bilinear one (the fast guided filter's upsampling, He and Sun 2015, applied to detail
    only, so flat brightness does not smooth chroma)."""
    height, width = mean.shape[:2]
    rows, cols = chroma.shape[0] * scale, chroma.shape[1] * scale
    chroma = np.ascontiguousarray(chroma, np.float32)

    def up(x: np.ndarray) -> np.ndarray:
        return cv2.resize(x, (cols, rows), interpolation=cv2.INTER_LINEAR)[:height, :width]

    small_mean = block_means(mean, scale)[..., 0]
    slope, _ = guided_coefficients(small_mean, chroma, radius, eps)
    detail = mean - up(small_mean)[..., None]
    return up(chroma) + up(slope) * detail
