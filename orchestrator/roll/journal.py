"""The run journal (append-only, flushed per event, so a killed run can be resumed) and locks.

Layout: STATE_DIR/runs/<run-id>/journal.jsonl (0600, in a 0700 dir) and STATE_DIR/lock.
The journal never holds secrets: phases, paths, checksums and reasons; file contents only as the diff
of a host re-planned just before its turn (`replanned`: the config/topology diff `plan --diff` shows
for it, never a pool key), so that what was written instead of the approved plan is on record.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from orchestrator.load.secrets import redact
from orchestrator.model import Phase

# A host's phases are model.Phase. These end a host:
# (the return hook runs after done's gate or after rolled_back, so returned and return_failed end a host
# whole: upgraded or rolled back, in sync; return_failed leaves the balancer to the operator, loudly)
FINAL = frozenset({Phase.DONE, Phase.ROLLED_BACK, Phase.RETURNED, Phase.RETURN_FAILED})
# A host whose last phase is one of these has had nothing changed yet (resume leaves it to the next run):
NOTHING_CHANGED = frozenset({Phase.PLANNED, Phase.STAGED, Phase.STAGE_FAILED, Phase.LEADER_WAIT, Phase.DEFERRED,
                             Phase.DRAIN_FAILED,
                             Phase.REPLANNED, Phase.LEFT_UNTOUCHED})


def new_run_id(now: float | None = None) -> str:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now if now is not None else time.time()))
    return f"{stamp}-{secrets.token_hex(3)}"


@dataclass(frozen=True)
class Event:
    at: float
    host: str
    phase: Phase
    data: dict[str, Any] = field(default_factory=dict)


class Journal:
    """Append-only JSON lines; each event is flushed and fsynced before the step it records goes on."""

    def __init__(self, state_dir: Path, run_id: str) -> None:
        self.run_id = run_id
        self.dir = state_dir / "runs" / run_id
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.dir, 0o700)
        os.chmod(self.dir.parent, 0o700)
        self.path = self.dir / "journal.jsonl"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._file: TextIO = os.fdopen(fd, "a", encoding="utf-8")

    def record(self, host: str, phase: Phase, **data: Any) -> Event:
        event = Event(time.time(), host, phase, data)
        line = json.dumps({"at": event.at, "host": host, "phase": phase.value, "data": data})
        self._file.write(redact(line) + "\n")  # a vault-decrypted value is never journaled
        self._file.flush()
        os.fsync(self._file.fileno())
        return event

    def close(self) -> None:
        self._file.close()

    @staticmethod
    def read(path: Path) -> list[Event]:
        events = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                raw = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a kill: everything before it is intact
            events.append(Event(raw["at"], raw["host"], Phase(raw["phase"]), raw.get("data", {})))
        return events


# What the gate saw the node do (its startup phases): journaled for the operator, but not a step of
# the rollout, so a resume never takes one for how far a host got.
OBSERVATIONS = frozenset({Phase.NODE_PHASE, Phase.CONNECTION_LOST, Phase.RECONNECTED})


def last_phases(events: list[Event]) -> dict[str, Event]:
    """Each host's latest rollout step (observations skipped)."""
    latest: dict[str, Event] = {}
    for e in events:
        if e.host != "*" and e.phase not in OBSERVATIONS:
            latest[e.host] = e
    return latest


def host_data(events: list[Event], host: str) -> dict[str, Any]:
    """Everything recorded about one host's steps, later events overriding earlier keys."""
    merged: dict[str, Any] = {}
    for e in events:
        if e.host == host and e.phase not in OBSERVATIONS:
            merged.update(e.data)
    return merged


def runs(state_dir: Path) -> Iterator[Path]:
    base = state_dir / "runs"
    if base.exists():
        yield from sorted((p for p in base.iterdir() if (p / "journal.jsonl").exists()), key=lambda p: p.name)


def unfinished_run(state_dir: Path) -> str | None:
    """The newest run whose journal has a host not in a final phase, or no run end."""
    for run_dir in reversed(list(runs(state_dir))):
        events = Journal.read(run_dir / "journal.jsonl")
        ended = any(e.host == "*" and e.phase is Phase.RUN_ENDED for e in events)
        if not ended:
            return run_dir.name
    return None


class LockHeld(RuntimeError):
    def __init__(self, holder: str, where: str) -> None:
        super().__init__(f"another run holds the lock on {where}: run {holder}")
        self.holder = holder


class LocalLock:
    """flock on STATE_DIR/lock; the holder's run id is in the file so a refusal can name it."""

    def __init__(self, state_dir: Path, run_id: str) -> None:
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = state_dir / "lock"
        self.run_id = run_id
        self._fd = -1

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 200).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise LockHeld(holder, f"this control machine ({self.path})") from None
        os.ftruncate(fd, 0)
        os.write(fd, self.run_id.encode())
        os.fsync(fd)
        self._fd = fd

    def release(self) -> None:
        if self._fd >= 0:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = -1
