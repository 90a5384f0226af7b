"""Report outputs: JSON, CSV, the terminal table, and the choice by file suffix."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any, TextIO

from ..commands.common import echo_table
from ..images import write_bytes_atomic
from . import FIGURES, Report

REPORT_SUFFIXES = (".json", ".csv", ".html", ".htm")


def _finite(value: Any) -> Any:
    """JSON has no infinity: identical images (infinite PSNR) are written as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)


def to_json_text(report: Report) -> str:
    return json.dumps(_finite(report.to_json()), indent=2, default=_plain, allow_nan=False) + "\n"


CSV_COLUMNS = ["file", "status", "model", "width", "height",
               *[f"{side}_{k}" for k in FIGURES for side in ("input", "output")],
               "seconds_per_megapixel", "error"]


def _csv_row(row: dict[str, Any]) -> dict[str, Any]:
    flat = {k: row.get(k) for k in CSV_COLUMNS}
    for side in ("input", "output"):
        for k in FIGURES:
            flat[f"{side}_{k}"] = row.get(side, {}).get(k)
    return flat


def to_csv_text(report: Report) -> str:
    """One line per image (one that failed with status ``failed`` and its error), then a ``mean`` line."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in report.rows:
        writer.writerow(_csv_row(row))
    for failure in report.failed:
        writer.writerow(_csv_row({"file": failure["file"], "status": "failed", "error": failure["error"]}))
    summary = report.summary()
    writer.writerow(_csv_row({"file": "mean", **summary}))
    return buffer.getvalue()


#: What the first bytes of each report format this module writes hold (a rerun may replace it).
_REPORT_HEADS = {".json": '{\n  "restorer":', ".csv": ",".join(CSV_COLUMNS) + "\n",
                 ".html": "<title>denoisekit clean report</title>", ".htm": "<title>denoisekit clean report</title>"}


def is_own_report(path: Path) -> bool:
    """Whether ``path`` holds a report ``write_report`` wrote (which a later run may replace,
    as a resumed run updates its report) rather than some other file of the same name."""
    head = _REPORT_HEADS.get(path.suffix.lower())
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            text = file.read(4096)
    except OSError:
        return False
    return head is not None and head in text


def write_report(report: Report, path: Path) -> None:
    """Write the report as JSON, CSV or a self-contained HTML page, by the suffix of ``path``."""
    suffix = path.suffix.lower()
    if suffix == ".json":
        text = to_json_text(report)
    elif suffix == ".csv":
        text = to_csv_text(report)
    elif suffix in (".html", ".htm"):
        from .html import to_html

        text = to_html(report)
    else:
        raise ValueError(f"{path}: report format must be one of {', '.join(REPORT_SUFFIXES)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(text.encode("utf-8"), path)


def echo_summary(report: Report, file: TextIO) -> None:
    """The per-image figures and their means as a plain table."""
    scored = any("psnr" in r["output"] for r in report.rows)
    keys = ("psnr", "ssim") if scored else ("sigma",)
    names = {"psnr": "PSNR", "ssim": "SSIM", "sigma": "sigma"}
    headers = ["file", *[f"{names[k]} {side}" for k in keys for side in ("in", "out")], "s/MP", "model"]

    def line(label: str, row: dict[str, Any]) -> list[Any]:
        values = [row["input"].get(k) if side == "in" else row["output"].get(k) for k in keys for side in ("in", "out")]
        return [label, *values, row.get("seconds_per_megapixel"), row.get("model") or ""]

    rows = [line(r["file"] + (" (kept)" if r["status"] == "kept" else ""), r) for r in report.rows]
    rows.append(line("mean", {**report.summary(), "model": ""}))
    echo_table(headers, rows, file=file)
