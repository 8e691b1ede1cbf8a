"""A child process run to its end: wall time, exit code, peak RSS and CPU (os.wait4), killed after a timeout."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bench.lab import cli_env, cpu_seconds
from bench.settings import REPO


@dataclass(frozen=True)
class Child:
    wall: float
    exit_code: int
    maxrss_kib: int
    cpu: float  # user + system seconds of the child and every descendant it waited for
    output_tail: str  # the end of stdout, then of stderr


def run_child(argv: list[str], env: Mapping[str, str] | None = None, cwd: Path = REPO, timeout: float = 900) -> Child:
    """Run one child process to its end: wall, exit code, peak RSS and CPU from os.wait4. After
    `timeout` seconds its whole process group is killed (seen: ansible-playbook with 128 forks hung,
    its workers blocked writing results)."""
    import threading

    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        env=dict(env) if env is not None else cli_env(), cwd=cwd, start_new_session=True,
    )  # fmt: skip
    killer = threading.Timer(timeout, lambda: _kill_group(proc.pid))
    killer.start()
    try:
        out, err = _drain(proc)
    finally:
        killer.cancel()
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Child(wall, proc.returncode, int(usage.ru_maxrss), cpu_seconds(usage), out[-65536:] + err[-1500:])


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def _drain(proc: subprocess.Popen[bytes]) -> tuple[str, str]:
    """Read stdout and stderr to EOF without reaping the child (wait4 must see it)."""
    assert proc.stdout is not None and proc.stderr is not None
    with ThreadPoolExecutor(max_workers=2) as pool:
        fut_out = pool.submit(proc.stdout.read)
        fut_err = pool.submit(proc.stderr.read)
        return fut_out.result().decode(errors="replace"), fut_err.result().decode(errors="replace")
