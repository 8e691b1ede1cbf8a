"""A node's start as its own log tells it: ChainDB opening, ledger replay, initial chain selection,
then the local socket. Pure parsing (no I/O): the facts probe ships the selected lines, this reads them.

Why the log: until the socket is up, `cardano-cli query tip` cannot answer and the legacy tracing
that 8.7.3/8.9.0 run by default (TurnOnLogging, no UseTraceDispatcher) exports no replay metric
(the ChainDB.BlockReplayProgress metric exists only in the new tracing system,
cardano-node/src/Cardano/Node/Tracing/Tracers/BlockReplayProgress.hs at 8.9.0). The log is the
only signal that a node which does not answer is working rather than hung.

Formats, from cardano-node at tag 8.9.0 (same texts at 8.7.3):
- text (scFormat ScText): `[host:cardano.node.ChainDB:Info:5] [2024-09-03 12:11:09.26 UTC] <message>`
  with the messages of Cardano/Tracing/OrphanInstances/Consensus.hs (HasTextFormatter):
  "Started opening Chain DB", "Validating chunk no. N out of M. Progress: X%",
  "Replaying ledger from snapshot at <hash> at slot S", "Replaying ledger from genesis",
  "Replayed block: slot X out of Y. Progress: Z%", "Opened lgr db", "Started initial chain selection",
  "Pushing ledger state for block <hash> at slot S. Progress: X%",
  "Opened db with immutable tip at … and tip … at slot S", and from Network.hs (DiffusionTracer, `show`):
  `LocalSocketUp (LocalAddress "<path>") (FileDescriptor N)`.
- JSON (scFormat ScJson): one object per line, `"at": "2024-09-03T12:11:09.26Z"`, the event in
  `data.kind` (ToObject instances of the same files): TraceOpenEvent.StartedOpeningDB,
  TraceImmutableDBEvent.StartedValidatingChunk {initialChunk, finalChunk},
  TraceLedgerReplayEvent.ReplayFromSnapshot {tip}, TraceLedgerReplayEvent.ReplayedBlock {slot, tip},
  TraceOpenEvent.OpenedLgrDB, TraceFollowerEvent.StartedInitChainSelection (sic),
  TraceAddBlockEvent.AddBlockValidation.UpdateLedgerDbTraceEvent.StartedPushingBlockToTheLedgerDb
  {startingBlock, currentBlock, targetBlock as hash@slot}, TraceOpenEvent.OpenedDB, LocalSocketUp.
Real lines of these shapes: IntersectMBO/cardano-node#5884 (a 40-minute replay in 2024),
cardano-foundation/cardano-graphql#894 ("Replayed block" every 2-3 s during a 10-hour replay).

A dirty shutdown (no `clean` marker in the database: ouroboros-consensus-diffusion's
Ouroboros.Consensus.Node, `hasCleanShutdownMarker`) makes the next start validate *all* ImmutableDB
chunks instead of the most recent one; the log shows it as validation starting at chunk 0.
"""

from __future__ import annotations

import json
import re
from calendar import timegm
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Phase(StrEnum):
    """Where a starting node is, in the order a start goes through them."""

    OPENING = "opening chain db"
    VALIDATING = "validating chunks"
    REPLAYING = "replaying ledger"
    CHAIN_SELECTION = "initial chain selection"
    SOCKET_UP = "socket up"


PHASE_ORDER: tuple[Phase, ...] = tuple(Phase)


class Kind(StrEnum):
    START = "start"
    CHUNK = "chunk"
    REPLAY_FROM = "replay_from"
    REPLAYED = "replayed"
    LGR_OPENED = "lgr_opened"
    CHAIN_SEL = "chain_sel"
    PUSHING = "pushing"
    DB_OPENED = "db_opened"
    SOCKET = "socket"


PHASE_OF: dict[Kind, Phase] = {
    Kind.START: Phase.OPENING,
    Kind.CHUNK: Phase.VALIDATING,
    Kind.REPLAY_FROM: Phase.REPLAYING,
    Kind.REPLAYED: Phase.REPLAYING,
    Kind.LGR_OPENED: Phase.CHAIN_SELECTION,
    Kind.CHAIN_SEL: Phase.CHAIN_SELECTION,
    Kind.PUSHING: Phase.CHAIN_SELECTION,
    Kind.DB_OPENED: Phase.CHAIN_SELECTION,
    Kind.SOCKET: Phase.SOCKET_UP,
}


@dataclass(frozen=True)
class LogEvent:
    """One startup line: when (unix seconds, from the line itself), what, and its progress if any."""

    at: float
    kind: Kind
    percent: float | None = None
    slot: int | None = None  # a replay's snapshot slot, a replayed/pushed block's slot
    goal: int | None = None  # the slot a replay or push goes to
    chunk: int | None = None
    chunks: int | None = None


# --------------------------------------------------------------------------------------------
# What the probe selects on the host: a line is kept when one of these matches (text or JSON)

SELECT_PATTERN = (
    r"Started opening Chain DB|StartedOpeningDB|Validating chunk no\.|StartedValidatingChunk"
    r"|Replaying ledger from|ReplayFromSnapshot|ReplayFromGenesis|Replayed block: |ReplayedBlock"
    r"|Opened lgr db|OpenedLgrDB|Started initial chain selection|StartedInitChainSelection"
    r"|Pushing ledger state for block|StartedPushingBlockToTheLedgerDb|Opened db with immutable tip"
    r"|OpenedDB\"|LocalSocketUp"
)
START_PATTERN = r"Started opening Chain DB|StartedOpeningDB"

_TEXT_STAMP = re.compile(r"\[(\d{4}-\d\d-\d\d) (\d\d):(\d\d):(\d\d(?:\.\d+)?) UTC\]")
_ISO_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d)T(\d\d):(\d\d):(\d\d(?:\.\d+)?)Z?$")
_CHUNK = re.compile(r"Validating chunk no\. (\d+) out of (\d+)\. Progress: ([\d.]+)%")
_REPLAY_FROM = re.compile(r"Replaying ledger from snapshot at (?:\S+ at slot (\d+)|(.*))$")
_REPLAYED = re.compile(r"Replayed block: slot (\d+) out of (\d+)\. Progress: ([\d.]+)%")
_PUSHING = re.compile(r"Pushing ledger state for block \S+ at slot (\d+)\. Progress: ([\d.]+)%")
_POINT_SLOT = re.compile(r"(?:@|SlotNo )(\d+)")


def _unix(date: str, hh: str, mm: str, ss: str) -> float:
    y, mo, d = (int(p) for p in date.split("-"))
    sec = float(ss)
    return timegm((y, mo, d, int(hh), int(mm), int(sec), 0, 0, 0)) + (sec - int(sec))


def _pct(done: float, total: float) -> float:
    return 100.0 if total <= 0 else max(0.0, min(100.0, 100.0 * done / total))


def parse_line(line: str) -> LogEvent | None:
    """A text or JSON log line → LogEvent, or None for any other line (never raises)."""
    line = line.strip()
    if line.startswith("{"):
        return _parse_json(line)
    stamp = _TEXT_STAMP.search(line)
    if stamp is None:
        return None
    at = _unix(*stamp.groups())
    msg = line[stamp.end() :].strip()
    if msg.startswith("Started opening Chain DB"):
        return LogEvent(at, Kind.START)
    if m := _CHUNK.search(msg):
        return LogEvent(at, Kind.CHUNK, float(m.group(3)), chunk=int(m.group(1)), chunks=int(m.group(2)))
    if msg.startswith("Replaying ledger from genesis"):
        return LogEvent(at, Kind.REPLAY_FROM, 0.0, slot=0)
    if m := _REPLAY_FROM.search(msg):
        return LogEvent(at, Kind.REPLAY_FROM, 0.0, slot=int(m.group(1)) if m.group(1) else None)
    if m := _REPLAYED.search(msg):
        return LogEvent(at, Kind.REPLAYED, float(m.group(3)), slot=int(m.group(1)), goal=int(m.group(2)))
    if msg.startswith("Opened lgr db"):
        return LogEvent(at, Kind.LGR_OPENED)
    if msg.startswith("Started initial chain selection"):
        return LogEvent(at, Kind.CHAIN_SEL, 0.0)
    if m := _PUSHING.search(msg):
        return LogEvent(at, Kind.PUSHING, float(m.group(2)), slot=int(m.group(1)))
    if msg.startswith("Opened db with immutable tip"):
        return LogEvent(at, Kind.DB_OPENED)
    if msg.startswith("LocalSocketUp"):
        return LogEvent(at, Kind.SOCKET)
    return None


def _slot_of(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    m = _POINT_SLOT.search(str(value))
    return int(m.group(1)) if m else None


def _parse_json(line: str) -> LogEvent | None:
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("data"), dict):
        return None
    stamp = _ISO_STAMP.match(str(obj.get("at", "")))
    if stamp is None:
        return None
    at = _unix(*stamp.groups())
    data: dict[str, Any] = obj["data"]
    kind = str(data.get("kind", ""))
    if kind == "TraceOpenEvent.StartedOpeningDB":
        return LogEvent(at, Kind.START)
    if kind == "TraceImmutableDBEvent.StartedValidatingChunk":
        n, m = _slot_of(data.get("initialChunk")), _slot_of(data.get("finalChunk"))
        if n is None or m is None:
            return None
        return LogEvent(at, Kind.CHUNK, _pct(n, m + 1), chunk=n, chunks=m)
    if kind == "TraceLedgerReplayEvent.ReplayFromGenesis":
        return LogEvent(at, Kind.REPLAY_FROM, 0.0, slot=0)
    if kind == "TraceLedgerReplayEvent.ReplayFromSnapshot":
        return LogEvent(at, Kind.REPLAY_FROM, 0.0, slot=_slot_of(data.get("tip")))
    if kind == "TraceLedgerReplayEvent.ReplayedBlock":
        slot, goal = _slot_of(data.get("slot")), _slot_of(data.get("tip"))
        if slot is None or goal is None:
            return None
        return LogEvent(at, Kind.REPLAYED, None, slot=slot, goal=goal)  # percent: needs the replay's start
    if kind == "TraceOpenEvent.OpenedLgrDB":
        return LogEvent(at, Kind.LGR_OPENED)
    if kind.endswith("StartedInitChainSelection"):
        return LogEvent(at, Kind.CHAIN_SEL, 0.0)
    if kind.endswith("StartedPushingBlockToTheLedgerDb"):
        start, cur, goal = (_slot_of(data.get(k)) for k in ("startingBlock", "currentBlock", "targetBlock"))
        if start is None or cur is None or goal is None:
            return None
        return LogEvent(at, Kind.PUSHING, _pct(cur - start, goal - start), slot=cur, goal=goal)
    if kind == "TraceOpenEvent.OpenedDB":
        return LogEvent(at, Kind.DB_OPENED)
    if kind == "LocalSocketUp":
        return LogEvent(at, Kind.SOCKET)
    return None


# --------------------------------------------------------------------------------------------
# One start, summarised


@dataclass(frozen=True)
class StartupProgress:
    """One start of the node, from "Started opening Chain DB" on (times are the log's, unix seconds)."""

    started_at: float
    phase: Phase
    percent: float | None  # within the phase; None where the phase has no progress figure
    last_event_at: float  # the newest line of this start
    progress_at: float  # when the phase or its percent last moved
    phase_started: tuple[tuple[Phase, float], ...] = field(default=())
    socket_up_at: float | None = None
    full_validation: bool = False  # all chunks validated: the last shutdown was not clean

    @property
    def done(self) -> bool:
        return self.socket_up_at is not None

    @property
    def duration(self) -> float | None:
        """Seconds from opening the ChainDB to the socket; None while the start goes on."""
        return None if self.socket_up_at is None else max(0.0, self.socket_up_at - self.started_at)

    def phase_durations(self, until: float | None = None) -> dict[str, float]:
        """Seconds spent in each phase reached (the last one up to `until`, or the socket)."""
        out: dict[str, float] = {}
        marks = [(p, t) for p, t in self.phase_started if p is not Phase.SOCKET_UP]
        end = self.socket_up_at if self.socket_up_at is not None else until
        for i, (phase, t) in enumerate(marks):
            nxt = marks[i + 1][1] if i + 1 < len(marks) else end
            if nxt is not None:
                out[str(phase)] = round(max(0.0, nxt - t), 2)
        return out

    def eta_seconds(self, now: float) -> float | None:
        """Rough time left in the current phase at its average rate so far; None when unknown."""
        if self.percent is None or self.percent <= 0 or self.percent >= 100:
            return None
        began = dict(self.phase_started).get(self.phase)
        if began is None or self.progress_at <= began:
            return None
        rate = self.percent / (self.progress_at - began)
        return max(0.0, (100.0 - self.percent) / rate - (now - self.progress_at))

    def describe(self) -> str:
        """ "replaying ledger 42%", "validating chunks 3% (all chunks: unclean shutdown)", "socket up"."""
        text = str(self.phase)
        if self.percent is not None and self.phase is not Phase.SOCKET_UP:
            text += f" {self.percent:.0f}%"
        if self.full_validation and self.phase is Phase.VALIDATING:
            text += " (all chunks: the last shutdown was not clean)"
        return text


@dataclass(frozen=True)
class Startups:
    """The current (newest) start and the newest one that reached the socket (maybe the same)."""

    current: StartupProgress | None = None
    last_completed: StartupProgress | None = None


def _summarise(events: Sequence[LogEvent]) -> StartupProgress:
    first = events[0]
    phase = Phase.OPENING
    percent: float | None = None
    progress_at = first.at
    marks: list[tuple[Phase, float]] = [(Phase.OPENING, first.at)]
    socket_at: float | None = None
    full = False
    replay_from: int | None = None
    for ev in events[1:]:
        new_phase = PHASE_OF[ev.kind]
        pct = ev.percent
        if ev.kind is Kind.CHUNK and ev.chunk == 0 and (ev.chunks or 0) > 0:
            full = True
        if ev.kind is Kind.REPLAY_FROM:
            replay_from = ev.slot
        if ev.kind is Kind.REPLAYED and pct is None and ev.slot is not None and ev.goal is not None:
            base = replay_from or 0
            pct = _pct(ev.slot - base, ev.goal - base)
        if ev.kind is Kind.SOCKET and socket_at is None:
            socket_at = ev.at
        if PHASE_ORDER.index(new_phase) > PHASE_ORDER.index(phase):
            phase, percent, progress_at = new_phase, pct, ev.at
            marks.append((new_phase, ev.at))
        elif new_phase is phase and pct is not None and (percent is None or pct > percent):
            percent, progress_at = pct, ev.at
    return StartupProgress(
        started_at=first.at,
        phase=phase,
        percent=percent,
        last_event_at=events[-1].at,
        progress_at=progress_at,
        phase_started=tuple(marks),
        socket_up_at=socket_at,
        full_validation=full,
    )


def summarise(lines: Iterable[str]) -> Startups:
    """Lines of a node's log (any order of starts, noise tolerated) → its newest starts."""
    starts: list[list[LogEvent]] = []
    for line in lines:
        ev = parse_line(line)
        if ev is None:
            continue
        if ev.kind is Kind.START:
            starts.append([ev])
        elif starts:
            starts[-1].append(ev)
    if not starts:
        return Startups()
    summaries = [_summarise(s) for s in starts]
    completed = next((s for s in reversed(summaries) if s.done), None)
    return Startups(current=summaries[-1], last_completed=completed)
