"""Ansible's answers for the inventory oracle, asked in the background as soon as the session knows
which cases it will check.

Each case costs a Python process that imports ansible-core and starts `ansible-inventory` (about a
second and a half each): asked one at a time while pytest runs the rest of the selection (the unit
tests are collected first), they use the machine's second core instead of the suite's wall time.
The answers are the same as asked inline — the same program, environment and files — and each case
still waits for its own answer; nothing is kept between sessions.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

ORACLE_TEST = "test_resolved_variables_equal_ansibles"


class OracleRuns:
    """case id → Ansible's answer, computed by `ask` in one background worker, in collection order."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ansible-oracle")
        self._dir = Path(tempfile.mkdtemp(prefix="cardano-fleet-oracle-"))
        self._answers: dict[str, Future[dict[str, Any]]] = {}

    def start(self, case: str, ask: Callable[[Path], dict[str, Any]]) -> None:
        if case not in self._answers:
            work = self._dir / case
            work.mkdir()
            self._answers[case] = self._pool.submit(ask, work)

    def answer(self, case: str, ask: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
        self.start(case, ask)  # not started at collection (a selection pytest did not announce): now
        return self._answers[case].result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self._dir, ignore_errors=True)


_RUNS = OracleRuns()


def pytest_collection_finish(session: pytest.Session) -> None:
    for item in session.items:
        if getattr(item, "originalname", None) == ORACLE_TEST and isinstance(item, pytest.Function):
            case = item.callspec.params["case"]
            _RUNS.start(case, item.module.ansible_asker(case))  # type: ignore[union-attr]


def pytest_sessionfinish(session: pytest.Session) -> None:
    _RUNS.close()


@pytest.fixture(scope="session")
def ansible_oracle() -> OracleRuns:
    return _RUNS
