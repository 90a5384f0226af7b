"""A contact sheet for judging colorization by eye: gray input, the bundled model's raw colour
(`chroma_radius=0`, `chroma_map=false`, `chroma_cap=0`), `clean`'s output (chroma smoothed along
the luma edges, corrected by the model's chroma map, then capped), original.

    python benchmarks/colorize_sheet.py [OUT.jpg]      (after benchmarks/run.py has fetched both sets)

Four photographs of each evaluation set (never trained on): the opencv set's, and the nature
set's three that the first colorizer made worse than gray (Aqua, RainDrops, Storm) and a
flower; one row each, at 192 pixels high.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

from denoisekit.images import read_image, stored_values, to_gray, to_rgb
from denoisekit.inference import ModelRestore

HERE = Path(__file__).parent
PHOTOS = ("photos/fruits", "photos/butterfly", "photos/home", "photos/squirrel_cls",
          "nature/Aqua", "nature/RainDrops", "nature/Storm", "nature/FreshFlower")


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "colorize-photos.jpg"
    raw = ModelRestore("colorize-color", chroma_radius=0, chroma_gain=1.0, chroma_cap=0, chroma_map=False)
    smoothed = ModelRestore("colorize-color")
    rows = []
    for name in PHOTOS:
        clean = read_image(HERE / "data" / f"{name}.png").pixels.astype(np.float32)
        gray = stored_values(to_gray(clean))  # the 8-bit gray file a user has
        row = np.concatenate([to_rgb(gray), raw(gray), smoothed(gray), clean], axis=1)
        rows.append(cv2.resize(row, (768, 192), interpolation=cv2.INTER_AREA))
    sheet = (np.concatenate(rows, axis=0) * 255).round().astype(np.uint8)
    cv2.imwrite(str(out), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 88])
    print(out)


if __name__ == "__main__":
    main()
