"""A self-contained HTML report: figures, and reference / input / output crops side by side.

Images are embedded as base64 PNG data URIs; the page loads nothing else. A small
inline script sets ``data-images-loaded`` on ``<html>`` to the number of images
once every one has decoded (``complete`` and ``naturalWidth > 0``), or to
``error`` if one failed, so a headless browser can check the page.
"""

from __future__ import annotations

import base64
from html import escape
from typing import Any

import cv2
import numpy as np

from ..images import to_integers
from . import Report

#: Side of the centre crop shown per image, at 1:1 scale so the noise is visible.
CROP_SIDE = 256
ROLES = ("reference", "input", "output")
#: The page may load nothing: images only from data URIs, its own inline style and script.
POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; margin-bottom: 2rem; }
th, td { padding: .25rem .75rem; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.images { display: flex; gap: 1rem; flex-wrap: wrap; }
figure { margin: 0; }
img { image-rendering: pixelated; display: block; max-width: 100%; }
figcaption { font-size: .85rem; margin-top: .25rem; }
.note { color: #555; }
"""

SCRIPT = """
(function () {
  function check() {
    var imgs = Array.prototype.slice.call(document.images);
    if (imgs.some(function (i) { return i.complete && i.naturalWidth === 0; })) {
      document.documentElement.dataset.imagesLoaded = "error"; return;
    }
    if (imgs.every(function (i) { return i.complete && i.naturalWidth > 0; })) {
      document.documentElement.dataset.imagesLoaded = String(imgs.length); return;
    }
    setTimeout(check, 20);
  }
  window.addEventListener("load", check);
})();
"""


def crop_png(pixels: np.ndarray, side: int = CROP_SIDE) -> bytes:
    """PNG bytes (8-bit) of the centre ``side`` x ``side`` crop of a float image in [0, 1]."""
    height, width = pixels.shape[:2]
    top, left = max(0, (height - side) // 2), max(0, (width - side) // 2)
    crop = to_integers(pixels[top:top + side, left:left + side], np.uint8)
    crop = cv2.cvtColor(crop, cv2.COLOR_RGB2BGR) if crop.shape[-1] == 3 else crop[..., 0]
    ok, buffer = cv2.imencode(".png", crop)
    if not ok:
        raise OSError("OpenCV could not encode a PNG crop")
    return buffer.tobytes()


def _fmt(value: Any, digits: int) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and value == float("inf"):
        return "∞"
    return f"{value:.{digits}f}"


def _caption(role: str, figures: dict[str, Any] | None) -> str:
    parts = [role]
    if figures:
        if "psnr" in figures:
            parts.append(f"PSNR {_fmt(figures['psnr'], 2)} dB")
            parts.append(f"SSIM {_fmt(figures['ssim'], 4)}")
        parts.append(f"σ≈{_fmt(figures.get('sigma'), 1)}")
    return " · ".join(parts)


def _figure(role: str, png: bytes, figures: dict[str, Any] | None) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (f'<figure><img alt="{role}" src="data:image/png;base64,{data}">'
            f"<figcaption>{escape(_caption(role, figures))}</figcaption></figure>")


def _summary_table(report: Report) -> str:
    summary = report.summary()
    scored = summary["scored"] > 0
    keys = [("psnr", "PSNR", 2), ("ssim", "SSIM", 4)] if scored else [("sigma", "σ", 1)]
    head = "".join(f"<th>{label} in</th><th>{label} out</th>" for _, label, _ in keys)
    lines = []
    for row in [*report.rows, {"file": "mean", **summary}]:
        cells = "".join(f"<td>{_fmt(row['input'].get(k), d)}</td><td>{_fmt(row['output'].get(k), d)}</td>"
                        for k, _, d in keys)
        status = " (kept)" if row.get("status") == "kept" else ""
        lines.append(f"<tr><td>{escape(row['file'] + status)}</td>{cells}"
                     f"<td>{_fmt(row.get('seconds_per_megapixel'), 2)}</td></tr>")
    return f"<table><tr><th>file</th>{head}<th>s/MP</th></tr>{''.join(lines)}</table>"


def to_html(report: Report) -> str:
    """The whole page as text."""
    used = f"; model: {escape(', '.join(report.models))}" if report.models else ""  # none for classical filters
    params = ", ".join(f"{k}={v}" for k, v in report.params.items())
    sections = []
    for row in report.rows:
        crops = report.crops.get(row["file"], {})
        figures = "".join(_figure(role, crops[role], row[role] if role != "reference" else None)
                          for role in ROLES if role in crops)
        error = f'<p class="note">{escape(row["error"])}</p>' if row.get("error") else ""
        pages = row.get("pages")
        if pages and pages > 1:  # a stack: figures are means over its pages, the crops its middle page's
            error += (f'<p class="note">{pages} pages: figures are means over them (each page\'s in the JSON '
                      f'report); the crops are of page {pages // 2 + 1}</p>')
        sections.append(f'<section><h2>{escape(row["file"])}</h2>{error}<div class="images">{figures}</div></section>')
    notes = "".join(f'<p class="note">note: {escape(n)}</p>' for n in report.notes)
    failed = "".join(f'<p class="note">error: {escape(f["error"])}</p>' for f in report.failed)
    against = f" (reference: {escape(str(report.reference))})" if report.reference else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{POLICY}">
<title>denoisekit clean report</title><style>{STYLE}</style></head>
<body><h1>denoisekit clean</h1>
<p>{escape(str(report.source))} → {escape(str(report.out))}{against}<br>
restorer <b>{escape(report.restorer)}</b> ({escape(params)}){used}</p>
{notes}{failed}
{_summary_table(report)}
{''.join(sections)}
<script>{SCRIPT}</script>
</body></html>
"""
