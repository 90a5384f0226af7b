"""The ``denoisekit`` command line."""

from __future__ import annotations

import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep TensorFlow's start-up chatter off the terminal

import click

from . import __version__
from .commands.calibrate import calibrate_command
from .commands.clean import clean_command
from .commands.benchmark import benchmark_command
from .commands.corrupt import corrupt_command
from .commands.export import export_command
from .commands.latent import latent_command
from .commands.metrics import metrics_command
from .commands.plugins import plugins_command
from .commands.models import models_command
from .commands.train import train_command


def _plugin_warnings_on_one_line() -> None:
    """A plugin that fails to import, or a training run that needs the user's attention, is one
    ``warning:`` line on stderr, not Python's ``file:line: Category: message`` plus a stray
    source line; other warnings as before."""
    from .plugins import PluginLoadWarning
    from .training import TrainingWarning

    previous = warnings.showwarning
    if getattr(previous, "_denoisekit", False):
        return

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, (PluginLoadWarning, TrainingWarning)):
            click.echo(f"warning: {message}", err=True)
        else:
            previous(message, category, filename, lineno, file, line)

    show._denoisekit = True  # type: ignore[attr-defined]
    warnings.showwarning = show


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="denoisekit")
def main() -> None:
    """Remove noise from images with small convolutional autoencoders; extend with plugins.

    \b
    Typical use:
      denoisekit clean noisy/ out/ --reference clean/ --report report.html
      denoisekit train --noise gaussian -p sigma=0:55 --out my.keras
      denoisekit corrupt clean/ noisy/ --noise salt-and-pepper -p amount=0.1
    """
    _plugin_warnings_on_one_line()


for command in (plugins_command, clean_command, corrupt_command, metrics_command, train_command, models_command,
                benchmark_command, export_command, latent_command, calibrate_command):
    main.add_command(command)
