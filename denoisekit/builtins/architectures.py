"""Builtin Keras architectures."""

from __future__ import annotations

from .. import hookimpl


@hookimpl
def register_architectures(register):
    pass
