"""Export the images the bundled models train and validate on into folders of PNGs.

    python benchmarks/training_data.py [--train runs/train-images] [--val runs/val-images]
        [--colorize runs/colorize-images] [--photos DIR] [--colorize-only] [--chroma-only]

Training sources (all shipped inside packages, nothing downloaded at run time):
- scikit-image's natural images less its validation four (camera, coins, chelsea, coffee,
  see denoisekit/training/datasets.py), scikit-learn's sample images (china, flower),
  PyWavelets' aero and ascent, and matplotlib's grace_hopper.jpg;
- the photographs among the wallpapers of three Debian packages (``PHOTOS``; digital art
  left out), each area-downscaled by about its short side / 900 (2x-4x): large photos are
  sharper per pixel after it, and it removes their JPEG blocking.

The colorizer trains on the colour photographs among them (``--colorize``): the gray images
say nothing about colour, and a micrograph's stains or a telescope's false colour
(``NOT_PHOTOGRAPHS``) would teach pink and blue where a photograph has none.
``--colorize-only`` makes that folder from an existing ``--train`` one (as on a GPU machine,
where the training images are carried in). The chroma model trains on the opponent chroma
channels of the same photographs (runs/chroma-images, runs/chroma-val-images; ``--chroma-only``
makes them from existing folders).

Validation (never trained on): samples/clean (256x256 crops of the four held-out
scikit-image images) and four 256x256 crops of each held-out photograph
(``VALIDATION_PHOTOS``: saturated colour, a dark interior, a dusk scene, a smooth sky,
fine green texture). ``--photos`` names a folder holding the wallpapers' JPEG files by name
(as on a machine without package access); by default they are fetched once with
``apt-get download`` into benchmarks/data/wallpapers.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from denoisekit.training.datasets import DEFAULT_TRAIN

HERE = Path(__file__).parent
WALLPAPERS = HERE / "data" / "wallpapers"
#: Debian package -> {photo name: path of its largest size inside the package}.
PHOTOS = {
    "lomiri-wallpapers-16.04": {
        name: f"usr/share/backgrounds/{name}.jpg" for name in (
            "Bridge_by_Sander_Klootwijk", "Dragonfly_by_Bolly", "Picture_0B_by_freespace",
            "Picture_1A_by_freespace", "Wine_by_Jakkub_Mede", "aitzgorri_by_Aitzol_Berasategi",
            "free_by_Peter_Nerlich", "friends_by_Aitzol_Berasategi", "life_by_Aitzol_Berasategi",
            "picosdeeuropa_by_Aitzol_Berasategi", "seeding_by_Clements_Engelhardt",
            "sunset_by_Aitzol_Berasategi")},
    "lomiri-wallpapers-20.04": {"Kleiber_by_Lukas_Baubkus": "usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg"},
    "plasma-workspace-wallpapers": {
        **{name: f"usr/share/wallpapers/{name}/contents/images/2560x1600.jpg" for name in (
            "ColdRipple", "ColorfulCups", "EveningGlow", "FallenLeaf", "Grey", "Kite", "OneStandsOut", "Path")},
        "Volna": "usr/share/wallpapers/Volna/contents/images/5120x2880.jpg",
    },
}
#: Held out for validation, chosen to span what users photograph.
VALIDATION_PHOTOS = ("Picture_1A_by_freespace", "Wine_by_Jakkub_Mede", "EveningGlow", "Kite", "OneStandsOut")
VAL_CROP = 256
#: Where the chroma channels of the colour photographs go (``write_chroma_set``).
CHROMA_TRAIN, CHROMA_VAL = Path("runs/chroma-images"), Path("runs/chroma-val-images")
#: Colour images among the training ones that are not photographs of what users photograph.
NOT_PHOTOGRAPHS = ("skimage-hubble_deep_field", "skimage-immunohistochemistry", "skimage-retina")


def fetch_wallpapers(folder: Path = WALLPAPERS) -> Path:
    """The photographs' JPEG files in ``folder`` (fetched once with apt-get download)."""
    wanted = {name: (pkg, path) for pkg, photos in PHOTOS.items() for name, path in photos.items()}
    if all((folder / f"{name}.jpg").is_file() for name in wanted):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["apt-get", "download", *PHOTOS], cwd=tmp, check=True)
        for deb in Path(tmp).glob("*.deb"):
            subprocess.run(["dpkg-deb", "-x", str(deb), tmp], check=True)
        for name, (_, path) in wanted.items():
            shutil.copyfile(Path(tmp) / path, folder / f"{name}.jpg")
    return folder


def downscale(image: np.ndarray) -> np.ndarray:
    """Area-downscale by round(short side / 900), at least 1."""
    factor = max(1, round(min(image.shape[:2]) / 900))
    if factor == 1:
        return image
    h, w = image.shape[:2]
    return cv2.resize(image, (w // factor, h // factor), interpolation=cv2.INTER_AREA)


def val_crops(image: np.ndarray, size: int = VAL_CROP) -> list[np.ndarray]:
    """Four crops centred on the quarter points: corners and centre areas alike."""
    h, w = image.shape[:2]
    crops = []
    for fy in (0.3, 0.7):
        for fx in (0.3, 0.7):
            top = min(max(0, int(fy * h) - size // 2), h - size)
            left = min(max(0, int(fx * w) - size // 2), w - size)
            crops.append(image[top:top + size, left:left + size])
    return crops


def package_images() -> dict[str, np.ndarray]:
    """The offline images that ship inside Python packages, RGB or gray uint8."""
    from skimage import data

    found: dict[str, np.ndarray] = {}
    for name in DEFAULT_TRAIN:
        pixels = getattr(data, name)()
        found[f"skimage-{name}"] = pixels[0] if isinstance(pixels, tuple) else pixels
    try:
        from sklearn.datasets import load_sample_images

        for fname, pixels in zip(("china", "flower"), load_sample_images().images):
            found[f"sklearn-{fname}"] = pixels
    except ImportError:
        print("note: scikit-learn not installed, its two images are left out", file=sys.stderr)
    try:
        import pywt.data

        found["pywt-aero"] = pywt.data.aero()
        found["pywt-ascent"] = pywt.data.ascent()
    except ImportError:
        print("note: PyWavelets not installed, its images are left out", file=sys.stderr)
    try:
        import matplotlib

        path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
        found["matplotlib-grace_hopper"] = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    except ImportError:
        print("note: matplotlib not installed, grace_hopper is left out", file=sys.stderr)
    return found


def _write_rgb(path: Path, pixels: np.ndarray) -> None:
    pixels = np.clip(np.asarray(pixels), 0, 255).astype(np.uint8)
    if pixels.ndim == 3:
        pixels = cv2.cvtColor(pixels[..., :3], cv2.COLOR_RGB2BGR)
    cv2.imwrite(str(path), pixels)


def write_colorize_set(train: Path, colorize: Path) -> int:
    """Copy the colour photographs among ``train``'s images into ``colorize``; return how many."""
    from denoisekit.images import has_color, read_image

    colorize.mkdir(parents=True, exist_ok=True)
    count = 0
    for path in sorted(train.glob("*.png")):
        if path.stem not in NOT_PHOTOGRAPHS and has_color(read_image(path).pixels):
            shutil.copyfile(path, colorize / path.name)
            count += 1
    return count


#: The chroma channels written by ``write_chroma_set`` (``opponent.to_opponent``'s 2nd and 3rd) and
#: the sizes `clean` restores them at (full, and half from noise sigma 17: ``NOISY_CHROMA_SCALE``).
CHROMA_CHANNELS = {"red-blue": 1, "green-magenta": 2}
CHROMA_SCALES = (1, 2)


def write_chroma_set(source: Path, chroma: Path) -> int:
    """Write the opponent chroma channels of the colour photographs among ``source``'s images
    into ``chroma`` as 16-bit gray PNGs, at each of ``CHROMA_SCALES`` (block means, as `clean`
    makes them): what a gray model restores in the colour route. Returns how many images."""
    from denoisekit.images import has_color, read_image
    from denoisekit.opponent import block_means, to_opponent

    chroma.mkdir(parents=True, exist_ok=True)
    count = 0
    for path in sorted(source.glob("*.png")):
        pixels = read_image(path).pixels
        if path.stem in NOT_PHOTOGRAPHS or not has_color(pixels):
            continue
        opponent = to_opponent(pixels)
        for scale in CHROMA_SCALES:
            small = block_means(opponent, scale) if scale > 1 else opponent
            for name, channel in CHROMA_CHANNELS.items():
                plane = np.round(np.clip(small[..., channel], 0, 1) * 65535).astype(np.uint16)
                cv2.imwrite(str(chroma / f"{path.stem}-{name}-{scale}.png"), plane)
                count += 1
    return count


def main(train: Path, val: Path, colorize: Path, photos: Path | None) -> None:
    train.mkdir(parents=True, exist_ok=True)
    val.mkdir(parents=True, exist_ok=True)
    for name, pixels in package_images().items():
        _write_rgb(train / f"{name}.png", pixels)
    photos = photos or fetch_wallpapers()
    for pkg, names in PHOTOS.items():
        for name in names:
            image = cv2.imread(str(photos / f"{name}.jpg"), cv2.IMREAD_COLOR)
            if image is None:
                raise SystemExit(f"{photos / (name + '.jpg')}: missing or unreadable (from {pkg})")
            image = downscale(image)
            if name in VALIDATION_PHOTOS:
                for i, crop in enumerate(val_crops(image)):
                    cv2.imwrite(str(val / f"photo-{name}-{i}.png"), crop)
            else:
                cv2.imwrite(str(train / f"photo-{name}.png"), image)
    samples = HERE.parent / "samples" / "clean"
    for path in sorted(samples.glob("*.png")):
        shutil.copyfile(path, val / f"sample-{path.name}")
    colour = write_colorize_set(train, colorize)
    write_chroma_set(train, CHROMA_TRAIN)
    write_chroma_set(val, CHROMA_VAL)
    print(f"wrote {len(list(train.glob('*.png')))} training images to {train} ({colour} colour photographs "
          f"to {colorize}), {len(list(val.glob('*.png')))} validation images to {val}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=Path, default=Path("runs/train-images"))
    parser.add_argument("--val", type=Path, default=Path("runs/val-images"))
    parser.add_argument("--colorize", type=Path, default=Path("runs/colorize-images"),
                        help="where the colorizer's training images (the colour photographs) go")
    parser.add_argument("--colorize-only", action="store_true",
                        help="only copy the colour photographs of an existing --train folder to --colorize")
    parser.add_argument("--chroma-only", action="store_true",
                        help=f"only write the chroma channels of existing --train and --val folders to {CHROMA_TRAIN} "
                             f"and {CHROMA_VAL}")
    parser.add_argument("--photos", type=Path, default=None,
                        help="folder of the wallpapers' JPEGs by name (default: fetch with apt-get)")
    args = parser.parse_args()
    if args.chroma_only:
        print(f"wrote {write_chroma_set(args.train, CHROMA_TRAIN)} training and {write_chroma_set(args.val, CHROMA_VAL)} "
              f"validation chroma planes to {CHROMA_TRAIN} and {CHROMA_VAL}")
    elif args.colorize_only:
        print(f"wrote {write_colorize_set(args.train, args.colorize)} colour photographs to {args.colorize}")
    else:
        main(args.train, args.val, args.colorize, args.photos)
