"""Restore a numpy stack from Python: ``restore_array(data, "ZYX")``, the same work as ``clean`` does on a TIFF stack.

    >>> import denoisekit
    >>> restored = denoisekit.restore_array(stack, "TCYX", model="gaussian", normalize="percentile")

The array keeps its shape and dtype; axes and normalisation work as for TIFF stacks
(``planes.py``, ``normalization.py``, docs/scientific.md).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .normalization import NormalizeSpec, parse_normalize
from .params import format_value, resolve_params
from .plugin_guard import guarded_restorer
from .planes import layout_of, normalizations, restore_page

RestoreFn = Callable[[np.ndarray], np.ndarray]


def make_restorer(restorer: str = "model", **params: Any) -> RestoreFn:
    """A restorer plugin's function (``model``, ``median``, ``nlmeans``, ...) with its parameters,
    validated as ``-p`` values are: ``make_restorer(model="gaussian", ensemble=True)``. An unknown
    name is a ValueError listing the installed ones."""
    from .plugins import PluginError, get_registry

    try:
        found = get_registry().get("restorer", restorer)
    except PluginError as err:
        raise ValueError(str(err)) from None
    values = resolve_params(found.params, {k: format_value(v) for k, v in params.items()}, f"restorer {restorer!r}")
    return guarded_restorer(found.obj, **values)


def restore_array(data: np.ndarray, axes: str, *, restorer: str | RestoreFn = "model",
                  normalize: str | NormalizeSpec = "auto", **params: Any) -> np.ndarray:
    """``data`` with every plane restored, in its own shape and dtype.

    ``axes``: one letter per axis of ``data``, with ``Y`` and ``X`` (``"YX"``, ``"ZYX"``, ``"TYX"``,
    ``"CYX"``, ``"TZCYX"``, ``"YXS"``...): ``C`` channels are restored each on its own, ``S`` samples
    of 3 (or 4, the 4th kept as alpha) as colour, every other axis plane by plane.
    ``restorer``: a restorer plugin's name, made with ``params`` (``model="gaussian"``, ``tile=256``,
    ...), or a function of one float32 ``(H, W, C)`` image in [0, 1] (reuse one across calls:
    ``make_restorer``). ``normalize``: as ``clean --normalize`` (``auto``, ``dtype``, ``range``,
    ``percentile``, ``percentile:LOW,HIGH``).
    """
    data = np.asarray(data)
    spec = parse_normalize(normalize) if isinstance(normalize, str) else normalize
    if data.dtype.kind not in "uif" or data.dtype == np.bool_:
        raise ValueError(f"unsupported pixel type {data.dtype}")
    if data.size == 0:
        raise ValueError(f"the array is empty (shape {data.shape})")
    layout, order = layout_of(data.shape, axes)
    if params and not isinstance(restorer, str):
        raise ValueError("params go with a restorer's name, not with a restorer function")
    fn = make_restorer(restorer, **params) if isinstance(restorer, str) else restorer
    pages = np.transpose(data, order).reshape(layout.pages, *layout.page_shape)  # a view where it can be

    def plane(pixels: np.ndarray, where: tuple[int, int]) -> np.ndarray:
        return np.clip(np.asarray(fn(pixels), np.float32), 0.0, 1.0)

    norms = normalizations(iter(pages), layout, spec, data.dtype)
    out = np.empty_like(pages)
    for index in range(layout.pages):
        out[index] = restore_page(pages[index], index, layout, norms, plane)
    transposed = out.reshape(tuple(data.shape[i] for i in order))
    return np.transpose(transposed, np.argsort(order))
