"""Typed event payloads (roll/events.py): written and read back through the journal file with the
same keys on disk as before the types, and journals of earlier versions still read."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.model import Phase
from orchestrator.roll.events import (
    ConnectionChanged,
    Countdown,
    GateSeen,
    NodePhaseSeen,
    Paused,
    Payload,
    Reconnected,
    Replanned,
    RunEnded,
    why,
)
from orchestrator.roll.interrupt import RunEnd
from orchestrator.roll.journal import Event, Journal, how_it_ended, is_unfinished

CASES: list[tuple[Payload, set[str]]] = [
    (RunEnded(RunEnd.INTERRUPTED, "interrupted by SIGINT", "SIGINT", ("relay1",), ()),
     {"outcome", "reason", "signal", "mid_way", "drained"}),
    (RunEnded(RunEnd.COMPLETED, "completed"), {"outcome", "reason"}),  # no signal, no mid_way: as before
    (Paused("paused before relay2: 0 healthy relay(s)"), {"reason"}),
    (NodePhaseSeen("replaying ledger", None, "replaying ledger"), {"now", "percent", "detail"}),  # percent: null
    (NodePhaseSeen("replaying ledger", 41.5, "replaying ledger 41%, ~2m left"), {"now", "percent", "detail"}),
    (ConnectionChanged("gate", "connection reset by peer"), {"during", "detail"}),
    (Reconnected("write"), {"during"}),
    (Replanned("topology.json changed", ("/opt/cardano/config/topology.json",), "restart",
               {"/opt/cardano/config/topology.json": "--- a\n+++ b\n"}), {"reason", "files", "action", "diffs"}),
]  # fmt: skip


@pytest.mark.parametrize(("payload", "keys"), CASES)
def test_a_payload_is_read_back_from_the_journal_file_as_it_was_written(tmp_path: Path, payload: Payload,
                                                                        keys: set[str]) -> None:  # fmt: skip
    journal = Journal(tmp_path, "run1", wall=lambda: 1_700_000_000.0)
    journal.note("relay1", payload)
    (event,) = Journal.read(journal.path)
    assert event.phase is payload.phase and event.at == 1_700_000_000.0  # stamped on the injected wall clock
    assert set(event.data) == keys
    assert type(payload).of(event) == payload  # type: ignore[attr-defined]


def test_live_view_payloads_make_their_events() -> None:
    seen = GateSeen("replaying ledger 63%", 4000, "tip within 20 slots", "replaying ledger:6")
    assert GateSeen.of(seen.event(5.0, "relay1")) == seen and seen.event(5.0, "relay1").phase is Phase.GATE_SAMPLE
    countdown = Countdown(12.5, "2026-12-05 19:00:00 UTC")
    assert Countdown.of(countdown.event(5.0, "bp1")) == countdown


def test_a_journal_of_an_earlier_version_still_reads() -> None:
    """Ends without `outcome` (the reason says it), and an unknown outcome, are read, not refused."""
    old = Event(1.0, "*", Phase.RUN_ENDED, {"reason": "stopped in stage relays: 1 of 2 host(s) failed"})
    assert RunEnded.of(old).outcome is None and how_it_ended([old]).startswith("stopped in stage relays")
    assert not is_unfinished([Event(0.5, "*", Phase.RUN_STARTED, {}), old])
    killed = [Event(0.5, "*", Phase.RUN_STARTED, {}),
              Event(1.0, "*", Phase.RUN_ENDED, {"outcome": "interrupted", "signal": "SIGTERM", "reason": "x"})]
    assert is_unfinished(killed) and how_it_ended(killed).startswith("interrupted by SIGTERM at ")
    assert ConnectionChanged.of(Event(1.0, "relay1", Phase.RECONNECTED, {"during": "soak"})) == Reconnected("soak")


def test_why_reads_the_reason_else_the_detail() -> None:
    assert why(Event(1.0, "relay1", Phase.FAILED, {"reason": "gate: tip stalled"})) == "gate: tip stalled"
    assert why(Event(1.0, "relay1", Phase.STAGE_FAILED, {"detail": "sha256 mismatch"})) == "sha256 mismatch"
