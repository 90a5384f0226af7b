"""Run saved denoisers on whole images: model choice per image, channel adaptation, tiling.

``ModelRestore`` is the function the builtin ``model`` restorer makes. Given a
task name (``gaussian``) it picks the bundled ``TASK-gray`` or ``TASK-color`` model
by each image's channel count; given a bundled name or a ``.keras`` path it uses
that one model for every image. When the model's channels differ from the
image's, it adapts (and records a note saying what it did):

- gray model, RGB image: each channel is restored on its own;
- RGB model, gray image: the gray image is replicated to RGB, restored, and
  converted back to gray;
- colorization model: the input (gray, replicated to RGB) becomes an RGB image.

With a task whose noise is independent per RGB channel (``OPPONENT_TASKS``: gaussian), an RGB
image goes through the task's gray model per opponent-colour channel (``opponent.py``): the mean
at full resolution, the two chroma channels at ``1 / chroma_scale`` of it (smooth, and their
noise averages down), then the clipping of the 8-bit noise undone per RGB channel (``declip.py``).
On every evaluation set this beat the gray model per RGB channel and the earlier blend with the
color model, at half the gray-per-RGB cost (benchmarks/README.md, "The colour route").
"""

from __future__ import annotations

import copy
from functools import partial
from math import lcm
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .chroma import (CHROMA_MAP_KEY, DEFAULT_CHROMA_CAP, DEFAULT_CHROMA_GAIN, DEFAULT_CHROMA_RADIUS, calibrate_chroma,
                     map_chroma, smooth_chroma)
from .images import to_gray, to_rgb
from .modelio import (CHROMA_MODEL_SUFFIX, TASKS, Denoiser, ModelLoadError, bundled_for, bundled_models,
                      load_denoiser, peek_metadata, task_of)
from .declip import CORRECTION_SMOOTHING, declip, residual_sigma, smoothing_radius
from .noise_level import MAX_SIDE as NOISE_SIDE, estimate_sigma
from .opponent import (COLOR_SPACES, DEFAULT_CHROMA_SCALE, DETAIL_RADIUS, FULL_CHROMA_BELOW, NOISY_CHROMA_SCALE,
                       block_means, chroma_scale_for, from_opponent, to_opponent, upsample_chroma)
from .plugin_guard import classical_fill, impulse_mask
from .plugin_types import Corruption
from .plugins import PluginError, corruption
from .tiling import DEFAULT_BATCH, DEFAULT_OVERLAP, DEFAULT_TILE, apply_one_tile, fits_one_tile, tiled_apply

#: Side of the centre crop whose noise decides the chroma's size: noise is stationary, and the
#: wavelet estimate costs about 0.1 s a megapixel.
CHROMA_ESTIMATE_SIDE = 512
PASS_MODEL_PATH = "pass --model PATH to a .keras file made by `denoisekit train`"
#: Tasks whose RGB images go through the gray model per opponent-colour channel (``_opponent``).
#: Not salt-and-pepper: an impulse hits all channels of a pixel, so opponent channels share it.
OPPONENT_TASKS = ("gaussian",)
#: Most pixels (times channels) ``restore_many`` puts in one model call. Measured on the 2-core
#: EPYC, under load: the bundled gray U-Net took 13.3 ms a 64x64 image alone, 8.1 at 16 a call
#: and no less at 64 or 256 (28x28: 5.7 alone, 2.0 at 64 and at 256); the colour DnCNN, 38.8 ms
#: alone, was fastest at 16 a call (35.5) and back at 38.8 at 256: past this many pixels a call
#: only costs memory (and the tiled calls' ``tile``^2 x ``batch`` bounds it too, if smaller).
MANY_PIXELS = 2**18
#: Most images in one call: a larger group only delays the first writes and the progress bar.
MANY_MAX = 256
#: Routes whose work is the same on a stack of one-tile images as on one image (``restore_many``);
#: a colorization's chroma filter, and the opponent route's resizing and noise estimate, work on
#: one image at a time.
STACKABLE_ROUTES = ("direct", "per_channel", "replicate")


def _channels_as_batch(denoiser: Denoiser, tiles: np.ndarray) -> np.ndarray:
    """Tiles (N, h, w, C) through a gray model as one batch of N * C one-channel tiles."""
    n, h, w, c = tiles.shape
    gray = np.ascontiguousarray(tiles.transpose(0, 3, 1, 2)).reshape(n * c, h, w, 1)
    return denoiser(gray).reshape(n, c, h, w).transpose(0, 2, 3, 1)


def check_model_spec(spec: str) -> None:
    """Fail early, in one line, when ``spec`` names no usable model (no bundled models yet, a typo)."""
    bundled = bundled_models()
    known = ", ".join(bundled) or "none yet"
    if spec in TASKS:
        if bundled_for(spec, 1) is None:
            raise ModelLoadError(f"no bundled model for the task {spec!r} is installed (bundled: {known}); "
                                 f"{PASS_MODEL_PATH}")
    elif spec not in bundled and not Path(spec).is_file():
        what = "no such model file" if Path(spec).suffix or "/" in spec else "no bundled model of that name"
        raise ModelLoadError(f"model {spec!r}: {what} (bundled: {known}); {PASS_MODEL_PATH}")


#: A model's (channels, task) by name: what the choice of route needs to know of it.
KindOf = Callable[[str], tuple[int, str]]


def _model_for(spec: str, channels: int) -> str:
    """The model a spec names for an image of ``channels``: a task's bundled one, else the spec."""
    if spec not in TASKS:
        return spec
    name = bundled_for(spec, channels)
    if name is None:  # checked at start; only if the folder changed under us
        raise ModelLoadError(f"no bundled model for the task {spec!r}; {PASS_MODEL_PATH}")
    return name


def choose_route(spec: str, channels: int, kind_of: KindOf) -> tuple[str, tuple[str, ...]]:
    """How an image of ``channels`` is restored: (way, model names), way one of ``opponent``
    (a task's gray model per opponent-colour channel, and its ``TASK-chroma`` model for the two
    chroma channels where one is bundled), ``colorize``, ``direct`` (the model's own
    channels), ``per_channel`` (a gray model on RGB) or ``replicate`` (an RGB model on gray)."""
    if spec in OPPONENT_TASKS and channels == 3:
        gray = bundled_for(spec, 1)
        if gray is not None and kind_of(gray)[0] == 1:
            chroma = f"{spec}-{CHROMA_MODEL_SUFFIX}"  # a gray model trained on chroma, if bundled
            return "opponent", (gray, chroma) if chroma in bundled_models() else (gray,)
    name = _model_for(spec, channels)
    model_channels, task = kind_of(name)
    if task == "colorize":
        return "colorize", (name,)
    if model_channels == channels:
        return "direct", (name,)
    return ("per_channel" if model_channels == 1 else "replicate"), (name,)


def task_routes() -> list[tuple[str, str, str]]:
    """What ``clean --model TASK`` runs by default, per bundled task: (task, on gray images, on RGB images)."""

    def kind_of(name: str) -> tuple[int, str]:
        metadata = peek_metadata(name)
        return int(metadata.get("channels", 1)), task_of(metadata)

    def describe(task: str, channels: int) -> str:
        way, names = choose_route(task, channels, kind_of)
        name = names[0]
        return {
            "opponent": f"{name} per opponent-colour channel ({'' if len(names) == 1 else names[-1] + ' on the '}"
                        f"chroma at 1/{NOISY_CHROMA_SCALE} resolution from sigma {FULL_CHROMA_BELOW:g}), "
                        f"clipping undone",
            "colorize": f"{name} (becomes RGB)" if channels == 1 else f"{name} (colours re-predicted)",
            "direct": name,
            "per_channel": f"{name} per RGB channel",
            "replicate": f"{name} (gray replicated to RGB, then back)",
        }[way]

    return [(task, describe(task, 1), describe(task, 3)) for task in TASKS
            if bundled_for(task, 1) is not None]


class ModelRestore:
    """One image ``(H, W, C)`` in [0, 1] -> its restoration, through a saved model, tiled.

    After each call ``last_model`` names the models used (``gray + chroma`` on the opponent
    route); ``notes`` collects one line per kind of channel adaptation done (for the user),
    in order. ``keep_untouched`` keeps the input pixels the model's corruption cannot have
    changed (its plugin's ``untouched``), and gives the others ``fill`` of its plugin's
    classical estimate (its ``fill``: ``impulses.impulse_fill`` for salt-and-pepper), the
    model's output the rest;
    ``ensemble`` averages the restorations of the 8 flips and rotations;
    ``chroma_radius`` smooths a colorization's chroma along the luma's edges (0: off),
    ``chroma_map`` corrects it by the model's own calibration where its file holds one
    (``chroma.map_chroma``), ``chroma_cap`` caps its length (``chroma.calibrate_chroma``; 0: no cap) and ``chroma_gain``
    scales it (``chroma_cap=0, chroma_gain=1``: as predicted; ``chroma_gain=0``: the gray input);
    ``color`` says how a named gray model restores RGB images: per RGB channel, or per channel
    of an opponent colour space (``opponent.py``; for noise independent per RGB channel), as a
    task in ``OPPONENT_TASKS`` always does; there ``chroma_scale`` is the factor the chroma
    channels are restored smaller by (1: full size; 0: by the noise, ``chroma_scale_for``),
    ``declip`` undoes the bias of noise clipped at 0 and 1 (``declip.py``: for 8- and 16-bit
    files, not for unclipped float data), and ``rgb_share`` of the gray model per RGB channel is
    blended in (their errors differ);
    ``preloaded``: the model ``spec`` names, already loaded.

    ``restore_many`` restores several images of one shape at once, up to ``many_limit(shape)``
    of them in one model call when each fits one tile: what small images need, the model's
    per-call cost being most of their time.
    """

    def __init__(self, spec: str, tile: int = DEFAULT_TILE, overlap: int = DEFAULT_OVERLAP,
                 batch: int = DEFAULT_BATCH, keep_untouched: bool = True, fill: float = 0.0,
                 ensemble: bool = False, chroma_radius: int = DEFAULT_CHROMA_RADIUS, color: str = "rgb",
                 chroma_gain: float = DEFAULT_CHROMA_GAIN, chroma_scale: int = DEFAULT_CHROMA_SCALE,
                 declip: bool = True, rgb_share: float = 0.0, chroma_cap: float = DEFAULT_CHROMA_CAP,
                 chroma_map: bool = True, preloaded: Denoiser | None = None) -> None:
        if color not in COLOR_SPACES:
            raise ValueError(f"color must be one of {', '.join(COLOR_SPACES)}, not {color!r}")
        if overlap >= tile:
            raise ValueError(f"the overlap ({overlap}) must be smaller than the tile ({tile}): give a smaller overlap "
                             f"with it (overlap={tile // 4}, say)")
        check_model_spec(spec)
        self.spec, self.tile, self.overlap, self.batch = spec, tile, overlap, batch
        if not 0.0 <= fill <= 1.0:
            raise ValueError(f"fill must be between 0 and 1, not {fill}")
        self.keep_untouched, self.fill = keep_untouched, fill
        self.ensemble, self.chroma_radius, self.chroma_gain = ensemble, chroma_radius, chroma_gain
        if chroma_cap < 0:
            raise ValueError(f"chroma_cap must be 0 (no cap) or more, not {chroma_cap}")
        self.chroma_cap, self.chroma_map = chroma_cap, chroma_map
        if chroma_scale < 0:
            raise ValueError(f"chroma_scale must be 0 (auto) or more, not {chroma_scale}")
        if not 0.0 <= rgb_share <= 1.0:
            raise ValueError(f"rgb_share must be between 0 and 1, not {rgb_share}")
        self.color, self.chroma_scale, self.declip, self.rgb_share = color, chroma_scale, declip, rgb_share
        self.declip_sigma: float | None = None  # set by ``settled``: else measured on each image
        self.notes: list[str] = []
        self.last_model: str | None = None
        self._loaded: dict[str, Denoiser] = {}
        if preloaded is not None:  # the model ``spec`` names, loaded already (denoisekit.Model)
            self._loaded[spec] = preloaded
        if spec not in TASKS:
            self._load(spec)  # load weights once per run, and fail before the first image

    def _load(self, name: str) -> Denoiser:
        if name not in self._loaded:
            self._loaded[name] = load_denoiser(name)
        return self._loaded[name]

    def _kind(self, name: str) -> tuple[int, str]:
        denoiser = self._load(name)
        return denoiser.channels, denoiser.task

    def _note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        return self._routed(pixels)

    def many_limit(self, shape: tuple[int, int, int]) -> int:
        """How many images of ``shape`` (H, W, C) ``restore_many`` runs through the models in one
        call: as many as make ``MANY_PIXELS``, or one tiled call's ``tile``^2 x ``batch`` if less
        (padded pixels times channels, as a gray model per channel sees them), when each image
        fits one tile of every model its route uses; 1 (one by one) for larger images,
        fixed-size models, the ensemble and colorizations."""
        height, width, channels = shape
        if self.ensemble:
            return 1
        way, names = choose_route(self.spec, channels, self._kind)
        if way not in STACKABLE_ROUTES:
            return 1
        padded = 1
        for name in names:
            denoiser = self._load(name)
            multiple = denoiser.size_multiple
            if denoiser.fixed_size is not None or not fits_one_tile(height, width, self.tile, multiple):
                return 1
            padded = max(padded, -(-height // multiple) * multiple * (-(-width // multiple) * multiple))
        budget = min(MANY_PIXELS, self.tile * self.tile * self.batch)
        return max(1, min(MANY_MAX, budget // (padded * channels)))

    def restore_many(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Images of one shape, each restored as ``self(image)`` would: in groups of up to
        ``many_limit`` through the models at once, one by one when the limit is 1."""
        if not images:
            return []
        shape = images[0].shape
        if any(image.shape != shape for image in images):
            raise ValueError(f"restore_many takes images of one shape, got {sorted({i.shape for i in images})}")
        limit = self.many_limit(shape)
        if limit == 1:
            return [self(image) for image in images]
        restored: list[np.ndarray] = []
        for first in range(0, len(images), limit):
            restored.extend(self._routed(np.stack(images[first:first + limit])))
        return restored

    def _routed(self, pixels: np.ndarray) -> np.ndarray:
        """One image (H, W, C), or a stack (N, H, W, C) of images that each fit one tile
        (``many_limit``), through the route its channels take."""
        channels = pixels.shape[-1]
        way, names = choose_route(self.spec, channels, self._kind)
        denoiser = self._load(names[0])
        label = Path(names[0]).name
        self.last_model = " + ".join(Path(name).name for name in names)  # the opponent route: + its chroma model
        if way == "opponent":
            return self._opponent(denoiser, pixels, self._load(names[-1]))
        if way == "colorize":
            self._note(f"colorization model {label}: gray images become RGB"
                       if channels == 1 else f"colorization model {label}: the colours of RGB images are re-predicted")
            return self._colorize(denoiser, pixels)
        restored = self._restore(denoiser, label, pixels, way)
        if pixels.ndim == 3:
            return self._keep_untouched(denoiser, pixels, restored)
        for k in range(len(pixels)):  # a corruption's plugin sees one image at a time
            restored[k] = self._keep_untouched(denoiser, pixels[k], restored[k])
        return restored

    def chunked(self, channels: int, image: Any = None) -> tuple["ModelRestore", int, int]:
        """What restoring an image of ``channels`` in chunks needs to equal restoring it whole:
        a copy whose tiles overlap by at least twice its models' receptive-field radius, the
        context every output pixel depends on (``halo``, pixels a side), and the grid (``multiple``)
        chunks must start on. With ``image`` (H, W, C; any array that slices, a Dask or zarr array
        too: integers or floats in [0, 1]), the copy also makes once the choices the whole image
        would get from its centre (``settled``). A ``ValueError`` says why an image cannot be done
        in chunks."""
        from .receptive_field import UnknownLayer, receptive_radius

        if self.ensemble:
            raise ValueError("the self-ensemble (ensemble=true) cannot be restored in chunks")
        way, names = choose_route(self.spec, channels, self._kind)
        radius, multiple = 0, 1
        for name in names:
            denoiser = self._load(name)
            if denoiser.fixed_size is not None:
                raise ValueError(f"model {Path(name).name} takes one input size: it cannot restore chunks")
            try:
                radius = max(radius, receptive_radius(denoiser.model))
            except UnknownLayer as err:
                raise ValueError(f"model {Path(name).name}: {err}") from None
            multiple = lcm(multiple, denoiser.size_multiple)
        if self._in_opponent_route(way):  # chroma restored smaller: its radius and grid scale up
            scale = self.chroma_scale or NOISY_CHROMA_SCALE  # auto: the larger it may pick
            # + 1: the bilinear step; + 2 DETAIL_RADIUS: the slope's two box filters (upsample_chroma)
            radius, multiple = (radius + 1 + 2 * DETAIL_RADIUS) * scale, multiple * scale
        exact = copy.copy(self)  # shares the loaded models
        exact.overlap = max(self.overlap, -(-2 * radius // multiple) * multiple)
        exact.tile = max(self.tile, 2 * exact.overlap)
        halo = radius
        if way == "colorize" and self.chroma_radius:
            halo += 2 * self.chroma_radius  # the guided filter's two box passes, on the model's output
        elif way not in ("opponent", "colorize") and self.keep_untouched and self.fill:
            halo = max(halo, self._fill_radius(self._load(names[0])))  # on the input, beside the model
        if self._in_opponent_route(way) and self.declip:
            halo += smoothing_radius(CORRECTION_SMOOTHING)  # the declipping's smoothed correction
        halo = -(-halo // multiple) * multiple
        if image is not None and channels == 3 and self._in_opponent_route(way):
            exact = exact.settled(image, halo, multiple)
        return exact, halo, multiple

    def settled(self, image: Any, halo: int, multiple: int) -> "ModelRestore":
        """A copy with the colour route's image-wide choices made as restoring ``image`` whole
        makes them: the chroma's scale from the noise measured on its centre, and the declipping's
        noise level from what the model removes there (its centre restored with ``halo`` pixels of
        context, from a start on the ``multiple`` grid, equals the whole image's). Chunks restored
        apart then share them; measured on each chunk, they differed from chunk to chunk (seams)."""
        height, width = image.shape[:2]

        def read(rows: slice, cols: slice) -> np.ndarray:
            raw = np.asarray(image[rows, cols, :3])
            pixels = raw.astype(np.float32)
            if raw.dtype.kind in "ui":
                pixels /= np.float32(np.iinfo(raw.dtype).max)  # as images.read_image scales
            return pixels

        def centre(length: int, side: int) -> slice:  # images.center_crop's rows or columns
            size = min(side, length)
            return slice((length - size) // 2, (length - size) // 2 + size)

        settled = copy.copy(self)
        if not self.chroma_scale:
            sample = read(centre(height, CHROMA_ESTIMATE_SIDE), centre(width, CHROMA_ESTIMATE_SIDE))
            settled.chroma_scale = chroma_scale_for(estimate_sigma(sample, max_side=CHROMA_ESTIMATE_SIDE))
        if self.declip:
            rows, cols = centre(height, NOISE_SIDE), centre(width, NOISE_SIDE)
            top = max(0, rows.start - halo) // multiple * multiple
            left = max(0, cols.start - halo) // multiple * multiple
            noisy = read(slice(top, min(height, rows.stop + halo)), slice(left, min(width, cols.stop + halo)))
            plain = copy.copy(settled)
            plain.declip, plain.rgb_share = False, 0.0
            inner = (slice(rows.start - top, rows.stop - top), slice(cols.start - left, cols.stop - left))
            settled.declip_sigma = residual_sigma(noisy[inner], plain(noisy)[inner])
        return settled

    def _in_opponent_route(self, way: str) -> bool:
        return way == "opponent" or (way == "per_channel" and self.color == "opponent")

    @staticmethod
    def _fill_radius(denoiser: Denoiser) -> int:
        try:
            noise = corruption(str(denoiser.metadata.get("corruption"))).obj
        except PluginError:
            return 0  # no plugin here: nothing is kept or filled (``_keep_untouched``)
        untouched = getattr(noise, "untouched", None)
        if not callable(untouched) or untouched(np.zeros((2, 2, 1), np.float32)) is None:
            return 0  # keeps no input pixels, so fills none
        if getattr(type(noise), "fill", Corruption.fill) is Corruption.fill:
            return 0  # the base class's: no classical estimate
        radius = getattr(noise, "fill_radius", None)
        if radius is None:
            raise ValueError(f"the corruption {noise.name!r} does not say how far its fill looks (fill_radius): "
                             f"it cannot restore chunks; pass fill=0")
        return int(radius)

    def _colorize(self, denoiser: Denoiser, pixels: np.ndarray) -> np.ndarray:
        rgb = to_rgb(pixels)
        out = self._tiled(denoiser, rgb)
        luma = to_gray(rgb)
        if self.chroma_radius:
            smooth_chroma(luma, out, self.chroma_radius)
        fitted = denoiser.metadata.get(CHROMA_MAP_KEY)
        if self.chroma_map and fitted:
            map_chroma(luma, out, fitted)
        return calibrate_chroma(luma, out, self.chroma_gain, self.chroma_cap)

    def _restore(self, denoiser: Denoiser, label: str, pixels: np.ndarray, way: str) -> np.ndarray:
        if way == "direct":
            return self._tiled(denoiser, pixels)
        if way == "per_channel":
            opponent = self.color == "opponent"
            kind = "opponent-colour channel (mean, red-blue, green-magenta)" if opponent else "channel"
            self._note(f"gray model {label} on RGB images: each {kind} restored on its own")
            return self._per_channel(denoiser, pixels, opponent)
        self._note(f"RGB model {label} on gray images: restored as RGB (gray replicated), converted back to gray")
        rgb = self._tiled(denoiser, to_rgb(pixels))
        return to_gray(rgb) if rgb.ndim == 3 else np.stack([to_gray(image) for image in rgb])

    def _per_channel(self, denoiser: Denoiser, pixels: np.ndarray, opponent: bool) -> np.ndarray:
        """A gray model on each RGB channel, or on each opponent-colour channel, of ``pixels``."""
        if opponent:
            return self._opponent(denoiser, pixels)
        return self._tiled(denoiser, pixels, channels_as_batch=True)

    def _opponent(self, denoiser: Denoiser, pixels: np.ndarray,
                  chroma_denoiser: Denoiser | None = None) -> np.ndarray:
        """A gray model on the opponent-colour channels of RGB ``pixels`` (H, W, 3): the mean at
        full size, the chroma (by ``chroma_denoiser`` if given) ``chroma_scale`` times smaller
        (block means, restored, brought back up with the mean's detail: ``upsample_chroma``; auto:
        by the noise level's wavelet estimate on the input), then, with ``declip``, each RGB
        channel mapped from its clipped mean back to its value, at the noise level measured on
        what the model removed, the correction smoothed (``declip.CORRECTION_SMOOTHING``);
        ``rgb_share`` of the gray model per RGB channel blended in."""
        if pixels.ndim == 4:  # a stack (``restore_many``): the noise is measured per image
            return np.stack([self._opponent(denoiser, image, chroma_denoiser) for image in pixels])
        opponent = to_opponent(pixels)
        scale = self.chroma_scale or chroma_scale_for(estimate_sigma(pixels, max_side=CHROMA_ESTIMATE_SIDE))
        chroma_denoiser = chroma_denoiser or denoiser
        if scale == 1 and chroma_denoiser is denoiser:  # all three channels at full size: one pass
            rgb = from_opponent(self._tiled(denoiser, opponent, channels_as_batch=True))
        else:
            mean = self._tiled(denoiser, opponent[..., :1])
            small = block_means(opponent[..., 1:], scale) if scale > 1 else np.ascontiguousarray(opponent[..., 1:])
            restored = self._tiled(chroma_denoiser, small, channels_as_batch=True)
            chroma = upsample_chroma(restored, mean, scale) if scale > 1 else restored
            rgb = from_opponent(np.concatenate([mean, chroma], axis=-1))
        if self.declip:
            sigma = residual_sigma(pixels, rgb) if self.declip_sigma is None else self.declip_sigma
            rgb = declip(rgb, sigma, CORRECTION_SMOOTHING)
        if self.rgb_share:
            per_rgb = self._tiled(denoiser, pixels, channels_as_batch=True)
            rgb += np.float32(self.rgb_share) * (per_rgb - rgb)
        return rgb

    def _keep_untouched(self, denoiser: Denoiser, pixels: np.ndarray, out: np.ndarray) -> np.ndarray:
        """The input where the model's corruption cannot have changed it (its plugin says where),
        and elsewhere ``fill`` of the plugin's classical estimate where it has one: on the
        validation crops a salt-and-pepper model trained without the prefill and the classical
        fill (``impulses.impulse_fill``), half each, beat the model alone by 0.5-1.9 dB at 10-50%
        impulses; the bundled model, which fills impulses itself, is best alone (RECIPE.md)."""
        if not self.keep_untouched or denoiser.metadata.get("noise_source", "synthetic") != "synthetic":
            return out  # a model of real noise (pairs, or learnt from noisy images) may see any pixel changed
        try:
            noise = corruption(str(denoiser.metadata.get("corruption"))).obj
        except PluginError:
            return out  # trained on a corruption whose plugin is not installed here
        mask = impulse_mask(noise, pixels)  # plugins need not subclass Corruption: both are optional
        if mask is None:
            return out
        estimate = classical_fill(noise, pixels) if self.fill else None
        if estimate is not None:
            out += np.float32(self.fill) * (estimate - out)
        np.copyto(out, pixels, where=mask)
        return out

    def _tiled(self, denoiser: Denoiser, pixels: np.ndarray, channels_as_batch: bool = False) -> np.ndarray:
        """``denoiser`` over ``pixels`` in tiles; ``channels_as_batch``: a gray model restores each
        channel of each tile, the channels going through it as one batch (one call, not one per channel)."""
        fn, batch = denoiser, self.batch
        if channels_as_batch:
            fn = partial(_channels_as_batch, denoiser)
            batch = max(1, self.batch // pixels.shape[-1])  # about as many gray tiles per call as usual

        if pixels.ndim == 4:  # a stack of images that each fit one tile: one call (``many_limit``)
            return apply_one_tile(pixels, fn, multiple=denoiser.size_multiple)

        def run(image: np.ndarray) -> np.ndarray:
            return tiled_apply(image, fn, tile=self.tile, overlap=self.overlap, batch=batch,
                               multiple=denoiser.size_multiple, fixed_size=denoiser.fixed_size)

        if not self.ensemble:
            return run(pixels)
        # Self-ensemble: the mean of the restorations of the 8 flips and 90-degree rotations,
        # each turned back; one running sum, so memory stays a few image-sized arrays.
        total = np.zeros(pixels.shape, np.float32)
        for turns in range(4):
            for flip in (False, True):
                view = np.rot90(pixels, turns)
                view = view[:, ::-1] if flip else view
                restored = run(np.ascontiguousarray(view))
                restored = restored[:, ::-1] if flip else restored
                total += np.rot90(restored, -turns)
        total /= np.float32(8)
        return total
