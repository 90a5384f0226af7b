"""denoisekit: remove noise and restore images with small convolutional autoencoders."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("denoisekit")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]

import pluggy as _pluggy

#: Decorator marking a plugin's hook implementations.
hookimpl = _pluggy.HookimplMarker("denoisekit")

from .params import Param  # noqa: E402
from .plugin_types import Architecture, Corruption, Restorer  # noqa: E402
from .arrays import make_restorer, restore_array  # noqa: E402

__all__ += ["hookimpl", "Param", "Corruption", "Restorer", "Architecture", "make_restorer", "restore_array"]
from .distributed import clean_on_dask; from .large import restore_dask, restore_large; __all__ += ["clean_on_dask", "restore_dask", "restore_large"]  # noqa: E402,E702  (issue 19)
