"""The gate's policy: how a host is judged back in sync after its change, decided at plan time.

The sync_gate step's arguments (`SyncGateArgs`, actions/sync_gate.py) become a `GatePolicy`; the
planner, the run spec and the engine read it. The gate that applies it lives in roll/gates.py.
GatePolicy's defaults are the only ones: SyncGateArgs takes each of its defaults from here, and a unit
test keeps roles/sync_gate/defaults.yml equal to them.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.cardano.health import IN_SYNC_SLOTS, MIN_HOT_PEERS
from orchestrator.facts.clock import MAX_CLOCK_SKEW_SECONDS

# The defaults (roles/sync_gate/defaults.yml documents why each value was chosen).
SOAK_SECONDS = 60.0
STALL_SECONDS = 300.0
TIMEOUT_FLOOR_SECONDS = 3600.0
TIMEOUT_START_MULTIPLE = 3.0


POLL_SECONDS = 10.0  # the gate samples a host this often (role sync_gate sync_poll_seconds; docs/playbooks.md)


@dataclass(frozen=True)
class GatePolicy:
    """Seconds throughout. `overall_timeout` None: derived per host (overall_timeout_for)."""

    max_slot_lag: int = IN_SYNC_SLOTS
    interval: float = POLL_SECONDS
    stall_timeout: float = STALL_SECONDS
    overall_timeout: float | None = None
    min_hot_peers: int = MIN_HOT_PEERS  # sync_gate's min_hot_peers (P2P only: a non-P2P node reports none)
    soak_seconds: float = SOAK_SECONDS  # after the gate passes, in sync must hold this long (a crash loop shows)
    max_clock_skew: float = MAX_CLOCK_SKEW_SECONDS  # a host clock further off is refused at plan time


__all__ = ["POLL_SECONDS", "SOAK_SECONDS", "STALL_SECONDS", "TIMEOUT_FLOOR_SECONDS", "TIMEOUT_START_MULTIPLE", "GatePolicy"]
