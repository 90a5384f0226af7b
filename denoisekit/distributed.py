"""``clean``'s per-file work on a Dask cluster: a local one of N worker processes, or an existing one.

Each file is one task. A worker builds its restorer and ``Cleaner`` once per run (the models
are loaded once per worker, not once per file), gives TensorFlow and OpenCV its share of the
machine's threads, and runs the very code a single-process run does (``batch.process_one``):
the same outputs, atomic writes, and one failing file reported without stopping the others.
The client keeps the bookkeeping: finished outputs are kept (resume) before anything is sent,
progress goes to stderr as files finish, and the results come back in input order for one
merged report. A worker killed mid-file leaves no output (writes are atomic) and its task runs
again elsewhere; the hidden temporary it was writing is removed at the end of the run.

    >>> from denoisekit import clean_on_dask
    >>> run = clean_on_dask("noisy/", "out/", workers=2)              # a local cluster
    >>> run = clean_on_dask("noisy/", "out/", scheduler="tcp://head:8786", model="gaussian")
"""

from __future__ import annotations

import os
import sys
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from .normalization import NormalizeSpec, parse_normalize

if TYPE_CHECKING:  # batch and files import OpenCV: not on ``import denoisekit``
    from .batch import FileResult
    from .files import InputSet

#: What to install for ``--workers`` / ``--scheduler``; said in one line when Dask is missing.
INSTALL_HINT = "pip install 'denoisekit[dask]'"
#: Tasks in flight per worker thread: enough to keep workers busy, few enough that a run of
#: millions of files never puts millions of tasks on the scheduler at once.
IN_FLIGHT_PER_THREAD = 4

RestoreFn = Callable[[Any], Any]


class DaskMissing(ImportError):
    """Dask (``denoisekit[dask]``) is not installed; the message says what to install."""


def require_dask(what: str = "running on Dask") -> None:
    """Raise ``DaskMissing`` with the one line to install it, unless ``dask.distributed`` imports."""
    try:
        import dask.distributed  # noqa: F401
    except ImportError:
        raise DaskMissing(f"{what} needs Dask: {INSTALL_HINT}") from None


@dataclass(frozen=True)
class CleanSpec:
    """Everything a worker needs to clean any file of the run (sent to each worker once)."""

    restorer: str | RestoreFn  # a restorer plugin's name, or a picklable function of one image
    params: dict[str, Any]  # the plugin's resolved parameters (``make(**params)``)
    inputs: InputSet
    out: Path
    refs: InputSet | None
    crops: bool
    normalize: NormalizeSpec
    threads: int | None  # TensorFlow/OpenCV threads per worker; None: the worker's own thread count
    chunk: int | None = None  # single-page TIFFs restored in chunks of this side (``large.py``)
    token: str = field(default_factory=lambda: uuid.uuid4().hex)  # one Cleaner per worker per run


@dataclass
class DaskRun:
    """What a run on Dask did: one result per input file (input order) and the notes for the user."""

    results: list[FileResult]
    notes: list[str]
    workers: int  # worker processes that took part

    @property
    def failed(self) -> list[FileResult]:
        return [r for r in self.results if r.status == "failed"]


# ----------------------------------------------------------------------------- worker side

_build_lock = threading.Lock()  # one build of a run's Cleaner per worker process
_run_lock = threading.Lock()  # one file at a time per process: the restorer gets all its threads
_restorers: dict[str, Any] = {}  # the last restorer built, by its name and parameters: reused across runs
_cleaners: dict[str, Any] = {}  # the current run's Cleaner, by run token


def limit_threads(threads: int) -> None:
    """Give TensorFlow, OpenCV and OpenMP ``threads`` threads in this process: the environment
    before TensorFlow starts (it reads TF_NUM_*_THREADS then), its config if imported but idle."""
    for name in ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS"):
        os.environ[name] = str(threads)
    os.environ["TF_NUM_INTEROP_THREADS"] = str(min(threads, 2))
    import cv2

    cv2.setNumThreads(threads)
    tf = sys.modules.get("tensorflow")
    if tf is not None:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(min(threads, 2))
        except RuntimeError:  # already running: it keeps the threads it started with
            pass


def _worker_threads() -> int:
    from dask.distributed import get_worker

    try:
        return max(1, int(get_worker().state.nthreads))
    except (ValueError, AttributeError):  # not on a worker (a synchronous test run)
        return max(1, os.cpu_count() or 1)


def _restorer(spec: CleanSpec) -> Any:
    if not isinstance(spec.restorer, str):
        return spec.restorer
    key = f"{spec.restorer}:{sorted(spec.params.items())!r}"
    if key not in _restorers:
        from .plugins import get_registry

        _restorers.clear()  # one set of models per worker, not one per run ever made
        _restorers[key] = get_registry().get("restorer", spec.restorer).obj.make(**spec.params)
    return _restorers[key]


def _cleaner(spec: CleanSpec) -> Any:
    with _build_lock:
        if spec.token not in _cleaners:
            from .cleaning import Cleaner

            limit_threads(spec.threads or _worker_threads())
            cleaner = Cleaner(_restorer(spec), spec.inputs, spec.refs, spec.crops, normalize=spec.normalize,
                              chunk=spec.chunk)
            _cleaners.clear()
            _cleaners[spec.token] = cleaner
        return _cleaners[spec.token]


def clean_one(spec: CleanSpec, rel: Path) -> tuple[FileResult, tuple[list[str], list[str]]]:
    """On a worker: one file as a single-process run does it, and the notes it added (the
    restorer's, the Cleaner's)."""
    from .batch import process_one

    cleaner = _cleaner(spec)
    with _run_lock:
        restorer_notes = getattr(cleaner.restore, "notes", [])
        before = (len(restorer_notes), len(cleaner.notes))
        # Overwrite: the client chose this file to do (resume is its decision), and a task run again
        # after its worker died may find the output its first run wrote, not yet reported.
        result = process_one(spec.inputs, rel, spec.out, cleaner, True, cleaner.stack, cleaner.whole)
        notes = (restorer_notes[before[0]:], cleaner.notes[before[1]:])
    return result, notes


# ----------------------------------------------------------------------------- client side

@contextmanager
def dask_client(workers: int | None = None, scheduler: str | None = None) -> Iterator[Any]:
    """A Dask client: on a new local cluster of ``workers`` processes (closed afterwards), or on
    the existing cluster whose scheduler is at ``scheduler``."""
    require_dask("--workers/--scheduler" if workers or scheduler else "running on Dask")
    import logging

    from dask.distributed import Client, LocalCluster

    if (workers is None) == (scheduler is None):
        raise ValueError("give the number of local workers or a scheduler's address: one of the two")
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError) as err:  # ValueError: not an address
            raise ConnectionError(f"no Dask scheduler answers at {scheduler} ({type(err).__name__}: {err})") from None
        with client:
            yield client
        return
    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    # Processes, not threads: each has its own TensorFlow runtime and GIL; one task slot each,
    # its restorer getting the worker's share of the cores.
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        yield client


def clean_on_dask(source: str | os.PathLike, out: str | os.PathLike, *, workers: int | None = None,
                  scheduler: str | None = None, restorer: str | RestoreFn = "model",
                  reference: str | os.PathLike | None = None, recursive: bool = True, overwrite: bool = False,
                  normalize: str | NormalizeSpec = "auto", crops: bool = False, chunk: int | None = None,
                  show_progress: bool = False, **params: Any) -> DaskRun:
    """Restore the images under ``source`` into ``out`` (mirrored) as ``denoisekit clean`` does,
    on a local Dask cluster of ``workers`` processes or on the cluster at ``scheduler``.

    ``restorer``: a restorer plugin's name with its ``params`` (``model="gaussian"``, ``tile=256``:
    validated as ``-p`` values are), or a picklable function of one float32 ``(H, W, C)`` image.
    Existing outputs are kept unless ``overwrite`` (resume); each failing file is a ``failed``
    result, the others go on. Returns every file's result in input order and the notes.
    """
    from .files import collect_inputs
    from .params import format_value, resolve_params
    from .plugins import get_registry

    values: dict[str, Any] = {}
    if isinstance(restorer, str):
        found = get_registry().get("restorer", restorer)
        values = resolve_params(found.params, {k: format_value(v) for k, v in params.items()},
                                f"restorer {restorer!r}")
        found.obj.make(**values)  # a bad model or value fails here, in one line, before any cluster starts
    elif params:
        raise ValueError("params go with a restorer's name, not with a restorer function")
    inputs = collect_inputs(Path(source), recursive)
    refs = collect_inputs(Path(reference), recursive) if reference is not None else None
    spec = parse_normalize(normalize) if isinstance(normalize, str) else normalize
    return run_clean(inputs, Path(out), restorer, values, refs=refs, crops=crops, normalize=spec,
                     overwrite=overwrite, workers=workers, scheduler=scheduler, chunk=chunk,
                     show_progress=show_progress)


def run_clean(inputs: InputSet, out: Path, restorer: str | RestoreFn, params: dict[str, Any], *,
              refs: InputSet | None = None, crops: bool = False, normalize: NormalizeSpec = NormalizeSpec(),
              overwrite: bool = False, workers: int | None = None, scheduler: str | None = None,
              chunk: int | None = None, label: str = "clean", show_progress: bool = True) -> DaskRun:
    """``clean_on_dask`` on inputs already collected and a restorer already checked (what the CLI calls)."""
    import click

    from .batch import FileResult
    from .files import output_path

    threads = max(1, (os.cpu_count() or 1) // workers) if workers else None
    spec = CleanSpec(restorer, params, inputs, out, refs, crops, normalize, threads, chunk)
    results: dict[Path, FileResult] = {}
    todo: list[Path] = []
    for rel in inputs.files:  # resume: finished outputs are kept without asking a worker
        target = output_path(inputs, rel, out)
        if target.exists() and not overwrite:
            results[rel] = FileResult(rel, target, "exists")
        else:
            todo.append(rel)
    notes: dict[Path, tuple[list[str], list[str]]] = {}
    with dask_client(workers, scheduler) as client, click.progressbar(
            length=len(inputs.files), label=label, file=sys.stderr, show_pos=True,
            item_show_func=lambda rel: str(rel) if rel else None, hidden=not show_progress) as bar:
        bar.update(len(results))
        count = len(client.nthreads()) if todo else 0
        if todo:
            _submit_all(client, spec, todo, results, notes, bar)
    for rel in todo:  # a worker killed mid-write leaves its hidden temporary behind
        _remove_temporaries(results[rel].target)
    ordered = [results[rel] for rel in inputs.files]
    merged: tuple[list[str], list[str]] = ([], [])
    for rel in inputs.files:  # in input order, as a single-process run finds them
        for kept, added in zip(merged, notes.get(rel, ([], []))):
            kept += [n for n in added if n not in kept]
    return DaskRun(ordered, merged[0] + merged[1], count)


def _submit_all(client: Any, spec: CleanSpec, todo: list[Path], results: dict[Path, FileResult],
                notes: dict[Path, tuple[list[str], list[str]]], bar: Any) -> None:
    """Every file of ``todo`` through ``clean_one``, a bounded number in flight."""
    from dask.distributed import as_completed

    from .batch import FileResult
    from .files import output_path

    [shared] = client.scatter([spec], broadcast=True)  # the file list goes to each worker once, not per task
    threads = sum(client.nthreads().values()) or 1
    window = max(8, IN_FLIGHT_PER_THREAD * threads)
    pending = iter(todo)
    by_future: dict[Any, Path] = {}

    def submit(rel: Path) -> Any:
        future = client.submit(clean_one, shared, rel, pure=False, key=f"denoisekit-clean-{uuid.uuid4().hex}")
        by_future[future] = rel
        return future

    running = as_completed([submit(rel) for _, rel in zip(range(window), pending)])  # range first: zip would drop one
    for future in running:
        rel = by_future.pop(future)
        try:
            result, added = future.result()
        except Exception as err:  # noqa: BLE001  a worker that died, or an error outside the file's own
            target = output_path(spec.inputs, rel, spec.out)
            result, added = FileResult(rel, target, "failed", error=f"{rel.as_posix()}: {_worker_error(err)}"), ([], [])
        results[rel], notes[rel] = result, added
        bar.update(1, rel)
        following = next(pending, None)
        if following is not None:
            running.add(submit(following))


def _worker_error(err: BaseException) -> str:
    if type(err).__name__ == "KilledWorker":
        return "its worker died while restoring it, each time it was tried (out of memory?)"
    return f"failed on its worker: {type(err).__name__}: {err}"


def _remove_temporaries(target: Path) -> None:
    """The hidden ``.NAME.*.part`` files ``images.atomic_target`` leaves beside ``target``
    when its process is killed (a normal failure removes its own)."""
    if not target.parent.is_dir():
        return
    prefix = f".{target.name}."  # no glob: a file name may hold [ or *
    for stale in target.parent.iterdir():
        if stale.name.startswith(prefix) and stale.name.endswith(".part"):
            stale.unlink(missing_ok=True)
