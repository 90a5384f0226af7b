"""Builtin restorers: the learned model and classical baselines."""

from __future__ import annotations

from .. import hookimpl


@hookimpl
def register_restorers(register):
    pass
