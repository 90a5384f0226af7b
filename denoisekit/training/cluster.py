"""What training needs to run the same way on every worker of a tf.distribute cluster.

Each worker of ``--strategy multi-worker`` runs this same program; gradients are summed across
them, but anything a worker decides on its own (the learning rate from its clock, stopping at a
time budget, an early stop on a validation figure) must come out the same everywhere, or the
workers' weights drift apart, or one waits forever for a step the others never take.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from ..tf_setup import tensorflow


def worker_count(strategy: Any) -> int:
    """How many worker processes train together (1 without a cluster)."""
    extended = getattr(strategy, "extended", None)
    return int(getattr(extended, "_num_workers", 1) or 1)


def is_chief(strategy: Any) -> bool:
    """Whether this worker writes the model and checkpoints: the 'chief' task, else worker 0."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and int(resolver.task_id) == 0 and not has_chief


def scratch_dir() -> Path:
    """Where a non-chief worker writes its own checkpoints (its files are never kept)."""
    return Path(tempfile.mkdtemp(prefix="denoisekit-worker-"))


def mean_across_workers(strategy: Any, value: float) -> float:
    """The mean of ``value`` over the workers (itself with one worker): a collective, so every
    worker must call it at the same point."""
    if worker_count(strategy) <= 1:
        return float(value)
    tf = tensorflow()
    total = strategy.reduce("SUM", tf.constant(float(value), tf.float64), axis=None)
    return float(total) / worker_count(strategy)


def prepare_for_cluster(model: Any, strategy: Any, batch: tuple[Any, Any]) -> None:
    """Let Keras's ``fit`` run ``model`` on a cluster of more than one worker (a no-op otherwise).

    Keras 3.15's TensorFlow trainer has two steps that fail with a multi-worker strategy of two
    or more workers, both worked around here on this one model:
    - before the first step it reduces a distributed (x, y) batch with ``strategy.reduce`` to
      build the model, which fails for a tuple ("Attempt to convert a value (PerReplica ...)"):
      the model is built here from a local batch instead, and ``fit`` told it is built;
    - after each step it takes the workers' mean of the step's logs along axis 0, which a
      scalar loss does not have ("Invalid reduction dimension 0 for input with 0 dimensions"):
      the step returns each figure as a 1-element vector, whose mean is the scalar again.
    """
    if worker_count(strategy) <= 1:
        return
    tf = tensorflow()
    with strategy.scope():
        model._symbolic_build(data_batch=batch)  # (the trainer has built the optimizer)
    model._maybe_symbolic_build = lambda *args, **kwargs: None
    step = model.train_step

    def train_step(data: Any) -> Any:
        logs = step(data)
        return tf.nest.map_structure(lambda v: tf.reshape(v, [1]) if v.shape.rank == 0 else v, logs)

    model.train_step = train_step


def synced_logs_callback(strategy: Any, keys: tuple[str, ...]) -> Any:
    """A callback that replaces each worker's ``logs[key]`` by its mean over the workers, so that
    early stopping and the kept epoch are decided identically everywhere."""
    import keras

    class SyncLogs(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if logs is None or worker_count(strategy) <= 1:
                return
            for key in keys:
                if key in logs:
                    logs[key] = mean_across_workers(strategy, logs[key])

    return SyncLogs()
