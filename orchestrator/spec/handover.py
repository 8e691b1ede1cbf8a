"""The block producer handover's steps and settings, apart from the machine that runs them
(roll/handover.py), so that the plan can show what a handover will do without importing the engine.

`Step` is the machine's own vocabulary (its journal records these values); `PLANNED_STEPS` is the
order a handover that goes well takes them in, each with who it acts on and what it does, as the plan
shows it. `HandoverPolicy.gap_budget` is the longest the pool may be without a forger: what the gap
between two leader slots must hold (roll/handover.py CHOOSE_GAP).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum


class Step(Enum):
    """The handover, in order; RECOVER from any doubt. `--resume` enters where `resume_entry` says."""

    PRECHECK = "precheck"
    UPGRADE_STANDBY = "upgrade_standby"
    GATE_STANDBY = "gate_standby"
    CHOOSE_GAP = "choose_gap"
    DISABLE_ACTIVE = "disable_active"
    PROVE_STOPPED = "prove_stopped"
    ENABLE_STANDBY = "enable_standby"
    PROVE_FORGING = "prove_forging"
    UPGRADE_OLD_AS_STANDBY = "upgrade_old_as_standby"
    RECOVER = "recover"
    END = "end"


@dataclass(frozen=True)
class HandoverPolicy:
    """Seconds throughout. `quiet_seconds`: how long no leadership check must be seen to call a node
    stopped (a forging node checks every 1 s slot, so a few slots of silence is proof); the proofs
    give up after their timeouts. The gap's budget (what CHOOSE_GAP needs clear of leader slots) is
    both proofs' timeouts plus `sighup_seconds` for each SIGHUP and rename."""

    sample_interval: float = 1.0
    quiet_seconds: float = 4.0
    stop_timeout: float = 60.0
    forging_timeout: float = 60.0
    sighup_seconds: float = 10.0
    max_slot_lag: int = 20  # cardano/health.py IN_SYNC_SLOTS: gLiveView's "in sync"

    @property
    def gap_budget(self) -> float:
        return self.stop_timeout + self.forging_timeout + 2 * self.sighup_seconds


class On(StrEnum):
    """Which host of the pool a planned step acts on."""

    BOTH = "both"
    PRODUCER = "producer"
    STANDBY = "standby"


# A handover that goes well, in order (RECOVER and END are not planned steps): the step, the host it
# acts on, and what it does, in the words the plan prints.
PLANNED_STEPS: tuple[tuple[Step, On, str], ...] = (
    (
        Step.PRECHECK,
        On.BOTH,
        "read both command lines' credential paths; the producer proven forging; the standby's credentials renamed away",
    ),
    (Step.UPGRADE_STANDBY, On.STANDBY, "upgrade it non-producing (its credentials away)"),
    (Step.GATE_STANDBY, On.STANDBY, "gate: in sync on the target, not forging"),
    (Step.CHOOSE_GAP, On.PRODUCER, "wait for a gap between leader slots that holds the gap budget"),
    (Step.DISABLE_ACTIVE, On.PRODUCER, "rename its credentials away, SIGHUP"),
    (Step.PROVE_STOPPED, On.PRODUCER, "prove: forging metric 0, no leadership check, still in sync"),
    (Step.ENABLE_STANDBY, On.STANDBY, "rename its credentials back, SIGHUP"),
    (Step.PROVE_FORGING, On.STANDBY, "prove: leadership checks rising"),
    (Step.UPGRADE_OLD_AS_STANDBY, On.PRODUCER, "upgrade it as the new standby (its credentials away)"),
)
