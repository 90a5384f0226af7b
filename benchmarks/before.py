"""The bundled models of an earlier release on an evaluation set, for the before/after tables of
benchmarks/README.md: the model rows of run.py's tasks, with ``DIR``'s files as the bundled set.

    python benchmarks/before.py DIR --set nature [TASK ...]

Writes benchmarks/results/before/SET/TASK.json (same seed and inputs as run.py). DIR holds the
earlier ``.keras`` files (``git show REV:denoisekit/bundled/NAME.keras > DIR/NAME.keras``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from run import RESULTS, SETS, TASKS, fetch_photos

#: The model restorers of each task (no ensembles: 8x the time, and they follow the plain rows).
MODEL_ROWS = {
    "gray-gaussian-15": "model", "gray-gaussian-25": "model", "gray-gaussian-50": "model",
    "color-gaussian-25": "model,model:model=gaussian-color,model:model=gaussian-gray",
    "gray-saltpepper-10": "model:model=salt-and-pepper", "gray-saltpepper-30": "model:model=salt-and-pepper",
    "gray-saltpepper-50": "model:model=salt-and-pepper", "color-saltpepper-30": "model:model=salt-and-pepper",
    "colorize": "model:model=colorize",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", type=Path)
    parser.add_argument("tasks", nargs="*", default=list(MODEL_ROWS))
    parser.add_argument("--set", dest="set_name", choices=list(SETS), default="nature")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    from denoisekit import cli, modelio

    modelio.BUNDLED_DIR = args.models.resolve()
    photos, out = fetch_photos(args.set_name), RESULTS / "before" / args.set_name
    out.mkdir(parents=True, exist_ok=True)
    for task in args.tasks:
        channels, (noise, *params), _, store = TASKS[task]
        argv = ["benchmark", str(photos), "--noise", noise, "--channels", channels, "--restorers", MODEL_ROWS[task],
                "--store", store, "--seed", str(args.seed), "--json", str(out / f"{task}.json")]
        for p in params:
            argv += ["-p", p]
        print("$ denoisekit", " ".join(argv), f"(bundled: {args.models})", flush=True)
        try:
            cli.main(argv, standalone_mode=False)
        except SystemExit as stop:
            if stop.code:
                sys.exit(stop.code)


if __name__ == "__main__":
    main()
