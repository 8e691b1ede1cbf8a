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

The new tracing system (trace-dispatcher: run by default from 10.5, shipped on from 10.6, the only
one from 11.1; cardano/releases/) logs the same start under dotted namespaces; its line envelope is
cut by orchestrator/cardano/trace_forms.py and read here into the same LogEvent. Namespaces, texts
and `data`, from /work/shared/docs/cardano-runtime-signals-10x.md §1.3 (ouroboros-consensus
release-ouroboros-consensus-3.0.1.0 `Storage/ChainDB/Impl.hs` L157-216, L328; `Consensus/Node.hs`
L518-646; texts and `data` from cardano-node 11.0.1 `cardano-node/src/Cardano/Node/Tracing/Tracers/
ChainDB.hs`, `BlockReplayProgress.hs`, `Diffusion.hs` — the tables below name them one by one).
Two differences matter:
- The replay's progress (`ChainDB.ReplayBlock.LedgerReplay`, BlockReplayProgress.hs L38-40, L55-90)
  is the replayed slot over the target slot, *absolute* — a replay from a recent snapshot starts
  near 99.9 %, one from genesis near 0 %. Its JSON form carries only that figure (`progress`, Haskell
  `show` of a Double before 10.7.1: `5.0e-2` happens). StartupProgress keeps the node's figure and
  the figure the phase started at (`percent_start`), so that a rate and a time left are measured on
  what this replay did, never on a 0 it did not start from.
- Initial chain selection's progress ("Pushing ledger state …",
  `ChainDB.InitChainSelEvent.Validation.UpdateLedgerDb`) is Debug, below the shipped config's Info
  for ChainDB (ChainDB.hs L1284-1315; the shipped mainnet-config.json at 10.6.0/11.0.1): the phase's
  start and end are logged, its progress is not. The summary says so (`unobserved`) and never
  invents a percentage for it.
"""

from __future__ import annotations

import json
import math
import re
from calendar import timegm
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from orchestrator.cardano import trace_forms
from orchestrator.cardano.releases.record import Tracing


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
    CHAIN_SELECTED = "chain_selected"  # new tracing: InitialChainSelected
    UNCLEAN = "unclean"  # new tracing: ChainDB.LastShutdownUnclean, logged *before* the start it belongs to


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
    Kind.CHAIN_SELECTED: Phase.CHAIN_SELECTION,
    Kind.UNCLEAN: Phase.OPENING,
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
    # The line's tracing system. For the new one a replay's `percent` is slot over target (absolute).
    tracing: Tracing = Tracing.LEGACY


# --------------------------------------------------------------------------------------------
# What the probe selects on the host: a line is kept when one of these matches (text or JSON)

# New tracing: the namespaces come first on a line (both forms), so a line is selected by its
# namespace before any legacy text it contains; the dotted names are matched whole. ValidatedChunk
# is left out: it alternates with StartedValidatingChunk, which would defeat the probe's keeping
# only the first and last line of a run (a full validation is thousands of chunks).
_NEW_SELECT = (
    r"ChainDB\.LastShutdownUnclean|ChainDB\.OpenEvent\.StartedOpeningDB\b"
    r"|ChainDB\.ImmDbEvent\.ChunkValidation\.StartedValidatingChunk"
    r"|ChainDB\.LedgerEvent\.Replay\.ReplayStart\.ReplayFrom(?:Snapshot|Genesis)"
    r"|ChainDB\.ReplayBlock\.LedgerReplay|ChainDB\.LedgerEvent\.Replay\.ReplayProgress\.ReplayedBlock"
    r"|ChainDB\.OpenEvent\.OpenedLgrDB|ChainDB\.InitChainSelEvent\.(?:StartedInitChainSelection|Initi?alChainSelected)"
    r"|ChainDB\.OpenEvent\.OpenedDB\b|Startup\.DiffusionInit\.LocalSocketUp"
)
SELECT_PATTERN = (
    _NEW_SELECT + r"|Started opening Chain DB|StartedOpeningDB|Validating chunk no\.|StartedValidatingChunk"
    r"|Replaying ledger from|ReplayFromSnapshot|ReplayFromGenesis|Replayed block: |ReplayedBlock"
    r"|Opened lgr db|OpenedLgrDB|Started initial chain selection|StartedInitChainSelection"
    r"|Pushing ledger state for block|StartedPushingBlockToTheLedgerDb|Opened db with immutable tip"
    r"|OpenedDB\"|LocalSocketUp"
)
START_PATTERN = r"Started opening Chain DB|StartedOpeningDB"  # the new namespace ends in StartedOpeningDB too

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
    """A log line of either tracing system (text/human or JSON) → LogEvent, or None (never raises)."""
    traced = trace_forms.parse(line)
    if traced is not None:
        return _parse_new(traced)
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


# --------------------------------------------------------------------------------------------
# The new tracing system: namespace → event (signals doc §1.3, rows 0-16)

NS_UNCLEAN = "ChainDB.LastShutdownUnclean"  # row 0, OC Node/Recovery.hs L110
NS_START = "ChainDB.OpenEvent.StartedOpeningDB"  # row 1, ChainDB.hs L1354-1383
NS_CHUNK = "ChainDB.ImmDbEvent.ChunkValidation.StartedValidatingChunk"  # row 3, ChainDB.hs L2518, L2699-2703
NS_CHUNK_DONE = "ChainDB.ImmDbEvent.ChunkValidation.ValidatedChunk"  # row 4 (JSON: chunkNo only)
NS_REPLAY_SNAPSHOT = "ChainDB.LedgerEvent.Replay.ReplayStart.ReplayFromSnapshot"  # row 9, ChainDB.hs L1812-1823
NS_REPLAY_GENESIS = "ChainDB.LedgerEvent.Replay.ReplayStart.ReplayFromGenesis"
NS_LEDGER_REPLAY = "ChainDB.ReplayBlock.LedgerReplay"  # row 10, BlockReplayProgress.hs L55-90
# The per-block message worded like row 10 but relative to the replay's start; Info, yet filtered by
# the shipped config (ChainDB.hs L1827-1844, Tracers.hs L125-131). Read if an operator enables it:
# its slots are what counts here, never its percentage.
NS_REPLAYED_BLOCK = "ChainDB.LedgerEvent.Replay.ReplayProgress.ReplayedBlock"
NS_LGR_OPENED = "ChainDB.OpenEvent.OpenedLgrDB"  # row 11
NS_CHAIN_SEL = "ChainDB.InitChainSelEvent.StartedInitChainSelection"  # row 12, ChainDB.hs L1187-1212
NS_CHAIN_SELECTED = "ChainDB.InitChainSelEvent.InitialChainSelected"  # row 13
# The same message as some earlier cardano-node trees spell it (Tracers/ChainDB.hs: namesForInitChainSel
# "InitalChainSelected", kind "Follower.InitalChainSelected"); which releases: UNCONFIRMED.
NS_CHAIN_SELECTED_OLD = "ChainDB.InitChainSelEvent.InitalChainSelected"
NS_DB_OPENED = "ChainDB.OpenEvent.OpenedDB"  # row 14
NS_SOCKET = "Startup.DiffusionInit.LocalSocketUp"  # row 16, Tracers/Diffusion.hs L668-672, L746
# What the shipped config's severities hide (Debug under ChainDB's Info): said, never guessed.
CHAIN_SELECTION_UNOBSERVED = (
    "initial chain selection's progress is not logged (ChainDB.InitChainSelEvent.Validation.UpdateLedgerDb "
    "is Debug, below the shipped config's Info)"
)

_NEW_CHUNK_TEXT = re.compile(r"Validat(?:ing|ed) chunk no\. (\d+) out of (\d+)\. Progress: ([\d.]+)%")
_NEW_REPLAYED_TEXT = re.compile(r"Replayed block: slot (\d+) out of (\d+)\.")
_AT_SLOT = re.compile(r"at slot (\d+)\s*$")


def _int_of(value: Any) -> int | None:
    """An integer the node wrote as a number or a string of digits (renderChunkNo writes strings)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _float_of(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if 0.0 <= number <= 100.0 else None


def _parse_new(t: trace_forms.TraceLine) -> LogEvent | None:
    at, ns, data, text, new = t.at, t.ns, t.data, t.text, Tracing.NEW
    if ns == NS_START:
        return LogEvent(at, Kind.START, tracing=new)
    if ns == NS_UNCLEAN:
        return LogEvent(at, Kind.UNCLEAN, tracing=new)
    if ns in (NS_CHUNK, NS_CHUNK_DONE):
        if m := _NEW_CHUNK_TEXT.search(text):
            return LogEvent(at, Kind.CHUNK, float(m.group(3)), chunk=int(m.group(1)), chunks=int(m.group(2)),
                            tracing=new)  # fmt: skip
        if ns == NS_CHUNK:  # P = 100·N/(M+1), ChainDB.hs L2898-2903
            n, last = _int_of(data.get("initialChunk")), _int_of(data.get("finalChunk"))
            if n is None or last is None:
                return None
            return LogEvent(at, Kind.CHUNK, round(_pct(n, last + 1), 2), chunk=n, chunks=last, tracing=new)
        done = _int_of(data.get("chunkNo"))  # 100·(N+1)/(M+1): M from the StartedValidatingChunk before (summarise)
        return None if done is None else LogEvent(at, Kind.CHUNK, None, chunk=done, tracing=new)
    if ns == NS_REPLAY_GENESIS:
        return LogEvent(at, Kind.REPLAY_FROM, 0.0, slot=0, tracing=new)  # slot 0 of the target: 0 %, truly
    if ns == NS_REPLAY_SNAPSHOT:
        m = _AT_SLOT.search(text)
        slot = int(m.group(1)) if m else _slot_of(data.get("tip"))
        return LogEvent(at, Kind.REPLAY_FROM, None, slot=slot, tracing=new)  # its percent: the first replay line
    if ns in (NS_LEDGER_REPLAY, NS_REPLAYED_BLOCK):
        if m := _NEW_REPLAYED_TEXT.search(text):
            slot, goal = int(m.group(1)), int(m.group(2))
            return LogEvent(at, Kind.REPLAYED, _pct(slot, goal), slot=slot, goal=goal, tracing=new)
        progress = _float_of(data.get("progress")) if ns == NS_LEDGER_REPLAY else None
        return None if progress is None else LogEvent(at, Kind.REPLAYED, progress, tracing=new)
    if ns == NS_LGR_OPENED:
        return LogEvent(at, Kind.LGR_OPENED, tracing=new)
    if ns == NS_CHAIN_SEL:
        return LogEvent(at, Kind.CHAIN_SEL, None, tracing=new)
    if ns in (NS_CHAIN_SELECTED, NS_CHAIN_SELECTED_OLD):
        return LogEvent(at, Kind.CHAIN_SELECTED, tracing=new)
    if ns == NS_DB_OPENED:
        return LogEvent(at, Kind.DB_OPENED, tracing=new)
    if ns == NS_SOCKET:
        return LogEvent(at, Kind.SOCKET, tracing=new)
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


def percent_text(percent: float, absolute: bool) -> str:
    """A startup figure as the node counts it, never rounded up to 100 % while the phase goes on: two
    decimals, cut, for an absolute figure (the new tracing's slot over target: a snapshot replay runs
    99.96 → 100 %) from 99 %, and for any figure that would round to 100; whole percent otherwise."""
    near_end = percent < 100.0 and ((absolute and percent >= 99.0) or round(percent) >= 100)
    return f"{math.floor(percent * 100) / 100:.2f}%" if near_end else f"{percent:.0f}%"


@dataclass(frozen=True)
class StartupProgress:
    """One start of the node, from "Started opening Chain DB" on (times are the log's, unix seconds)."""

    started_at: float
    phase: Phase
    percent: float | None  # within the phase, as the node counts it; None where the phase has no figure
    last_event_at: float  # the newest line of this start
    progress_at: float  # when the phase or its percent last moved
    phase_started: tuple[tuple[Phase, float], ...] = field(default=())
    socket_up_at: float | None = None
    full_validation: bool = False  # all chunks validated: the last shutdown was not clean
    tracing: Tracing = Tracing.LEGACY  # the tracing system whose lines told this start
    # The phase's first percentage and when it was read: the new tracing counts a replay in slots over
    # the target, so a replay from a snapshot starts near 99.9 % — rates are measured from here.
    percent_start: float | None = None
    percent_start_at: float | None = None
    replay_from_slot: int | None = None  # the snapshot's slot (0: from genesis); None: not logged
    unobserved: tuple[str, ...] = ()  # what the node's log does not show at its severities, in words
    # The replay's newest replayed slot and its target, where the line gives them (text forms; the new
    # tracing's JSON LedgerReplay carries only the percentage): the figures behind a 99.97 %.
    replay_slot: int | None = None
    replay_goal: int | None = None

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
        """Rough time left in the current phase at its average rate since the phase's first figure
        (0 % at the phase's start where the node counts from there); None when unknown."""
        if self.percent is None or self.percent >= 100:
            return None
        base = 0.0 if self.percent_start is None else self.percent_start
        began = self.percent_start_at if self.percent_start is not None else dict(self.phase_started).get(self.phase)
        if began is None or self.progress_at <= began or self.percent <= base:
            return None
        rate = (self.percent - base) / (self.progress_at - began)
        return max(0.0, (100.0 - self.percent) / rate - (now - self.progress_at))

    def percent_text(self) -> str:
        """The phase's figure (`percent_text`); "" when the phase has no figure."""
        return "" if self.percent is None else percent_text(self.percent, self.tracing is Tracing.NEW)

    def describe(self) -> str:
        """ "replaying ledger 42%", "validating chunks 3% (all chunks: unclean shutdown)", "socket up",
        "replaying ledger 99.97% (slot over target; from a snapshot, first read at 99.95%)"."""
        text = str(self.phase)
        if self.percent is not None and self.phase is not Phase.SOCKET_UP:
            # cut, not rounded: 99.998 % of the target slots is not "100.00%" while the replay goes on
            text += f" {self.percent_text()}"
        if self.full_validation and self.phase is Phase.VALIDATING:
            text += " (all chunks: the last shutdown was not clean)"
        if self.phase is Phase.REPLAYING and self.tracing is Tracing.NEW and self.percent is not None:
            start = self.percent_start
            cut = math.floor(start * 100) / 100 if start is not None else None
            since = f"; from a snapshot, first read at {cut:.2f}%" if cut is not None and self.replay_from_slot != 0 else ""
            text += f" (slot over target{since})"
        if self.phase is Phase.CHAIN_SELECTION and self.unobserved:
            text += " (progress not logged at the shipped severities)"
        return text


@dataclass(frozen=True)
class Startups:
    """The current (newest) start and the newest one that reached the socket (maybe the same)."""

    current: StartupProgress | None = None
    last_completed: StartupProgress | None = None


def _summarise(events: Sequence[LogEvent], unclean: bool = False) -> StartupProgress:
    first = events[0]
    phase = Phase.OPENING
    percent: float | None = None
    base: tuple[float, float] | None = None  # the phase's first (percent, at)
    progress_at = first.at
    marks: list[tuple[Phase, float]] = [(Phase.OPENING, first.at)]
    socket_at: float | None = None
    full = unclean
    replay_from: int | None = None
    chunks: int | None = None
    replay_at: tuple[int, int] | None = None  # the newest replayed (slot, target) of the replay phase
    new = any(ev.tracing is Tracing.NEW for ev in events)
    for ev in events[1:]:
        new_phase = PHASE_OF[ev.kind]
        pct = ev.percent
        if ev.kind is Kind.CHUNK:
            chunks = ev.chunks if ev.chunks is not None else chunks
            if ev.chunk == 0 and (ev.chunks or 0) > 0:
                full = True
            if pct is None and ev.chunk is not None and chunks is not None:  # a JSON ValidatedChunk
                pct = round(_pct(ev.chunk + 1, chunks + 1), 2)
        if ev.kind is Kind.REPLAY_FROM:
            replay_from = ev.slot
        replayed = ev.kind is Kind.REPLAYED and pct is None
        if replayed and ev.slot is not None and ev.goal is not None and replay_from is not None:
            # legacy JSON: the replay's own progress, from its snapshot (unknown without it)
            pct = _pct(ev.slot - replay_from, ev.goal - replay_from)
        slots = (ev.slot, ev.goal) if ev.kind is Kind.REPLAYED and ev.slot is not None and ev.goal is not None else None
        if slots is not None and (replay_at is None or slots[0] > replay_at[0]):
            replay_at = slots
        if ev.kind is Kind.SOCKET and socket_at is None:
            socket_at = ev.at
        if PHASE_ORDER.index(new_phase) > PHASE_ORDER.index(phase):
            phase, percent, progress_at = new_phase, pct, ev.at
            base = None if pct is None else (pct, ev.at)
            marks.append((new_phase, ev.at))
        elif new_phase is phase and pct is not None and (percent is None or pct > percent):
            percent, progress_at = pct, ev.at
            if base is None:
                base = (pct, ev.at)
        elif new_phase is phase and ev.kind is Kind.CHAIN_SELECTED:
            progress_at = ev.at  # the phase moved, though it has no figure
    unobserved = (CHAIN_SELECTION_UNOBSERVED,) if new else ()
    # The phase's first figure is the base of its rate where the figure is absolute: every new-tracing
    # figure, and chunk validation in both systems (chunk N of M: a clean start begins at the last
    # chunk, ~99.99 %). Legacy replay and chain-selection figures count from 0 at the phase's start,
    # so their rate is measured from there, as before.
    relative_legacy = not new and phase is not Phase.VALIDATING
    return StartupProgress(
        started_at=first.at,
        phase=phase,
        percent=percent,
        last_event_at=events[-1].at,
        progress_at=progress_at,
        phase_started=tuple(marks),
        socket_up_at=socket_at,
        full_validation=full,
        tracing=Tracing.NEW if new else Tracing.LEGACY,
        percent_start=None if base is None or relative_legacy else base[0],
        percent_start_at=None if base is None or relative_legacy else base[1],
        replay_from_slot=replay_from,
        unobserved=unobserved,
        replay_slot=None if replay_at is None else replay_at[0],
        replay_goal=None if replay_at is None else replay_at[1],
    )


def summarise(lines: Iterable[str]) -> Startups:
    """Lines of a node's log (any order of starts, noise tolerated) → its newest starts."""
    starts: list[tuple[list[LogEvent], bool]] = []
    unclean = False  # the new tracing logs LastShutdownUnclean just before the start it belongs to
    for line in lines:
        ev = parse_line(line)
        if ev is None:
            continue
        if ev.kind is Kind.UNCLEAN:
            unclean = True
        elif ev.kind is Kind.START:
            starts.append(([ev], unclean))
            unclean = False
        elif starts:
            starts[-1][0].append(ev)
    if not starts:
        return Startups()
    summaries = [_summarise(events, flag) for events, flag in starts]
    completed = next((s for s in reversed(summaries) if s.done), None)
    return Startups(current=summaries[-1], last_completed=completed)
