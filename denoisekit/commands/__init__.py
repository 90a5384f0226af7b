"""The subcommands of the ``denoisekit`` command line, one module each."""
