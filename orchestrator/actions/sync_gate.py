"""sync_gate: how a host is judged after its change, before the rollout moves on (and after a rollback).

Service active, the expected version, tip within `max_slot_lag` slots of the wall-clock slot and
advancing, at least `min_hot_peers` hot peers (a block producer: only its own relays). The gate's
sampling and time limits are GatePolicy's (spec/gate.py; the gate itself is roll/gates.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.actions.base import Action, HostDraft, PlanContext, Slot, number, spec, whole
from orchestrator.cardano.health import IN_SYNC_SLOTS, MIN_HOT_PEERS
from orchestrator.facts.clock import MAX_CLOCK_SKEW_SECONDS
from orchestrator.spec.gate import POLL_SECONDS, SOAK_SECONDS, STALL_SECONDS, TIMEOUT_FLOOR_SECONDS, GatePolicy


@dataclass(frozen=True)
class SyncGate:
    policy: GatePolicy

    def plan(self, ctx: PlanContext, draft: HostDraft) -> None:
        draft.gate = self.policy


def parse(args: Mapping[str, Any]) -> SyncGate:
    # "auto" (the role's default): each host's cap follows from its last measured start (roll.gates)
    auto = str(args.get("timeout_seconds", "auto")).strip().lower() in ("auto", "", "none")
    timeout = None if auto else number(args, "timeout_seconds", TIMEOUT_FLOOR_SECONDS)
    stall = number(args, "stall_seconds", STALL_SECONDS)
    return SyncGate(GatePolicy(
        max_slot_lag=whole(args, "max_slot_lag", IN_SYNC_SLOTS),
        interval=number(args, "poll_seconds", POLL_SECONDS),
        overall_timeout=timeout,
        stall_timeout=stall if timeout is None else min(timeout, stall),
        min_hot_peers=whole(args, "min_hot_peers", MIN_HOT_PEERS),
        soak_seconds=number(args, "soak_seconds", SOAK_SECONDS),
        max_clock_skew=number(args, "max_clock_skew_seconds", MAX_CLOCK_SKEW_SECONDS),
    ))  # fmt: skip


ACTION = Action(
    spec("sync_gate", ["max_slot_lag", "timeout_seconds"],
         ["min_hot_peers", "poll_seconds", "stall_seconds", "soak_seconds", "max_clock_skew_seconds"],
         doc="wait until the tip is within max_slot_lag of the wall-clock slot with min_hot_peers hot peers; "
             "replay progress in the node's log counts as progress; fail after stall_seconds without any "
             "progress, or after timeout_seconds (auto: 3 x the host's last start, at least 3600 s); then "
             "in sync must hold for soak_seconds (a node that dies meanwhile fails and is rolled back); "
             "a host whose clock is more than max_clock_skew_seconds off the control machine's is refused"),
    Slot.GATE,
    parse,
)  # fmt: skip
