"""``batch.process_files``: files read ahead and written behind, results as if one after another."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np

from denoisekit.batch import READ_AHEAD, WRITE_BEHIND, process_files
from denoisekit.files import collect_inputs
from denoisekit.images import read_image


def make_folder(root: Path, count: int) -> Path:
    root.mkdir()
    for i in range(count):
        cv2.imwrite(str(root / f"{i:02d}.png"), np.full((8 + i, 9, 1), 10 * i, np.uint8))
    return root


def test_outputs_and_results_keep_input_order_and_memory_stays_bounded(tmp_path):
    inputs = collect_inputs(make_folder(tmp_path / "in", 9))
    live, most, lock = set(), [0], threading.Lock()

    class Tracked(np.ndarray):  # counts the restored images not yet written
        def __del__(self):
            with lock:
                live.discard(id(self))

    def invert(rel, image):
        out = (1.0 - image.pixels).view(Tracked)
        with lock:
            live.add(id(out))
            most[0] = max(most[0], len(live))
        return image.with_pixels(out), {"rel": rel}

    results = process_files(inputs, tmp_path / "out", invert, show_progress=False)
    assert [r.rel for r in results] == inputs.files and [r.info["rel"] for r in results] == inputs.files
    assert all(r.status == "written" for r in results)
    for rel in inputs.files:
        source, written = read_image(inputs.source(rel)).pixels, read_image(tmp_path / "out" / rel).pixels
        np.testing.assert_allclose(written, 1.0 - source, atol=1 / 255)
    assert most[0] <= WRITE_BEHIND + 2 and READ_AHEAD >= 1


def test_a_file_that_cannot_be_written_fails_alone(tmp_path):
    inputs = collect_inputs(make_folder(tmp_path / "in", 4))
    (tmp_path / "out" / "01.png").mkdir(parents=True)  # a folder where the image should go
    results = process_files(inputs, tmp_path / "out", lambda rel, image: (image, {}), overwrite=True,
                            show_progress=False)
    assert [r.status for r in results] == ["written", "failed", "written", "written"]
    assert "01.png" in results[1].error
    assert (tmp_path / "out" / "03.png").is_file() and (tmp_path / "out" / "01.png").is_dir()
