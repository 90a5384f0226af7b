"""Walking input folders, mirroring them into output folders, matching references."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .images import is_image_file


@dataclass
class InputSet:
    """Image files found under an input (relative paths kept), and what was skipped."""

    root: Path
    files: list[Path] = field(default_factory=list)  # relative to root (or the file name)
    skipped: list[Path] = field(default_factory=list)  # non-image files

    @property
    def is_single_file(self) -> bool:
        return self.root.is_file()

    def source(self, rel: Path) -> Path:
        return self.root if self.is_single_file else self.root / rel


def collect_inputs(root: Path, recursive: bool = True) -> InputSet:
    """Image files of a folder (sorted, relative paths), or the one file given."""
    root = Path(root)
    found = InputSet(root)
    if root.is_file():
        found.files.append(Path(root.name))
        return found
    candidates = root.rglob("*") if recursive else root.iterdir()
    for path in sorted(p for p in candidates if p.is_file()):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue  # hidden files and our own .part temporaries
        (found.files if is_image_file(path) else found.skipped).append(rel)
    return found


def output_path(inputs: InputSet, rel: Path, out: Path) -> Path:
    """Where the result for ``rel`` goes: ``out`` mirrors the input tree.

    A single input file goes to ``out`` itself when ``out`` has an image suffix,
    else into the folder ``out`` under the same name.
    """
    if inputs.is_single_file and is_image_file(out):
        return out
    return out / rel


def refuse_outputs_in_input(inputs: InputSet, out: Path) -> None:
    """A ValueError when an output would land in the input: replace an input file (a file whose
    folder is OUT, an input folder inside OUT mirrored onto itself) or be written into the input
    folder (read as an input next time)."""
    root = Path(inputs.root)
    if not inputs.is_single_file and is_inside(out, root):
        raise ValueError(f"{out} lies inside the input folder {root}; choose another output")
    if inputs.is_single_file or is_inside(root, out):  # otherwise no output can reach the input
        for rel in inputs.files:
            target = output_path(inputs, rel, out)
            if is_inside(target, root):
                what = "replace an input file" if target.exists() else f"be written inside the input folder {root}"
                raise ValueError(f"the output for {rel} ({target}) would {what}; choose another output")


def is_inside(path: Path, folder: Path) -> bool:
    """True when ``path`` is ``folder`` or lies under it (after resolving links)."""
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


def match_references(ref: InputSet, test: InputSet) -> dict[Path, Path | None]:
    """For each test file, the reference with the same relative path, else the one with the same
    relative folder and stem (any image suffix, so ``a.png`` matches ``a.jpg``), or None. A single
    reference file goes with a single test file whatever their names; in a folder, only with the
    file of its name. Two references of one stem and neither of the test's suffix (``a.png`` and
    ``a.tif`` for ``a.jpg``) are ambiguous: ``AmbiguousReference``."""
    if ref.is_single_file and test.is_single_file:
        return {t: ref.files[0] for t in test.files}
    exact = set(ref.files)
    by_key: dict[tuple[Path, str], list[Path]] = {}
    for r in ref.files:
        by_key.setdefault((r.parent, r.stem), []).append(r)
    pairs: dict[Path, Path | None] = {}
    for t in test.files:
        found = by_key.get((t.parent, t.stem), [])
        if t in exact or len(found) <= 1:
            pairs[t] = t if t in exact else (found[0] if found else None)
        else:
            names = ", ".join(r.name for r in found)
            raise AmbiguousReference(f"{t}: the references {names} share its stem and none has its name; "
                                     f"rename one of them")
    return pairs


class AmbiguousReference(ValueError):
    """A test image whose reference could be one of several files."""
