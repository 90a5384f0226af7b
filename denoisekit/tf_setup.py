"""Import TensorFlow once, quietly.

TensorFlow's C++ runtime writes CUDA-probe chatter straight to file descriptor 2
before its logging is configured (no environment variable stops it), which would
bury our own one-line messages; we hold fd 2 shut for the import and device probe.
"""

from __future__ import annotations

import os
import sys
from typing import Any

_tf: Any = None


def tensorflow() -> Any:
    """The ``tensorflow`` module, imported (and devices probed) with stderr silenced."""
    global _tf
    if _tf is None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        sys.stderr.flush()
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
            import tensorflow as tf

            tf.config.list_physical_devices()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(devnull)
        _tf = tf
    return _tf
