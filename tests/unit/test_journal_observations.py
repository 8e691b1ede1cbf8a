"""Phase observations in the journal never change how far a resume thinks a host got."""

from __future__ import annotations

from orchestrator.roll.host_run import HostState
from orchestrator.roll.journal import Event, last_phases


def test_node_phase_events_are_not_rollout_steps() -> None:
    events = [
        Event(1.0, "relay2", "backed_up", {"existed": {"/c": True}, "old_version": "8.7.3"}),
        Event(2.0, "relay2", "restarted", {}),
        Event(3.0, "relay2", "node_phase", {"now": "replaying ledger", "percent": 40.0, "detail": "replaying 40%"}),
        Event(4.0, "*", "paused", {"reason": "x"}),
    ]
    assert last_phases(events)["relay2"].phase == "restarted"
    state = HostState.from_journal(events, "relay2")  # the node phase's keys (now, percent, detail) are not state
    assert (state.existed, state.old_version, state.target_version) == ({"/c": True}, "8.7.3", None)
