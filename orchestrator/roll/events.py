"""Typed payloads of the events someone reads back: the console (live view and progress lines), the
run's end (`how_it_ended`, `--resume`, the interrupted report). One frozen dataclass per kind of
event, written with `data()` and read with `of(event)`, so no reader picks keys out of a dict.

The keys on disk are the field names, as they were before these types: journals written by earlier
versions read the same. A field whose default is None is written only when set (as before: an
uninterrupted end has no `signal`). The host's own state for a resume (what `backed_up` records) is
roll/host_run.py HostState.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any, ClassVar

from orchestrator.model import Phase
from orchestrator.roll.interrupt import RunEnd


@dataclass(frozen=True)
class Event:
    """One journal line (or a live-view event): when (unix seconds), which host ("*": the run), the
    phase, and its payload as it is on disk (typed by the classes below where someone reads it)."""

    at: float
    host: str
    phase: Phase
    data: dict[str, Any] = field(default_factory=dict)


def _on_disk(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple):
        return [_on_disk(v) for v in value]
    return value


class Payload:
    """Base of the typed payloads: `phase` (or `phases`) names the events it types."""

    phase: ClassVar[Phase]

    def data(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if value is None and f.default is None:
                continue
            out[f.name] = _on_disk(value)
        return out

    def event(self, at: float, host: str) -> Event:
        """The live-view event (never journaled) of this payload."""
        return Event(at, host, self.phase, self.data())


def _text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return None if value is None else str(value)


def _float(data: Mapping[str, Any], key: str) -> float | None:
    value = data.get(key)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _names(data: Mapping[str, Any], key: str) -> tuple[str, ...] | None:
    value = data.get(key)
    return tuple(str(v) for v in value) if isinstance(value, list) else None


@dataclass(frozen=True)
class RunEnded(Payload):
    """How a run (or one attempt of it) ended. `mid_way`/`drained`: hosts an interrupt left between two
    ends / out of rotation (journaled only by an interrupted or aborted end)."""

    phase: ClassVar[Phase] = Phase.RUN_ENDED
    outcome: RunEnd | None
    reason: str
    signal: str | None = None
    mid_way: tuple[str, ...] | None = None
    drained: tuple[str, ...] | None = None

    @classmethod
    def of(cls, event: Event) -> RunEnded:
        d = event.data
        try:
            outcome: RunEnd | None = RunEnd(str(d.get("outcome")))
        except ValueError:  # a journal from before `outcome`, or an unknown one: the reason says it
            outcome = None
        return cls(outcome, _text(d, "reason") or "ended", _text(d, "signal"), _names(d, "mid_way"),
                   _names(d, "drained"))  # fmt: skip


@dataclass(frozen=True)
class Paused(Payload):
    """The run paused (min_healthy, the canary's approval): why, in words."""

    phase: ClassVar[Phase] = Phase.PAUSED
    reason: str

    @classmethod
    def of(cls, event: Event) -> Paused:
        return cls(_text(event.data, "reason") or "")


@dataclass(frozen=True)
class GateSeen(Payload):
    """One gate or soak sample, for the live view only (never journaled): the host's state in words,
    what the gate waits for, and the startup phase with its progress in tens of percent."""

    phase: ClassVar[Phase] = Phase.GATE_SAMPLE
    state: str
    lag: int | None = None  # slots behind the wall-clock slot
    waiting_for: str | None = None
    progress_step: str | None = None  # "<phase>:<tens of percent>"

    @classmethod
    def of(cls, event: Event) -> GateSeen:
        d = event.data
        lag = d.get("lag")
        return cls(_text(d, "state") or "", lag if isinstance(lag, int) else None, _text(d, "waiting_for"),
                   _text(d, "progress_step"))  # fmt: skip


@dataclass(frozen=True)
class Countdown(Payload):
    """A block producer waiting for its restart window (live view only): seconds left, and when (UTC)."""

    phase: ClassVar[Phase] = Phase.WINDOW_COUNTDOWN
    seconds_left: float
    until: str

    @classmethod
    def of(cls, event: Event) -> Countdown:
        return cls(_float(event.data, "seconds_left") or 0.0, _text(event.data, "until") or "")


@dataclass(frozen=True)
class NodePhaseSeen(Payload):
    """An observation: the node's startup phase changed (its log), with its progress and the gate's words."""

    phase: ClassVar[Phase] = Phase.NODE_PHASE
    now: str
    percent: float | None
    detail: str

    @classmethod
    def of(cls, event: Event) -> NodePhaseSeen:
        d = event.data
        return cls(_text(d, "now") or "", _float(d, "percent"), _text(d, "detail") or "")


@dataclass(frozen=True)
class ConnectionChanged(Payload):
    """An observation: SSH to the host dropped (`lost`) or answers again, during which step, and why."""

    lost: ClassVar[bool] = True
    phase: ClassVar[Phase] = Phase.CONNECTION_LOST
    during: str
    detail: str | None = None

    @classmethod
    def of(cls, event: Event) -> ConnectionChanged:
        kind = ConnectionChanged if event.phase is Phase.CONNECTION_LOST else Reconnected
        return kind(_text(event.data, "during") or "", _text(event.data, "detail"))


@dataclass(frozen=True)
class Reconnected(ConnectionChanged):
    lost: ClassVar[bool] = False
    phase: ClassVar[Phase] = Phase.RECONNECTED


@dataclass(frozen=True)
class Replanned(Payload):
    """A host's file changed since the plan and it was planned again: why, its files, its action, and
    the new diffs (path → unified diff) that will be written instead of the approved ones."""

    phase: ClassVar[Phase] = Phase.REPLANNED
    reason: str
    files: tuple[str, ...]
    action: str
    diffs: Mapping[str, str]

    @classmethod
    def of(cls, event: Event) -> Replanned:
        d = event.data
        diffs = d.get("diffs")
        return cls(_text(d, "reason") or "", _names(d, "files") or (), _text(d, "action") or "",
                   {str(k): str(v) for k, v in diffs.items()} if isinstance(diffs, dict) else {})  # fmt: skip

    def data(self) -> dict[str, Any]:
        return {"reason": self.reason, "files": list(self.files), "action": self.action, "diffs": dict(self.diffs)}


# The steps that stop or hold a host, whose journal entry says why (`reason`, or `detail` for staging).
WHY_PHASES = frozenset({Phase.FAILED, Phase.ROLLING_BACK, Phase.ROLLBACK_FAILED, Phase.STAGE_FAILED, Phase.LEADER_WAIT,
                        Phase.DEFERRED, Phase.DRAIN_FAILED, Phase.RETURN_FAILED, Phase.LEFT_UNTOUCHED,
                        Phase.LEDGER_NOT_RESTORED, Phase.LEDGER_ABSENT})  # fmt: skip


def why(event: Event) -> str | None:
    """The words a stopping or holding step journaled (WHY_PHASES): its `reason`, else its `detail`."""
    return _text(event.data, "reason") or _text(event.data, "detail")


def was_resumed(event: Event) -> bool:
    """The step was journaled by `run --resume` (roll/host_run.py marks each of its steps)."""
    return event.data.get("resumed") is True
