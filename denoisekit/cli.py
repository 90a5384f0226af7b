"""The ``denoisekit`` command line."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep TensorFlow's start-up chatter off the terminal

import click

from . import __version__
from .commands.clean import clean_command
from .commands.benchmark import benchmark_command
from .commands.corrupt import corrupt_command
from .commands.metrics import metrics_command
from .commands.plugins import plugins_command
from .commands.models import models_command
from .commands.train import train_command


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


for command in (plugins_command, clean_command, corrupt_command, metrics_command, train_command, models_command, benchmark_command):
    main.add_command(command)
