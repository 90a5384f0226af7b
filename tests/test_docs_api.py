"""docs/api.md stays true: it shows every public name, and its Python examples run, in order."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import denoisekit

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "api.md"
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def test_every_public_name_has_a_section_with_an_example():
    text = GUIDE.read_text()
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    for name in denoisekit.__all__:
        if name == "__version__":
            assert "denoisekit.__version__" in text
            continue
        heading = next((h for h in headings if f"denoisekit.{name}`" in h or f"`{name}`" in h), None)
        assert heading is not None, f"docs/api.md has no section for denoisekit.{name}"
        section = text[text.index(heading):].split("\n## ", 1)[0]
        assert "```python" in section and f"{name}" in PYTHON_BLOCK.findall(section)[0] + section, name


@pytest.mark.slow
def test_the_python_examples_run_in_order(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    blocks = PYTHON_BLOCK.findall(GUIDE.read_text())
    assert len(blocks) >= 10
    namespace: dict = {"__name__": "docs_api"}
    for number, code in enumerate(blocks, 1):
        exec(compile(code, f"{GUIDE}: python block {number}", "exec"), namespace)
    printed = capsys.readouterr().out
    assert "float pixels must lie in [0, 1]" in printed  # the example of a refused array
    assert (tmp_path / "gaussian-gray.onnx").is_file() and (tmp_path / "tiny.keras").is_file()


@pytest.mark.slow
def test_the_readme_python_example_runs_and_denoises():
    readme = GUIDE.parents[1] / "README.md"
    (code,) = PYTHON_BLOCK.findall(readme.read_text())
    assert len(code.strip().splitlines()) == 3
    namespace: dict = {}
    exec(compile(code, str(readme), "exec"), namespace)
    from skimage import data

    camera = data.camera()
    assert namespace["restored"].shape == camera.shape and namespace["restored"].dtype == camera.dtype
    assert denoisekit.psnr(camera, namespace["restored"]) > 28
