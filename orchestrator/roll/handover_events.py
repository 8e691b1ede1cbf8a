"""Typed payloads of the block producer handover's journal (roll/handover.py), in roll/events.py's
style: one frozen dataclass per kind of event, written with `data()` and read back with `of(event)`.

They are journaled on the pool's *original* producer (the host that forged when the handover began),
so that `--resume` finds a pool's handover by that name whatever host forges now. They hold host
names, steps, credential *paths* (never a file's content: the tool never opens a pool key) and words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from orchestrator.model import Phase
from orchestrator.roll.events import Event, Payload, _text
from orchestrator.roll.events import _names as _paths  # a list of strings on disk, read back as a tuple


@dataclass(frozen=True)
class HandoverStepped(Payload):
    """The handover entered `step` (journaled before the step acts, so that a kill inside it is
    known to have possibly done it). `preferred`: the host that should forge if the handover stops
    now (the original until the standby is proven forging). The credential paths are those the two
    nodes' command lines name, recorded at the precheck (a resume renames the same files)."""

    phase: ClassVar[Phase] = Phase.HANDOVER_STEP
    step: str
    active: str
    standby: str
    preferred: str
    detail: str | None = None
    active_paths: tuple[str, ...] | None = None
    standby_paths: tuple[str, ...] | None = None

    @classmethod
    def of(cls, event: Event) -> HandoverStepped:
        d = event.data
        return cls(_text(d, "step") or "", _text(d, "active") or "", _text(d, "standby") or "",
                   _text(d, "preferred") or _text(d, "active") or "", _text(d, "detail"),
                   _paths(d, "active_paths"), _paths(d, "standby_paths"))  # fmt: skip


@dataclass(frozen=True)
class ForgersSeen(Payload):
    """An observation: what the samples of both producers showed (roll/handover.py Forging), when it
    changed, and during which step."""

    phase: ClassVar[Phase] = Phase.FORGERS_SEEN
    during: str
    active: str
    active_forging: str
    standby: str
    standby_forging: str

    @classmethod
    def of(cls, event: Event) -> ForgersSeen:
        d = event.data
        return cls(_text(d, "during") or "", _text(d, "active") or "", _text(d, "active_forging") or "",
                   _text(d, "standby") or "", _text(d, "standby_forging") or "")  # fmt: skip


@dataclass(frozen=True)
class HandoverEnded(Payload):
    """How the handover ended (roll/handover.py Ending), which host forges (None: none proven, the
    operator must act), why, and the measured forging gap (seconds from the active producer's SIGHUP
    to the first leadership check seen on the standby; None: no gap was opened or it was not closed)."""

    phase: ClassVar[Phase] = Phase.HANDOVER_ENDED
    ending: str
    forger: str | None
    reason: str
    gap_seconds: float | None = None

    @classmethod
    def of(cls, event: Event) -> HandoverEnded:
        d = event.data
        gap = d.get("gap_seconds")
        return cls(_text(d, "ending") or "", _text(d, "forger"), _text(d, "reason") or "",
                   float(gap) if isinstance(gap, (int, float)) and not isinstance(gap, bool) else None)  # fmt: skip
