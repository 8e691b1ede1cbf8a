"""A block producer's leader schedule as the operator keeps it, and the restart window it leaves.

Why: a block producer that is down at one of its leader slots loses that block. A restart costs the
node's start-up (minutes on mainnet: the ledger replay), so a restart must fit *between* leader
slots. Computing the schedule needs the pool's VRF signing key, which this tool never reads; it
reads what the operator already keeps instead:

- the JSON that `cardano-cli query leadership-schedule --output-json` prints: a list, sorted by
  slot, of `{"slotNumber": N, "slotTime": "2024-03-19T10:41:11Z"}` (Aeson's UTCTime), or
  `{"slotNumber": N, "error": "..."}` for a slot the cli could not convert to a time (cardano-cli's
  query command, `showLeadershipSlot`: `epochInfoSlotToUTCTime`, else the error);
- guild-operators' blocklog database: `cncli.sh leaderlog` (scripts/cnode-helper-scripts/cncli.sh,
  `createBlocklogDB`) creates `blocklog(id, slot, at, epoch, block, slot_in_epoch, hash, size,
  status)` and inserts each of `cncli leaderlog --tz UTC`'s `assignedSlots[].at` (RFC 3339 with an
  offset, e.g. `2024-03-19T10:41:11+00:00`; cncli's USAGE.md shows `-08:00` without `--tz UTC`)
  with status `leader`; gLiveView shows the next one as
  `SELECT at FROM blocklog WHERE datetime(at) > datetime('now') ORDER BY slot ASC LIMIT 1`.
  The probe reads it read-only (sqlite `mode=ro`) and prints `slot|at` lines.

Everything here is pure: times are unix seconds, durations seconds, slots absolute slot numbers.
The schedule is sensitive (it tells an attacker when to strike): callers keep only the decision
(next slot time, window open or not), never the list.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from orchestrator.cardano.health import ParseError
from orchestrator.cardano.networks import Network


@dataclass(frozen=True, order=True)
class LeaderSlot:
    """One slot the pool is elected to forge in: when (unix seconds) and which slot."""

    at: float
    slot: int


def slot_time(network: Network, slot: int) -> float:
    """Unix time (seconds) at which a Shelley-era slot starts on `network` (1 s slots since Shelley).

    Source: the network's Shelley genesis `systemStart` and its era boundary (docs §4); the inverse
    of `Network.expected_slot`.
    """
    return float(network.shelley_start_unix + (slot - network.shelley_slot_offset))


def _iso_to_unix(text: str, where: str) -> float:
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ParseError(f"{where}: {text!r} is not an ISO-8601 time") from None
    if moment.tzinfo is None:
        raise ParseError(f"{where}: {text!r} has no time zone (expected UTC, e.g. ...Z or +00:00)")
    return moment.timestamp()


def parse_cli_schedule(text: str, network: Network | None = None) -> tuple[LeaderSlot, ...]:
    """`cardano-cli query leadership-schedule --output-json` → slots in time order.

    `slotTime` is used when present; otherwise the time is computed from `slotNumber` and the
    network's genesis (so a file written by an older cli without times still works).
    Raises ParseError naming the entry that is not of that shape.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"leader schedule is not JSON: {exc.msg} (line {exc.lineno})") from None
    if not isinstance(data, list):
        raise ParseError("leader schedule: expected a JSON list of {slotNumber, slotTime}")
    slots: list[LeaderSlot] = []
    for i, entry in enumerate(data):
        where = f"leader schedule entry {i}"
        if not isinstance(entry, dict) or not isinstance(entry.get("slotNumber"), int):
            raise ParseError(f"{where}: expected an object with an integer slotNumber")
        slot = int(entry["slotNumber"])
        when = entry.get("slotTime")
        if isinstance(when, str):
            at = _iso_to_unix(when, where)
        elif network is not None:
            at = slot_time(network, slot)
        else:
            raise ParseError(f"{where}: no slotTime, and no network to compute it from")
        slots.append(LeaderSlot(at, slot))
    return tuple(sorted(slots))


def parse_blocklog_rows(text: str) -> tuple[LeaderSlot, ...]:
    """`slot|at` lines (the probe's read-only query of guild's blocklog.db) → slots in time order.

    Raises ParseError naming the line that is not `INTEGER|ISO-8601`.
    """
    slots: list[LeaderSlot] = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        slot_text, sep, at_text = line.partition("|")
        if not sep or not slot_text.strip().isdigit():
            raise ParseError(f"blocklog row {n}: expected 'slot|at', got {line[:80]!r}")
        slots.append(LeaderSlot(_iso_to_unix(at_text, f"blocklog row {n}"), int(slot_text)))
    return tuple(sorted(slots))


def next_leader_slot(slots: Iterable[LeaderSlot], now: float) -> LeaderSlot | None:
    """The first leader slot at or after `now` (unix seconds), or None."""
    return next((s for s in sorted(slots) if s.at >= now), None)


class WindowVerdict(StrEnum):
    OPEN = "open"  # restart now: the next leader slot is far enough ahead
    WAIT = "wait"  # a window opens after a leader slot within the wait limit
    DEFERRED = "deferred"  # no window within the wait limit: leave the producer untouched


@dataclass(frozen=True)
class RestartWindow:
    """When a block producer may be restarted without missing a leader slot.

    `start` is the earliest unix time a restart may begin (== now when OPEN); `next_slot` the
    first leader slot at or after that start (None: none known). `reason` is one sentence that
    names times, never the schedule.
    """

    verdict: WindowVerdict
    start: float | None
    next_slot: LeaderSlot | None
    reason: str


def _utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def restart_window(
    slots: Sequence[LeaderSlot],
    now: float,
    *,
    downtime_seconds: float,
    margin_seconds: float,
    settle_seconds: float,
    max_wait_seconds: float,
) -> RestartWindow:
    """The earliest time ≥ now at which a restart fits between leader slots.

    A restart starting at t is allowed when no leader slot falls in (t − settle, t + downtime +
    margin): the node is back before the next slot with `margin` to spare, and the block of a slot
    just past has had `settle` seconds to be forged and sent. Candidates are now and each slot's
    time + settle. A start later than now + max_wait is DEFERRED.
    """
    need = downtime_seconds + margin_seconds
    ordered = sorted(s for s in slots if s.at > now - settle_seconds)

    def blocked_by(t: float) -> LeaderSlot | None:
        return next((s for s in ordered if t - settle_seconds < s.at < t + need), None)

    candidates = [now, *(s.at + settle_seconds for s in ordered if s.at + settle_seconds > now)]
    for t in candidates:
        if t > now + max_wait_seconds:
            break
        if blocked_by(t) is None:
            upcoming = next_leader_slot(ordered, t)
            if t == now:
                ahead = f"next leader slot at {_utc(upcoming.at)}" if upcoming else "no leader slot known ahead"
                return RestartWindow(WindowVerdict.OPEN, now, upcoming, f"window open: {ahead}")
            return RestartWindow(
                WindowVerdict.WAIT, t, upcoming,
                f"waiting {t - now:.0f} s for the leader slot at {_utc(t - settle_seconds)} to pass "
                f"(restart needs {need:.0f} s clear)",
            )  # fmt: skip
    first = next_leader_slot(ordered, now)
    reason = (f"next leader slots from {_utc(first.at) if first else '?'} leave no window of "
              f"{span_text(need)} within {span_text(max_wait_seconds)}")  # fmt: skip
    if need > LONG_RESTART_SECONDS:  # a ledger replay: no wait setting will find a gap that long
        reason += (f"; a restart of {span_text(need)} (a ledger replay) rarely fits between a producer's leader "
                   "slots: a standby producer that takes over forging avoids it (docs/handover.md; not yet part of "
                   "`run`), else plan the producer's upgrade for a time you accept missing its slots")  # fmt: skip
    return RestartWindow(WindowVerdict.DEFERRED, None, first, reason)


# A restart longer than this is a ledger replay (cardano/crossing.py), not a start: said as such when
# it is deferred (seconds; a mainnet start from a snapshot takes minutes, cardano-node#5884).
LONG_RESTART_SECONDS = 2 * 3600.0


def span_text(seconds: float) -> str:
    """A duration as an operator reads it: "45 s", "4.5 min", "10 h" (one decimal at most)."""
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{round(seconds / 60, 1):g} min"
    return f"{round(seconds / 3600, 1):g} h"


class ScheduleSource(StrEnum):
    """Where the `leader_schedule` variable says a block producer's schedule is kept."""

    BLOCKLOG = "blocklog"  # guild-operators' blocklog.db (SQLite), read with mode=ro
    FILE = "file"  # the JSON of `cardano-cli query leadership-schedule --output-json`, kept by a cron job
    COMMAND = "command"  # opt-in: a command the operator names, printing that JSON (memory: see docs)


_SETTING_KEYS = {ScheduleSource.BLOCKLOG: "path", ScheduleSource.FILE: "path", ScheduleSource.COMMAND: "command"}


def check_schedule_setting(value: object) -> str | None:
    """Why a `leader_schedule` value is unusable (one sentence), or None when it is well formed.

    Accepted: `{source: blocklog, path: /abs/blocklog.db}`, `{source: file, path: /abs/schedule.json}`,
    `{source: command, command: "..."}`; nothing else (no unknown keys: a typo must not be ignored).
    """
    if not isinstance(value, Mapping):
        return "leader_schedule must be a mapping {source: blocklog|file|command, path: ... | command: ...}"
    source = value.get("source")
    if source not in tuple(ScheduleSource):
        return (f"leader_schedule: unknown source {source!r}; expected one of "
                f"{', '.join(s.value for s in ScheduleSource)}")  # fmt: skip
    key = _SETTING_KEYS[ScheduleSource(source)]
    extra = sorted(set(value) - {"source", key})
    if extra:
        return f"leader_schedule (source {source}) takes only '{key}', not {', '.join(repr(k) for k in extra)}"
    given = value.get(key)
    if not isinstance(given, str) or not given.strip():
        return f"leader_schedule (source {source}) needs '{key}' (a non-empty string)"
    if key == "path" and not given.startswith("/"):
        return f"leader_schedule path must be absolute, not {given!r}"
    if key == "path" and given.lower().endswith(_KEY_SUFFIXES):
        return f"leader_schedule path {given!r} names a key or certificate file: the tool never reads pool keys"
    return None


# Pool key files as cardano-cli and guild's CNTools name them (never read, whatever the setting says).
_KEY_SUFFIXES = (".skey", ".vkey", ".cert", ".counter", ".opcert")


REMAINING_KES_METRIC = "cardano_node_metrics_remainingKESPeriods_int"


class KesVerdict(StrEnum):
    OK = "ok"
    EXPIRING = "expiring"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class KesCheck:
    verdict: KesVerdict
    remaining_periods: int | None
    remaining_seconds: float | None
    reason: str


KES_PERIOD_SECONDS = 129600  # slotsPerKESPeriod × slotLength in the mainnet, preprod and preview Shelley genesis


def kes_check(remaining_periods: int | None, threshold_periods: int) -> KesCheck:
    """Is the operational certificate's KES far enough from expiry to restart (or pass an audit)?

    `remaining_periods` is REMAINING_KES_METRIC, `max 0 (oCertExpiryKesPeriod - currKesPeriod)`
    (cardano-node 8.9.0, the forge-state metrics of Cardano.Tracing.Tracers and
    Cardano.Node.Tracing.Tracers.Consensus; None: the node does not export it). A restart does
    not renew a certificate: a producer at or below the threshold needs a KES rotation first. One
    KES period is 129600 s (36 h) on every public network.
    """
    if remaining_periods is None:
        return KesCheck(KesVerdict.UNKNOWN, None, None, "remaining KES periods unknown (no remainingKESPeriods metric)")
    seconds = remaining_periods * KES_PERIOD_SECONDS
    days = seconds / 86400
    if remaining_periods <= threshold_periods:
        return KesCheck(
            KesVerdict.EXPIRING, remaining_periods, seconds,
            f"KES expires in {remaining_periods} period(s) (~{days:.1f} days), at or below the threshold of "
            f"{threshold_periods}: rotate the KES key and operational certificate first",
        )  # fmt: skip
    return KesCheck(KesVerdict.OK, remaining_periods, seconds, f"{remaining_periods} KES period(s) left (~{days:.1f} days)")
