"""Builtin restorers: the learned model and classical baselines (median, switching median,
impulse fill, NL-means, BM3D).

Each ``make(**params)`` returns a function from one float32 image (H, W, C) in
[0, 1], C = 1 or 3, to its restoration. Nothing heavy is imported until ``make``:
listing plugins must not start TensorFlow.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any, Callable

import numpy as np

from .. import hookimpl
from ..chroma import CHROMA_KNEE, DEFAULT_CHROMA_CAP, DEFAULT_CHROMA_GAIN, DEFAULT_CHROMA_RADIUS
from ..impulses import impulse_fill, switching_median
from ..opponent import COLOR_SPACES, DEFAULT_CHROMA_SCALE
from ..params import Param
from ..plugin_types import Restorer
from ..tiling import DEFAULT_BATCH, DEFAULT_OVERLAP, DEFAULT_TILE

RestoreFn = Callable[[np.ndarray], np.ndarray]


class ModelRestorer(Restorer):
    name = "model"
    description = ("Learned denoiser (a .keras file or bundled model), run in overlapping tiles; "
                   "a task name picks the bundled gray or color model per image (gaussian on color images: "
                   "the gray model per opponent-colour channel, chroma at half size, clipping undone; see color).")
    params = (
        Param("model", "str", "gaussian",
              help="task (gaussian, salt-and-pepper, colorize), bundled model name, or .keras path"),
        Param("tile", "int", DEFAULT_TILE, 8, 16384, help="tile side in pixels (fixed-size models use their own)"),
        Param("overlap", "int", DEFAULT_OVERLAP, 0, 4096, help="tile overlap in pixels; half of it is context a side"),
        Param("batch", "int", DEFAULT_BATCH, 1, 1024, help="tiles per model call"),
        Param("keep_untouched", "bool", True,
              help="keep input pixels the model's corruption cannot have changed (salt-and-pepper: "
                   "all but pure black and white)"),
        Param("fill", "float", 0.0, 0.0, 1.0,
              help="share of the corruption's classical fill (salt-and-pepper: restorer impulse-fill) in "
                   "the pixels it changed, the model's output the rest; 0: the model alone (the bundled "
                   "model fills impulses itself; 0.5 suits a model trained without -a prefill)"),
        Param("ensemble", "bool", False,
              help="self-ensemble: average the restorations of the 8 flips and 90-degree rotations "
                   "(better, 8x slower)"),
        Param("chroma_radius", "int", DEFAULT_CHROMA_RADIUS, 0, 1024,
              help="colorization: smooth the predicted colour along the brightness edges over this "
                   "radius in pixels (guided filter); 0: unsmoothed"),
        Param("chroma_map", "bool", True,
              help="colorization: correct the predicted colour by the model's own calibration where its "
                   "file holds one (a linear map fitted on held-out photographs by train: greyer where "
                   "the model is unsure); false: as predicted"),
        Param("chroma_cap", "float", DEFAULT_CHROMA_CAP, 0.0, 1.0,
              help="colorization: how far from gray a colour may go (strong colours are often blotches: "
                   f"chroma of length m becomes cap m/(m + {CHROMA_KNEE:g})); 0: no cap"),
        Param("chroma_gain", "float", DEFAULT_CHROMA_GAIN, 0.0, 2.0,
              help="colorization: the share of the (capped) colour kept, the rest gray (chroma_cap=0 "
                   "chroma_gain=1: as predicted; 0: the gray input)"),
        Param("color", "str", "rgb", choices=COLOR_SPACES,
              help="a gray model named on RGB images restores each RGB channel, or each channel of an "
                   "opponent colour space (mean, red-blue, green-magenta: less noise per channel for "
                   "Gaussian noise; not for salt-and-pepper). The task gaussian always uses opponent"),
        Param("chroma_scale", "int", DEFAULT_CHROMA_SCALE, 0, 8,
              help="opponent colour: restore the two chroma channels this many times smaller (they are "
                   "smooth, and their noise averages down); 1: full size, twice the time; 0: 2 from noise "
                   "sigma 17, else 1"),
        Param("declip", "bool", True,
              help="opponent colour: undo the bias noise clipped at black and white leaves in saturated "
                   "colours (8- and 16-bit files); false for float data whose noise was never clipped"),
        Param("rgb_share", "float", 0.0, 0.0, 1.0,
              help="opponent colour: blend in this share of the gray model run per RGB channel (0.25: "
                   "0.1-0.5 dB better on every validation set, 3x the time)"),
    )

    def make(self, model: str = "gaussian", tile: int = DEFAULT_TILE, overlap: int = DEFAULT_OVERLAP,
             batch: int = DEFAULT_BATCH, keep_untouched: bool = True, fill: float = 0.0, ensemble: bool = False,
             chroma_radius: int = DEFAULT_CHROMA_RADIUS, color: str = "rgb",
             chroma_gain: float = DEFAULT_CHROMA_GAIN, chroma_scale: int = DEFAULT_CHROMA_SCALE,
             declip: bool = True, rgb_share: float = 0.0, chroma_cap: float = DEFAULT_CHROMA_CAP,
             chroma_map: bool = True) -> RestoreFn:
        from ..inference import ModelRestore

        return ModelRestore(model, tile=tile, overlap=overlap, batch=batch, keep_untouched=keep_untouched,
                            fill=fill, ensemble=ensemble, chroma_radius=chroma_radius, color=color,
                            chroma_gain=chroma_gain, chroma_scale=chroma_scale, declip=declip,
                            rgb_share=rgb_share, chroma_cap=chroma_cap, chroma_map=chroma_map)


class MedianRestorer(Restorer):
    name = "median"
    description = "Median filter (OpenCV medianBlur), exact at any bit depth; good for salt-and-pepper noise."
    params = (Param("size", "int", 3, 3, 255, help="odd window side in pixels"),)

    def make(self, size: int = 3) -> RestoreFn:
        if size % 2 == 0:
            raise ValueError(f"median size must be odd, not {size}")
        return lambda pixels: median(pixels, size)


def median(pixels: np.ndarray, size: int) -> np.ndarray:
    """Median of each channel over a ``size`` x ``size`` window (borders replicated).

    OpenCV's medianBlur takes float32 only for sizes 3 and 5 and 8-bit data for
    larger ones; larger windows on data that is not exactly 8-bit (16-bit files)
    use scipy's exact float median instead of losing precision.
    """
    import cv2

    if size <= 5:
        return _per_plane(pixels, lambda plane: cv2.medianBlur(plane, size))
    scaled = pixels * np.float32(255.0)
    as_bytes = np.rint(scaled)
    if np.abs(scaled - as_bytes).max() < 1e-3:  # 8-bit values (16-bit ones are >= 1/257 off): lossless
        return _per_plane(as_bytes.astype(np.uint8), lambda plane: cv2.medianBlur(plane, size)) / np.float32(255.0)
    from scipy.ndimage import median_filter

    return median_filter(pixels, size=(size, size, 1), mode="nearest")


class SwitchingMedianRestorer(Restorer):
    name = "switching-median"
    description = ("Switching median for salt-and-pepper noise: keeps every pixel that is not pure black or "
                   "white, and replaces each pure one by the median of the untouched pixels in the smallest "
                   "window (3x3, 5x5, ...) holding any.")
    params = (Param("max_size", "int", 15, 3, 255, help="largest odd window side tried"),)

    def make(self, max_size: int = 15) -> RestoreFn:
        if max_size % 2 == 0:
            raise ValueError(f"switching-median max_size must be odd, not {max_size}")
        return lambda pixels: switching_median(pixels, max_size)


class ImpulseFillRestorer(Restorer):
    name = "impulse-fill"
    description = ("Classical salt-and-pepper fill (the one `clean` blends with its model): keeps every pixel that "
                   "is not pure black or white, and gives each pure one the mean of the switching median and an "
                   "edge-directed interpolation (clean pixel pairs straddling it, weighted to those that agree).")

    def make(self) -> RestoreFn:
        return impulse_fill


def _per_plane(pixels: np.ndarray, fn: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Apply an OpenCV function to an (H, W, 1|3) array (OpenCV wants gray as (H, W))."""
    if pixels.shape[-1] == 1:
        return fn(np.ascontiguousarray(pixels[..., 0]))[..., None]
    return fn(np.ascontiguousarray(pixels))


class NLMeansRestorer(Restorer):
    name = "nlmeans"
    description = ("Non-local means (OpenCV fastNlMeansDenoising / ...Colored, 8-bit precision); "
                   "strength from the estimated noise level unless h is given.")
    params = (
        Param("h", "float", 0.0, 0.0, 255.0, help="filter strength on the 0-255 scale; 0: from sigma"),
        Param("sigma", "float", 0.0, 0.0, 255.0, help="noise level (0-255) for the default h; 0: estimated per image"),
        Param("template", "int", 7, 3, 35, help="odd patch side"),
        Param("search", "int", 21, 3, 101, help="odd search window side"),
    )
    #: h per unit of sigma that scored best on the samples (sigma 25): gray 1.0, color 0.7.
    GRAY_FACTOR, COLOR_FACTOR = 1.0, 0.7

    def make(self, h: float = 0.0, sigma: float = 0.0, template: int = 7, search: int = 21) -> RestoreFn:
        for name, side in (("template", template), ("search", search)):
            if side % 2 == 0:
                raise ValueError(f"nlmeans {name} must be odd, not {side}")
        import cv2

        from ..images import to_integers
        from ..noise_level import estimate_sigma

        def restore(pixels: np.ndarray) -> np.ndarray:
            color = pixels.shape[-1] == 3
            factor = self.COLOR_FACTOR if color else self.GRAY_FACTOR
            strength = h or max(1.0, (sigma or estimate_sigma(pixels)) * factor)
            data = to_integers(pixels, np.uint8)
            if color:
                out = cv2.fastNlMeansDenoisingColored(data, None, strength, strength, template, search)
            else:
                out = cv2.fastNlMeansDenoising(data[..., 0], None, strength, template, search)[..., None]
            return out.astype(np.float32) / np.float32(255.0)

        return restore


class BM3DRestorer(Restorer):
    name = "bm3d"
    description = "BM3D (the optional `bm3d` package): strong classical Gaussian denoiser, slow on big images."
    params = (Param("sigma", "float", 0.0, 0.0, 255.0, help="noise level on the 0-255 scale; 0: estimated per image"),)

    def make(self, sigma: float = 0.0) -> RestoreFn:
        import bm3d

        from ..noise_level import estimate_sigma

        def restore(pixels: np.ndarray) -> np.ndarray:
            level = (sigma or estimate_sigma(pixels)) / 255.0
            if level <= 0:
                return pixels.copy()
            pixels64 = pixels.astype(np.float64)
            if pixels.shape[-1] == 3:
                out = bm3d.bm3d_rgb(pixels64, level)
            else:
                out = np.asarray(bm3d.bm3d(pixels64[..., 0], level)).reshape(pixels.shape)
            return np.clip(out, 0.0, 1.0).astype(np.float32)

        return restore


def bm3d_available() -> bool:
    """True when the optional ``bm3d`` package imports."""
    # find_spec, not import: importing bm3d costs a second on every plugin listing.
    if "bm3d" in sys.modules:
        return sys.modules["bm3d"] is not None
    try:
        return importlib.util.find_spec("bm3d") is not None
    except (ImportError, ValueError):
        return False


@hookimpl
def register_restorers(register: Callable[[Any], None]) -> None:
    register(ModelRestorer())
    register(MedianRestorer())
    register(SwitchingMedianRestorer())
    register(ImpulseFillRestorer())
    register(NLMeansRestorer())
    if bm3d_available():
        register(BM3DRestorer())
