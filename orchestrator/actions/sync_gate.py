"""sync_gate: how a host is judged after its change, before the rollout moves on (and after a rollback).

Service active, the expected version, tip within `max_slot_lag` slots of the wall-clock slot and
advancing, at least `min_hot_peers` hot peers (a block producer: only its own relays). The gate's
sampling and time limits are GatePolicy's (spec/gate.py; the gate itself is roll/gates.py).

The arguments are declared once, in `SyncGateArgs`: the loader's spec, the parser, the plan JSON's
gate keys and the role's settings (tests/unit/test_action_args.py) all follow from its fields. Each
default is GatePolicy's (the leaf module the engine reads), so a setting has one default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from orchestrator.actions.base import (
    Action,
    HostDraft,
    Operation,
    PlanContext,
    Slot,
    arg,
    args_spec,
    parse_args,
    seconds_or_auto,
)
from orchestrator.spec.gate import GatePolicy

_DEFAULT = GatePolicy()


@dataclass(frozen=True)
class SyncGateArgs:
    """sync_gate's arguments (seconds throughout); `policy` names the GatePolicy field each one sets."""

    max_slot_lag: int = arg(_DEFAULT.max_slot_lag, "in sync: tip within this many slots of the wall-clock slot",
                            required=True, policy="max_slot_lag")
    min_hot_peers: int = arg(_DEFAULT.min_hot_peers, "hot peers needed (a block producer: among its own relays)",
                             policy="min_hot_peers")
    timeout_seconds: float | None = arg(_DEFAULT.overall_timeout, "overall cap; auto (None): 3 x the host's last "
                                        "start (a replaying crossing: its replay estimate), at least 3600 s",
                                        required=True, parse=seconds_or_auto, policy="overall_timeout")
    stall_seconds: float = arg(_DEFAULT.stall_timeout, "fail after this long without any progress (never above "
                               "timeout_seconds)", policy="stall_timeout")
    poll_seconds: float = arg(_DEFAULT.interval, "seconds between samples (one SSH round trip each)",
                              policy="interval")
    soak_seconds: float = arg(_DEFAULT.soak_seconds, "in sync must then hold this long", policy="soak_seconds")
    max_clock_skew_seconds: float = arg(_DEFAULT.max_clock_skew, "a host clock further off the control "
                                        "machine's is refused", policy="max_clock_skew")  # fmt: skip

    def policy(self) -> GatePolicy:
        values = {f.metadata["policy"]: getattr(self, f.name) for f in fields(self)}
        if self.timeout_seconds is not None:  # a fixed cap also bounds the stall limit
            values["stall_timeout"] = min(self.timeout_seconds, self.stall_seconds)
        return GatePolicy(**values)

    @classmethod
    def of(cls, policy: GatePolicy) -> SyncGateArgs:
        """The settings a policy applies, under the argument names (plan JSON)."""
        return cls(**{f.name: getattr(policy, f.metadata["policy"]) for f in fields(cls)})


@dataclass(frozen=True)
class SyncGate(Operation):
    policy: GatePolicy

    def plan(self, ctx: PlanContext, draft: HostDraft) -> None:
        draft.gate = self.policy

    def gate_policy(self) -> GatePolicy:
        return self.policy


def parse(args: Mapping[str, Any]) -> SyncGate:
    return SyncGate(parse_args(SyncGateArgs, args).policy())


ACTION = Action(
    args_spec(SyncGateArgs, "sync_gate",
              doc="wait until the tip is within max_slot_lag of the wall-clock slot with min_hot_peers hot peers; "
                  "replay progress in the node's log counts as progress; fail after stall_seconds without any "
                  "progress, or after timeout_seconds (auto: 3 x the host's last start, or a replaying crossing's "
                  "estimate, at least 3600 s); then "
                  "in sync must hold for soak_seconds (a node that dies meanwhile fails and is rolled back); "
                  "a host whose clock is more than max_clock_skew_seconds off the control machine's is refused"),
    Slot.GATE,
    parse,
)  # fmt: skip
