"""Two `denoisekit train --strategy multi-worker` processes on the loopback address, for tests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

from click.testing import CliRunner

from denoisekit.cli import main


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def run_workers(command: list[str], count: int = 2, timeout: float = 600) -> None:
    """Run ``command`` (a train command with ``--strategy multi-worker``) as ``count`` worker
    processes of one cluster, each given its TF_CONFIG; all must finish with exit code 0."""
    cluster = [f"127.0.0.1:{port}" for port in free_ports(count)]
    workers = []
    for index in range(count):
        env = {**os.environ, "TF_CONFIG": json.dumps({"cluster": {"worker": cluster},
                                                      "task": {"type": "worker", "index": index}})}
        workers.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outputs = [worker.communicate(timeout=timeout) for worker in workers]
    for worker, (_, err) in zip(workers, outputs):
        assert worker.returncode == 0, err[-2000:]


def run_in_process(command: list[str]) -> None:
    """Run the same ``python -m denoisekit ...`` command in this process (TensorFlow already
    imported: seconds saved), as the one-process reference the cluster is compared with."""
    assert command[:3] == [sys.executable, "-m", "denoisekit"], command
    result = CliRunner().invoke(main, command[3:])
    assert result.exit_code == 0, result.output[-2000:]
