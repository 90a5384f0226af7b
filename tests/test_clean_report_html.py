"""The HTML report, opened in headless Chromium: every embedded crop must decode and render."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from clean_fixtures import clean_models, noisy_set  # noqa: F401

from denoisekit.cli import main

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and Path("/usr/bin/chromium").exists():
        found = "/usr/bin/chromium"
    if found is None:
        pytest.fail("headless Chromium is needed to check the HTML report: install it with "
                    "`apt-get install -y chromium` (.ci/run does this)")
    return found


def rendered_dom(page: Path, profile: Path) -> str:
    """The page's DOM after its scripts ran (virtual time lets the image checks finish)."""
    done = subprocess.run(
        [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=10000",
         "--dump-dom", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.slow
def test_html_report_is_self_contained_and_its_images_render(runner, noisy_set, tmp_path, clean_models):
    report = tmp_path / "report.html"
    result = runner.invoke(main, ["clean", str(noisy_set.noisy), str(tmp_path / "out"), "--reference",
                                  str(noisy_set.clean), "--model", str(clean_models.gray), "--report", str(report)])
    assert result.exit_code == 0, result.output
    page = report.read_text()
    sources = re.findall(r'<img[^>]*\ssrc="([^"]*)"', page)
    assert len(sources) == 3 * len(noisy_set.files)  # reference, input, output per image
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    assert not re.search(r'(?:src|href)="(?!data:)', page) and "url(" not in page  # nothing external
    for rel in noisy_set.files:
        assert f"<h2>{rel}</h2>" in page
    assert "PSNR" in page and "SSIM" in page
    assert f"model: {clean_models.gray.name}" in page  # the model used (a classical filter names none)

    dom = rendered_dom(report, tmp_path / "profile")
    assert f'data-images-loaded="{len(sources)}"' in dom

    # The check is real: a corrupt image makes the page report an error instead.
    broken = tmp_path / "broken.html"
    broken.write_text(page.replace(sources[1], "data:image/png;base64,iVBORw0KGgoAAAAbroken", 1))
    assert 'data-images-loaded="error"' in rendered_dom(broken, tmp_path / "profile2")


def test_a_stacks_section_says_its_figures_are_page_means_and_which_page_is_shown(tmp_path):
    from denoisekit.reports import Report
    from denoisekit.reports.html import to_html

    report = Report("median", {}, tmp_path / "in", tmp_path / "out")
    report.rows.append({"file": "s.tif", "status": "written", "pages": 5, "width": 8, "height": 8,
                        "input": {"psnr": 21.5}, "output": {"psnr": 26.0}})
    report.rows.append({"file": "a.png", "status": "written", "width": 8, "height": 8,
                        "input": {"psnr": 20.0}, "output": {"psnr": 25.0}})
    page = to_html(report)
    assert "5 pages: figures are means over them" in page and "the crops are of page 3" in page
    assert page.count("pages: figures are means") == 1  # not for the single image
