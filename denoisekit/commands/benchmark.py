"""``denoisekit benchmark``: restorers side by side on the same seeded noisy inputs."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path

import click

from ..benchmarking import STORES, TimedRestorer, cpu_description, make_cases, score_input
from ..files import collect_inputs
from ..images import ImageReadError, read_image, to_gray, to_rgb
from ..params import ParamError, params_to_text, resolve_params
from ..plugins import PluginError, get_registry
from .clean import make_restorer
from .common import echo_table, param_option, plugin_with_params, seed_option, write_json


def parse_restorer_spec(spec: str) -> tuple[str, list[str]]:
    """``median:size=5`` -> ("median", ["size=5"]); several parameters join with ``:``."""
    name, *assignments = spec.strip().split(":")
    return name, assignments


@click.command("benchmark")
@click.argument("clean_dir", metavar="CLEAN_DIR", type=click.Path(exists=True, path_type=Path))
@click.option("--noise", required=True, help="Corruption to apply (see `denoisekit plugins`).")
@param_option
@click.option("--restorers", default="model,nlmeans,median", show_default=True,
              help="Comma list of restorers, each NAME or NAME:key=value[:key=value] (e.g. median:size=5).")
@click.option("--channels", type=click.Choice(["keep", "gray", "rgb"]), default="keep", show_default=True,
              help="Convert the clean images first (gray: BT.601 luma, as OpenCV's BGR2GRAY).")
@click.option("--store", type=click.Choice(STORES), default="png", show_default=True,
              help="png: noisy input clipped and rounded to 8 bits, as users' files are; float: unrounded.")
@seed_option
@click.option("--repeat", type=click.IntRange(min=1), default=1, show_default=True,
              help="Time every image this many times, in passes over all restorers, and keep "
                   "each image's fastest (steadier on a busy or shared machine).")
@click.option("--json", "json_file", type=click.Path(path_type=Path, allow_dash=True),
              help="Write all figures (per image too) and the CPU as JSON to FILE ('-': stdout).")
def benchmark_command(clean_dir, noise, params, restorers, channels, store, seed, repeat, json_file):
    """Corrupt CLEAN_DIR's images with a fixed seed, run each restorer, and print
    PSNR, SSIM and seconds per megapixel (timed after a warm-up, on this machine;
    with --repeat N, each image's fastest of N passes).

    A restorer parameter named sigma (bm3d, nlmeans) defaults to the corruption's
    sigma when that is a fixed value, so the classical methods get the true level.

    Example: denoisekit benchmark photos/ --noise gaussian -p sigma=25 --channels gray
    --restorers model,bm3d,nlmeans --json results.json
    """
    corruption, noise_values = plugin_with_params("corruption", noise, params, "--noise")
    registry = get_registry()
    plans = []
    for spec in [s for s in restorers.split(",") if s.strip()]:
        name, texts = parse_restorer_spec(spec)
        try:
            found = registry.get("restorer", name)
            values = resolve_params(found.params, texts, f"restorer {name!r}")
        except (PluginError, ParamError) as err:
            raise click.BadParameter(str(err), param_hint="--restorers") from None
        sigma = noise_values.get("sigma")
        if "sigma" in values and not any(t.startswith("sigma=") for t in texts) and isinstance(sigma, float):
            values["sigma"] = sigma
        plans.append((spec.strip(), found, values))

    inputs = collect_inputs(clean_dir)
    images, unreadable = {}, []
    for rel in inputs.files:  # one unreadable file is left out, as clean goes on past one
        try:
            pixels = read_image(inputs.source(rel)).pixels
        except ImageReadError as err:
            click.echo(f"error: {err}; left out", err=True)
            unreadable.append(rel.as_posix())
            continue
        images[rel.as_posix()] = {"gray": to_gray, "rgb": to_rgb}.get(channels, lambda p: p)(pixels)
    if not images:
        raise click.ClickException(f"{clean_dir}: no {'readable ' if unreadable else ''}images")

    cases, unchanged = make_cases(images, corruption.obj, noise_values, seed, store)
    for name in unchanged:
        click.echo(f"note: {name} left out: the corruption does not change it", err=True)
    if not cases:
        raise click.ClickException(f"{clean_dir}: the corruption changes none of the images")
    timed = [TimedRestorer(label, make_restorer(found, values)) for label, found, values in plans]  # bad values: exit 2
    for done in range(repeat):
        for restorer in timed:
            label = restorer.label + (f" (pass {done + 1}/{repeat})" if repeat > 1 else "")
            with click.progressbar(length=len(cases), label=label, file=sys.stderr) as bar:
                restorer.run_pass(cases, lambda: bar.update(1))
    results = [score_input(cases)] + [restorer.result(cases) for restorer in timed]

    megapixels = sum(c.megapixels for c in cases)
    if str(json_file) != "-":
        noise_text = " ".join([noise, *(f"{k}={v}" for k, v in params_to_text(noise_values).items())])
        click.echo(f"{len(cases)} images, {megapixels:.2f} MP; noise {noise_text} "
                   f"(seed {seed}, stored as {store}); CPU: {cpu_description()['model']}"
                   + (f"; times: fastest of {repeat} passes" if repeat > 1 else ""))
        echo_table(["restorer", "PSNR (dB)", "SSIM", "s/MP"],
                   [[r.restorer, r.psnr, r.ssim, r.seconds_per_mp] for r in results])
    if json_file is not None:
        write_json({
            "noise": noise, "params": list(params), "noise_params": params_to_text(noise_values), "seed": seed,
            "store": store, "channels": channels, "repeat": repeat,
            "images": [c.name for c in cases], "unchanged": unchanged, "unreadable": unreadable,
            "megapixels": megapixels, "cpu": cpu_description(), "results": [asdict(r) for r in results],
        }, json_file)
    failures = [line for restorer in timed for line in restorer.errors]
    for line in failures:
        click.echo(f"error: {line}", err=True)
    if unreadable or failures:
        raise SystemExit(1)  # the figures are over the images measured only
