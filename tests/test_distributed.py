"""``clean`` on Dask: a LocalCluster of 2 worker processes writes what one process writes,
reports failing files without stopping, resumes, and a killed worker leaves no partial file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import cloudpickle
import numpy as np
import pytest
import tifffile
from clean_fixtures import add_noise, clean_models, smooth_images, write_unit  # noqa: F401

from denoisekit.builtins.restorers import median
from denoisekit.cli import main
from denoisekit.distributed import clean_on_dask

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import this test module

pytestmark = pytest.mark.slow  # a cluster of worker processes takes seconds to start


@pytest.fixture(scope="module")
def scheduler():
    """The address of a LocalCluster of 2 worker processes, shared by this module's tests."""
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=40) as cluster:
        yield cluster.scheduler_address


def make_inputs(folder: Path) -> list[str]:
    """Gray and RGB PNGs (one 16-bit, one in a subfolder) and a 3-page 16-bit TIFF stack."""
    files = []
    for i, (rel, channels, dtype) in enumerate([("a.png", 1, np.uint8), ("b.png", 3, np.uint8),
                                                ("sub/c.png", 1, np.uint16), ("d.png", 3, np.uint8)]):
        write_unit(folder / rel, add_noise(smooth_images(1, 40 + 4 * i, 52, channels, seed=i)[0], seed=i), dtype)
        files.append(rel)
    stack = (add_noise(smooth_images(3, 36, 44, 1, seed=9), seed=9)[..., 0] * 65535).astype(np.uint16)
    tifffile.imwrite(folder / "stack.tif", stack, photometric="minisblack")  # 3 pages
    return files + ["stack.tif"]


def clean_cli(runner, *args: str):
    return runner.invoke(main, ["clean", *map(str, args)])


def outputs(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def rows_without_times(report: Path) -> list[dict]:
    rows = json.loads(report.read_text())["files"]
    return [{k: v for k, v in r.items() if not k.startswith("seconds")} for r in rows]


def test_two_workers_write_and_report_what_one_process_does(runner, tmp_path, scheduler):
    files = make_inputs(tmp_path / "in")
    one = clean_cli(runner, tmp_path / "in", tmp_path / "one", "--restorer", "median", "--report", tmp_path / "one.json")
    two = clean_cli(runner, tmp_path / "in", tmp_path / "two", "--restorer", "median", "--report", tmp_path / "two.json",
                    "--scheduler", scheduler)
    assert one.exit_code == 0 and two.exit_code == 0, two.stderr
    assert sorted(outputs(tmp_path / "two")) == sorted(files)
    assert outputs(tmp_path / "two") == outputs(tmp_path / "one")  # byte for byte
    assert rows_without_times(tmp_path / "two.json") == rows_without_times(tmp_path / "one.json")  # one merged report
    assert [line.split()[:3] for line in two.stdout.splitlines()] == [line.split()[:3] for line in one.stdout.splitlines()]
    assert "5 written, 0 kept, 0 failed" in two.stderr


def test_a_failing_file_is_reported_and_the_others_are_written(runner, tmp_path, scheduler):
    make_inputs(tmp_path / "in")
    for i in range(8):  # more files than are sent to the workers at first
        write_unit(tmp_path / "in" / "more" / f"{i}.png", np.full((8, 8, 1), i / 8))
    (tmp_path / "in" / "broken.png").write_bytes(b"not a png at all")
    result = clean_cli(runner, tmp_path / "in", tmp_path / "out", "--restorer", "median", "--scheduler", scheduler)
    assert result.exit_code == 1
    assert "error: " in result.stderr and "broken.png" in result.stderr
    assert "13 written, 0 kept, 1 failed" in result.stderr
    assert len(list((tmp_path / "out" / "more").iterdir())) == 8
    assert not (tmp_path / "out" / "broken.png").exists()
    assert (tmp_path / "out" / "stack.tif").is_file()


def test_a_second_run_resumes_keeping_finished_outputs(runner, tmp_path, scheduler):
    make_inputs(tmp_path / "in")
    first = clean_on_dask(tmp_path / "in", tmp_path / "out", scheduler=scheduler, restorer="median")
    assert [r.status for r in first.results] == ["written"] * 5
    (tmp_path / "out" / "b.png").unlink()
    kept = tmp_path / "out" / "a.png"
    os.utime(kept, (1_000_000, 1_000_000))
    second = clean_on_dask(tmp_path / "in", tmp_path / "out", scheduler=scheduler, restorer="median")
    assert {r.rel.as_posix(): r.status for r in second.results} == {
        "a.png": "exists", "b.png": "written", "d.png": "exists", "stack.tif": "exists", "sub/c.png": "exists"}
    assert kept.stat().st_mtime == 1_000_000  # not rewritten
    assert (tmp_path / "out" / "b.png").is_file()


class DieOnce:
    """A median restorer whose process is killed (SIGKILL) on the second page of the stack,
    the first time only: the worker dies with a half-written stack."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker
        self.calls = 0

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        self.calls += 1
        if pixels.shape[:2] == (36, 44) and self.calls > 1 and not self.marker.exists():
            self.marker.write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
        return median(pixels, 3)


def test_a_worker_killed_mid_file_leaves_no_partial_file(runner, tmp_path, scheduler):
    make_inputs(tmp_path / "in")
    serial = clean_cli(runner, tmp_path / "in", tmp_path / "serial", "--restorer", "median")
    assert serial.exit_code == 0
    run = clean_on_dask(tmp_path / "in", tmp_path / "out", scheduler=scheduler, restorer=DieOnce(tmp_path / "died"))
    assert (tmp_path / "died").is_file()  # a worker was killed while writing the stack
    assert [r.status for r in run.results] == ["written"] * 5  # its file was done again elsewhere
    assert outputs(tmp_path / "out") == outputs(tmp_path / "serial")  # complete, and no hidden .part left
    assert not list((tmp_path / "out").rglob("*.part"))


def test_workers_with_a_model_write_what_one_process_with_their_threads_writes(runner, tmp_path, clean_models):
    """--workers 2 starts its own cluster; TensorFlow's convolutions round by thread count, so the
    single-process run is given each worker's share of threads."""
    make_inputs(tmp_path / "in")
    share = max(1, (os.cpu_count() or 1) // 2)
    env = {**os.environ, "TF_NUM_INTRAOP_THREADS": str(share), "TF_NUM_INTEROP_THREADS": str(min(share, 2))}
    serial = subprocess.run([sys.executable, "-m", "denoisekit", "clean", tmp_path / "in", tmp_path / "one",
                             "--model", clean_models.gray], env=env, capture_output=True, text=True)
    assert serial.returncode == 0, serial.stderr
    two = clean_cli(runner, tmp_path / "in", tmp_path / "two", "--model", clean_models.gray, "--workers", 2)
    assert two.exit_code == 0, two.stderr
    assert outputs(tmp_path / "two") == outputs(tmp_path / "one")
    assert "note: gray model gray.keras on RGB images: each channel restored on its own" in two.stderr
