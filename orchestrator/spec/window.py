"""A block producer's restart guard: its leader schedule, its KES, and the settings of the window.

Why: a producer that is down at its leader slot loses that block; one whose operational
certificate is about to expire must have its KES key rotated, which a restart does not do. The
planner builds a `LeaderGuard` per producer from its facts (the schedule and the
remainingKESPeriods metric, read once by the probe) and the restart_node step's settings; the
engine asks it, just before it touches the host, whether the restart may begin now, must wait for
a leader slot to pass, or must not happen (deferred, or refused for KES).

The schedule is sensitive (it tells an attacker when the pool is due to forge): the guard keeps its
slots in memory only (`repr=False`); what it says to plans, journals and reports is the decision
(next slot time, window open or not), never the list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from orchestrator.cardano.leader_schedule import (
    KesCheck,
    KesVerdict,
    LeaderSlot,
    RestartWindow,
    WindowVerdict,
    kes_check,
    next_leader_slot,
    restart_window,
)
from orchestrator.cardano.leader_schedule import span_text as _span

# Defaults of the restart_node step, the only ones (RestartNodeArgs takes them from WindowSettings;
# roles/sync_gate/defaults.yml documents each one, and a unit test keeps it equal to them).
MARGIN_SECONDS = 120.0  # the node must be back this long before its next leader slot
SETTLE_SECONDS = 30.0  # after a leader slot, time for its block to be forged and sent
MAX_WAIT_SECONDS = 3600.0  # longest wait for a window before the producer is deferred
KES_REFUSE_RESTART_PERIODS = 3  # refuse a restart at or below this many KES periods left (3 x 36 h)
# A producer whose log shows no complete start: a mainnet restart takes 2.5-5 min (sync_gate's
# defaults), so assume the long end rather than a figure that would open windows too small.
UNKNOWN_DOWNTIME_SECONDS = 600.0


@dataclass(frozen=True)
class WindowSettings:
    """The restart window's settings, seconds (KES: periods); see the defaults above."""

    margin_seconds: float = MARGIN_SECONDS
    settle_seconds: float = SETTLE_SECONDS
    max_wait_seconds: float = MAX_WAIT_SECONDS
    kes_refuse_restart_periods: int = KES_REFUSE_RESTART_PERIODS


def utc_text(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass(frozen=True)
class LeaderGuard:
    """What a producer's restart must respect.

    `source`: where the schedule came from ("blocklog /path", "file /path", "command"), None when
    no `leader_schedule` is configured (then every window is open and the plan says a restart may
    cost a block). `downtime_seconds`: the host's last measured start (None: unknown, and
    UNKNOWN_DOWNTIME_SECONDS is assumed).
    """

    settings: WindowSettings
    source: str | None
    kes: KesCheck
    downtime_seconds: float | None
    slots: tuple[LeaderSlot, ...] = field(default=(), repr=False)

    @property
    def downtime(self) -> float:
        return self.downtime_seconds if self.downtime_seconds is not None else UNKNOWN_DOWNTIME_SECONDS

    @property
    def configured(self) -> bool:
        return self.source is not None

    def window(self, now: float, max_wait_seconds: float | None = None) -> RestartWindow:
        """The restart window at `now` (unix seconds); `max_wait_seconds` defaults to the setting."""
        s = self.settings
        wait = s.max_wait_seconds if max_wait_seconds is None else max_wait_seconds
        return restart_window(self.slots, now, downtime_seconds=self.downtime, margin_seconds=s.margin_seconds,
                              settle_seconds=s.settle_seconds, max_wait_seconds=max(0.0, wait))  # fmt: skip

    def next_slot(self, now: float) -> LeaderSlot | None:
        return next_leader_slot(self.slots, now)

    def summary(self, now: float) -> str:
        """One line for `plan`: next leader slot, expected downtime, the window now, KES."""
        down = (f"expected downtime ~{_span(self.downtime)}" if self.downtime_seconds is not None
                else f"expected downtime unknown (assuming {_span(self.downtime)})")  # fmt: skip
        kes = (f"the run would refuse it: {self.kes.reason}" if self.kes.verdict is KesVerdict.EXPIRING
               else f"KES: {self.kes.reason}")  # fmt: skip
        if not self.configured:
            return f"no leader schedule: a restart may cost a block; {down}; {kes}"
        nxt = self.next_slot(now)
        slot = f"next leader slot at {utc_text(nxt.at)} (in {_span(nxt.at - now)})" if nxt else "no leader slot ahead"
        w = self.window(now)
        window = {WindowVerdict.OPEN: "window open now", WindowVerdict.WAIT: f"window closed now: {w.reason}",
                  WindowVerdict.DEFERRED: f"no window: the run would leave it untouched ({w.reason})"}[w.verdict]  # fmt: skip
        return f"{slot}; {down}; {window}; {kes}"

    def as_json(self, now: float) -> dict[str, Any]:
        """The decision only (stable keys for `plan --json`): never the schedule itself."""
        nxt = self.next_slot(now) if self.configured else None
        w = self.window(now) if self.configured else None
        return {
            "schedule": self.source,
            "next_slot_time": None if nxt is None else datetime.fromtimestamp(nxt.at, tz=UTC).isoformat(),
            "window": None if w is None else str(w.verdict),
            "window_reason": "no leader schedule: a restart may cost a block" if w is None else w.reason,
            "restart_at": None if w is None or w.start is None else datetime.fromtimestamp(w.start, tz=UTC).isoformat(),
            "expected_downtime_seconds": self.downtime,
            "downtime_measured": self.downtime_seconds is not None,
            "margin_seconds": self.settings.margin_seconds,
            "settle_seconds": self.settings.settle_seconds,
            "max_wait_seconds": self.settings.max_wait_seconds,
            "kes": {"verdict": str(self.kes.verdict), "remaining_periods": self.kes.remaining_periods,
                    "refuse_restart_periods": self.settings.kes_refuse_restart_periods, "reason": self.kes.reason},
        }  # fmt: skip


def build_guard(
    settings: WindowSettings,
    *,
    source: str | None,
    slots: tuple[LeaderSlot, ...],
    remaining_kes_periods: int | None,
    downtime_seconds: float | None,
) -> LeaderGuard:
    return LeaderGuard(settings, source, kes_check(remaining_kes_periods, settings.kes_refuse_restart_periods), downtime_seconds,
                       slots)  # fmt: skip


__all__ = ["KES_REFUSE_RESTART_PERIODS", "MARGIN_SECONDS", "MAX_WAIT_SECONDS", "SETTLE_SECONDS", "UNKNOWN_DOWNTIME_SECONDS",
           "KesVerdict", "LeaderGuard", "WindowSettings", "build_guard", "utc_text"]  # fmt: skip
