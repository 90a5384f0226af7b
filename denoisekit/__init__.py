"""denoisekit: remove noise and restore images with small convolutional autoencoders.

    >>> import denoisekit
    >>> restored = denoisekit.denoise(image)        # a numpy image: uint8/uint16/float, gray/RGB(A)

docs/api.md has every public name with an example; importing this package starts no TensorFlow.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("denoisekit")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

import pluggy as _pluggy

#: Decorator marking a plugin's hook implementations.
hookimpl = _pluggy.HookimplMarker("denoisekit")

from .params import Param  # noqa: E402
from .plugin_types import Architecture, Corruption, Restorer  # noqa: E402
from .arrays import make_restorer, restore_array  # noqa: E402
from .api import Model, corrupt, denoise, load, psnr, ssim, train  # noqa: E402
from .folders import CleanRun, clean  # noqa: E402
from .colour_calibration import calibrate_colorizer  # noqa: E402
from .distributed import clean_on_dask  # noqa: E402
from .large import restore_dask, restore_large  # noqa: E402

# The public names, one a line (docs/api.md shows each; tests/test_docs_api.py checks that).
__all__ = [
    "__version__",
    # images and models
    "denoise",
    "load",
    "Model",
    "corrupt",
    "psnr",
    "ssim",
    "train",
    "calibrate_colorizer",
    # folders of files, as the clean command
    "clean",
    "CleanRun",
    # stacks and other restorers
    "restore_array",
    "make_restorer",
    # many files on a Dask cluster, images larger than memory
    "clean_on_dask",
    "restore_large",
    "restore_dask",
    # plugins
    "hookimpl",
    "Param",
    "Corruption",
    "Restorer",
    "Architecture",
]
