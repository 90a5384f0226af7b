"""Classical fills for impulse (salt-and-pepper) noise: which pixels an impulse may have hit, and
estimates of them from their clean neighbours.

Every fill keeps the pixels that are not impulses and works on (H, W, C) float images in
[0, 1], vectorised: the switching median gathers each window size over the impulses still
unresolved, the edge-directed fill shifts the whole image once per pair direction.
"""

from __future__ import annotations

import numpy as np

#: Clean pixel pairs straddling an impulse, as offsets of one of them (the other mirrored): the
#: 4 directions 1 px away, then the 8 directions 2 px away (axes, diagonals, knight moves) for
#: impulses that have no clean pair nearer.
NEAR_PAIRS = np.array([(0, 1), (1, 0), (1, 1), (1, -1)])
FAR_PAIRS = np.array([(0, 2), (2, 0), (2, 2), (2, -2), (1, 2), (2, 1), (1, -2), (2, -1)])
#: How much a pair may disagree (0-1 scale, about 5 levels of 255) before its weight drops.
AGREEMENT = 0.02


def impulse_pixels(noisy: np.ndarray) -> np.ndarray:
    """(H, W) mask of the pixels an impulse may have hit: pure black or pure white in every
    channel at once (a saturated red is not one)."""
    return np.all(noisy <= 0, axis=-1) | np.all(noisy >= 1, axis=-1)


def switching_median(pixels: np.ndarray, max_size: int = 15) -> np.ndarray:
    """Replace the impulses (pixels pure black or white in every channel) of an (H, W, C) image.

    Each impulse gets, per channel, the median of the non-impulse pixels of the smallest
    window around it that holds any; windows grow only for the impulses still unresolved,
    and each size is one vectorised gather over those impulses. An impulse with no clean
    pixel within ``max_size`` keeps its value.
    """
    out = np.array(pixels, np.float32, copy=True)
    impulse = impulse_pixels(pixels)
    ys, xs = np.nonzero(impulse)
    pad = max_size // 2
    padded = np.pad(np.asarray(pixels, np.float32), ((pad, pad), (pad, pad), (0, 0)), mode="edge")
    clean = np.pad(~impulse, pad, mode="constant", constant_values=False)  # the border counts as no data
    todo = np.arange(len(ys))
    for radius in range(1, pad + 1):
        if not todo.size:
            break
        dy, dx = np.mgrid[-radius:radius + 1, -radius:radius + 1].reshape(2, -1)
        yy, xx = ys[todo, None] + pad + dy, xs[todo, None] + pad + dx  # (N, window)
        usable = clean[yy, xx]
        found = usable.any(axis=1)
        values = np.where(usable[found][..., None], padded[yy[found], xx[found]], np.nan)  # (n, window, C)
        out[ys[todo[found]], xs[todo[found]]] = _nanmedian(values)
        todo = todo[~found]
    return out


def _nanmedian(values: np.ndarray) -> np.ndarray:
    """np.nanmedian over axis 1 of (N, window, C), each row holding some numbers: a sort puts
    the NaNs last, so the median is read at the count of numbers (4-10x faster)."""
    ordered = np.sort(values, axis=1)
    count = np.count_nonzero(~np.isnan(values), axis=1)[:, None]  # (N, 1, C)
    low = np.take_along_axis(ordered, (count - 1) // 2, axis=1)
    high = np.take_along_axis(ordered, count // 2, axis=1)
    return (0.5 * (low + high))[:, 0]


def edge_directed_fill(pixels: np.ndarray, far: bool = True) -> np.ndarray:
    """Replace each impulse by the mean of the clean pixel pairs straddling it, weighted towards
    the pairs that agree (an edge runs along them, not across) and the nearest ones.

    Pairs 1 px away come first; impulses with none get the pairs 2 px away (unless not
    ``far``). A pair's weight is ``1 / ((|a - b| + AGREEMENT)^2 * distance^2)``, ``|a - b|``
    averaged over the channels. An impulse with no clean pair keeps its value.
    """
    return _edge_directed(pixels, far)[0]


def _edge_directed(pixels: np.ndarray, far: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``edge_directed_fill`` and the (H, W) mask of the impulses it left as they were."""
    pixels = np.asarray(pixels, np.float32)
    out = pixels.copy()
    todo = impulse_pixels(pixels)
    height, width = todo.shape
    pad = 2
    padded = np.pad(pixels, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
    clean = np.pad(~todo, pad, mode="constant", constant_values=False)  # the border counts as no data

    def shifted(image: np.ndarray, dy: int, dx: int) -> np.ndarray:  # image[y + dy, x + dx], every pixel
        return image[pad + dy:pad + dy + height, pad + dx:pad + dx + width]

    # Whole-image shifts, not gathers per impulse: slices cost a tenth at 50% impulses.
    for pairs in (NEAR_PAIRS, FAR_PAIRS)[:1 + far]:
        total = np.zeros_like(pixels)
        weight_sum = np.zeros((height, width), np.float32)
        for dy, dx in pairs.tolist():
            ahead, behind = shifted(padded, dy, dx), shifted(padded, -dy, -dx)
            usable = shifted(clean, dy, dx) & shifted(clean, -dy, -dx)
            disagreement = np.abs(ahead - behind).mean(axis=-1)
            weight = usable / ((disagreement + AGREEMENT) ** 2 * (dy * dy + dx * dx))
            total += weight[..., None] * (ahead + behind) / 2
            weight_sum += weight
        found = todo & (weight_sum > 0)
        out[found] = total[found] / weight_sum[found, None]
        todo &= ~found
    return out, todo


def impulse_fill(pixels: np.ndarray) -> np.ndarray:
    """The classical fill `clean -p fill=...` blends with a salt-and-pepper model: the mean of
    the edge-directed fill and the switching median (their errors differ; on the validation
    crops the mean matched or beat either alone at 10-50% impulses, by up to 0.8 dB), the
    switching median alone where no clean pair is near."""
    median = switching_median(pixels)
    directed, unpaired = _edge_directed(pixels)
    return np.where(unpaired[..., None], median, 0.5 * (median + directed))
