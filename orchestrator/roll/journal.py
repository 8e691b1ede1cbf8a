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
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from orchestrator.load.secrets import redact
from orchestrator.model import Phase
from orchestrator.roll.events import Event as Event  # re-exported: the journal's line type
from orchestrator.roll.events import Payload, RunEnded

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


class Journal:
    """Append-only JSON lines; each event is flushed and fsynced before the step it records goes on."""

    def __init__(self, state_dir: Path, run_id: str, wall: Callable[[], float] = time.time) -> None:
        """`wall`: unix seconds, the stamp of each event (injected, as every clock of the rollout)."""
        self.run_id = run_id
        self.wall = wall
        self.dir = state_dir / "runs" / run_id
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.dir, 0o700)
        os.chmod(self.dir.parent, 0o700)
        self.path = self.dir / "journal.jsonl"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._file: TextIO = os.fdopen(fd, "a", encoding="utf-8")

    def record(self, host: str, phase: Phase, **data: Any) -> Event:
        event = Event(self.wall(), host, phase, data)
        line = json.dumps({"at": event.at, "host": host, "phase": phase.value, "data": data})
        self._file.write(redact(line) + "\n")  # a vault-decrypted value is never journaled
        self._file.flush()
        os.fsync(self._file.fileno())
        return event

    def note(self, host: str, payload: Payload) -> Event:
        """Journal a typed payload (roll/events.py) under its phase."""
        return self.record(host, payload.phase, **payload.data())

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


# What the gate saw the node do (its startup phases), and a pool's forging handover (journaled on its
# original producer's name, roll/handover.py; `run --resume` takes it up on its own, roll/pool.py):
# journaled for the operator, but not a step of a host's rollout, so a resume never takes one for how
# far a host got.
OBSERVATIONS = frozenset({Phase.NODE_PHASE, Phase.CONNECTION_LOST, Phase.RECONNECTED, Phase.BACKUPS_PRUNED,
                          Phase.HANDOVER_STEP, Phase.FORGERS_SEEN, Phase.HANDOVER_ENDED})


def last_phases(events: list[Event]) -> dict[str, Event]:
    """Each host's latest rollout step (observations skipped)."""
    latest: dict[str, Event] = {}
    for e in events:
        if e.host != "*" and e.phase not in OBSERVATIONS:
            latest[e.host] = e
    return latest


def runs(state_dir: Path) -> Iterator[Path]:
    base = state_dir / "runs"
    if base.exists():
        yield from sorted((p for p in base.iterdir() if (p / "journal.jsonl").exists()), key=lambda p: p.name)


def run_end(events: list[Event]) -> Event | None:
    """The run's last `run_ended` after its last `run_started` (a resume starts again): None when the
    last attempt has no end — it was killed (SIGKILL, power loss), or is still running."""
    end: Event | None = None
    for e in events:
        if e.host == "*" and e.phase is Phase.RUN_STARTED:
            end = None
        elif e.host == "*" and e.phase is Phase.RUN_ENDED:
            end = e
    return end


def how_it_ended(events: list[Event]) -> str:
    """In words, for the operator: 'interrupted by SIGINT at …', 'killed (no end in its journal)', …"""
    end = run_end(events)
    if end is None:
        return "killed or still running (its journal has no end)"
    ended = RunEnded.of(end)
    outcome = ended.outcome.value if ended.outcome is not None else ended.reason
    how = f"{outcome} by {ended.signal}" if ended.signal else outcome
    return f"{how} at {utc_iso(end.at)}"


def is_unfinished(events: list[Event]) -> bool:
    """Hosts may be mid-way: the run started changing hosts (run_started) and its last attempt has no
    end, or ended interrupted or aborted (roll/interrupt.py). A run that ended by its own rules is done."""
    from orchestrator.roll.interrupt import RESUMABLE

    if not any(e.host == "*" and e.phase is Phase.RUN_STARTED for e in events):
        return False  # stopped before any host was locked or touched
    end = run_end(events)
    return end is None or RunEnded.of(end).outcome in RESUMABLE


def unfinished_run(state_dir: Path) -> str | None:
    """The newest unfinished run (is_unfinished) in STATE_DIR, or None."""
    for run_dir in reversed(list(runs(state_dir))):
        if is_unfinished(Journal.read(run_dir / "journal.jsonl")):
            return run_dir.name
    return None


def out_of_rotation(events: list[Event]) -> list[str]:
    """Hosts the run drained and has not returned (or whose return failed): out of the balancer's rotation."""
    drained: dict[str, bool] = {}
    for e in events:
        if e.host == "*":
            continue
        if e.phase is Phase.DRAINED:
            drained[e.host] = True
        elif e.phase is Phase.RETURNED:
            drained[e.host] = False
        elif e.phase is Phase.RETURN_FAILED:
            drained[e.host] = True
    return sorted(h for h, out in drained.items() if out)


def out_of_rotation_in(state_dir: Path) -> dict[str, str]:
    """Every host the runs in STATE_DIR, read oldest first, leave drained: host → why (which run, when).
    A later run that returns the host (or `cardano-fleet return`) puts it back."""
    out: dict[str, str] = {}
    for run_dir in runs(state_dir):
        for e in Journal.read(run_dir / "journal.jsonl"):
            if e.host == "*":
                continue
            if e.phase is Phase.DRAINED:
                out[e.host] = f"drained by run {run_dir.name} at {utc_iso(e.at)}, not returned"
            elif e.phase is Phase.RETURN_FAILED:
                out[e.host] = f"its return hook failed in run {run_dir.name} at {utc_iso(e.at)}"
            elif e.phase is Phase.RETURNED:
                out.pop(e.host, None)
    return out


def utc_iso(at: float) -> str:
    """Unix seconds as UTC ISO 8601 to the second (`2026-12-05T12:09:49Z`): what reports and messages show."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


class LockHeld(RuntimeError):
    def __init__(self, holder: str, where: str) -> None:
        super().__init__(f"another run holds the lock on {where}: run {holder}")
        self.holder = holder


@dataclass(frozen=True)
class LockOwner:
    """Who took STATE_DIR/lock last: written when taken, left behind by a run that was killed."""

    run_id: str
    pid: int | None = None
    host: str = ""
    at: float | None = None

    def describe(self, alive: bool) -> str:
        who = f"pid {self.pid} on {self.host or '?'}" + (f" since {utc_iso(self.at)}" if self.at else "")
        return f"run {self.run_id} ({who}, {'still running' if alive else 'no longer running'})"


class LocalLock:
    """flock on STATE_DIR/lock; the holder's run id, pid, host and start time are in the file so that a
    refusal can name it, alive (flock held) or dead (a killed run's file, flock free)."""

    def __init__(self, state_dir: Path, run_id: str) -> None:
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = state_dir / "lock"
        self.run_id = run_id
        self._fd = -1

    @staticmethod
    def _parse(text: str) -> LockOwner | None:
        text = text.strip()
        if not text:
            return None
        try:
            raw = json.loads(text)
        except json.JSONDecodeError:
            return LockOwner(text)  # a lock written by an older version: the run id alone
        if not isinstance(raw, dict):
            return LockOwner(text)
        return LockOwner(str(raw.get("run_id", "unknown")), raw.get("pid"), str(raw.get("host", "")), raw.get("at"))

    def owner(self) -> tuple[LockOwner | None, bool]:
        """The last holder written in the file, and whether its process still holds the lock."""
        if not self.path.exists():
            return None, False
        fd = os.open(self.path, os.O_RDONLY)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                alive = False
                fcntl.flock(fd, fcntl.LOCK_UN)
            except BlockingIOError:
                alive = True
            return self._parse(os.read(fd, 1000).decode(errors="replace")), alive
        finally:
            os.close(fd)

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            found = self._parse(os.read(fd, 1000).decode(errors="replace"))
            os.close(fd)
            holder = found.describe(alive=True) if found else "unknown"
            raise LockHeld(holder.removeprefix("run "), f"this control machine ({self.path})") from None
        os.ftruncate(fd, 0)
        owner = {"run_id": self.run_id, "pid": os.getpid(), "host": socket.gethostname(), "at": time.time()}
        os.write(fd, json.dumps(owner).encode())
        os.fsync(fd)
        self._fd = fd

    def release(self) -> None:
        if self._fd >= 0:  # the record stays: who ran last (a refusal over an unfinished run names it)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = -1
