"""``train --strategy multi-worker`` on a real two-worker cluster (two processes on loopback)."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from cluster_fixtures import run_in_process, run_workers
from denoisekit.modelio import load_denoiser

TINY = ["--arch", "unet", "-a", "features=8", "-a", "levels=2", "--epochs", "2", "--steps-per-epoch", "4",
        "--batch", "4", "--patch", "32", "--seed", "3", "--time-limit", "600"]


def train_command(data_dir: Path, val_dir: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "denoisekit", "train", "--noise", "gaussian", "--data", str(data_dir),
            "--val-data", str(val_dir), *TINY, "--out", str(out), *extra]


def log_rows(model: Path) -> list[dict]:
    with open(model.with_name(model.stem + ".ckpt") / "log.csv") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
def test_two_workers_finish_and_the_chief_writes_what_one_worker_would(tmp_path):
    data_dir, val_dir = tmp_path / "train", tmp_path / "val"
    data_dir.mkdir(), val_dir.mkdir()
    camera = data.camera()
    for i in range(3):
        cv2.imwrite(str(data_dir / f"c{i}.png"), camera[i * 120:i * 120 + 96, 100:196])
    cv2.imwrite(str(val_dir / "v.png"), camera[400:464, 300:364])

    # The same global batch of 4 on one process, then split 2 + 2 over two worker processes.
    single = tmp_path / "single" / "m.keras"
    run_in_process(train_command(data_dir, val_dir, single))

    shared = tmp_path / "cluster" / "m.keras"  # both workers are given the same path, as on a shared disk
    run_workers(train_command(data_dir, val_dir, shared, "--strategy", "multi-worker"))

    # The chief (worker 0) wrote the model and its checkpoints; the other worker wrote nothing there.
    assert sorted(p.name for p in shared.parent.iterdir()) == ["m.ckpt", "m.keras"]
    assert sorted(p.name for p in (shared.parent / "m.ckpt").iterdir()) == [
        "best.keras", "last.keras", "log.csv", "state.json"]
    one, two = log_rows(single), log_rows(shared)
    assert len(one) == len(two) == 2  # the time budget stopped both workers at the same epoch
    # Same batches, gradients summed over the workers: the first epoch's loss is the same.
    assert float(two[0]["loss"]) == pytest.approx(float(one[0]["loss"]), rel=1e-4)
    assert float(two[-1]["val_psnr"]) == pytest.approx(float(one[-1]["val_psnr"]), abs=0.05)
    a, b = load_denoiser(single).model, load_denoiser(shared).model
    assert max(float(np.abs(x - y).max()) for x, y in zip(a.get_weights(), b.get_weights())) < 0.02
    assert load_denoiser(shared).metadata["steps_per_epoch"] == 4
