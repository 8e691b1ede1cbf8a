"""`run --resume`: bring each host a killed run left mid-way to one of its two ends.

The journal says how far a host got, and the fresh run's state machine (roll/host_run.py) takes it
up from there, rebuilt from the run's own events (HostState.from_journal). Before its restart, the
node may still run the old binary while the link and files are new, so the only safe end is a
byte-for-byte rollback (the run that follows upgrades it again, properly). After its restart, the
host's own gate and then its soak decide, with the same cap and skew limit as a fresh run: in sync on
the target version and still in sync after the soak → done; otherwise → rolled back. The host's
return hook runs once it ends whole and in sync (not after a rollback that failed), as in a fresh run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from enum import Enum
from typing import Any

from orchestrator.actions import seed_db
from orchestrator.cardano.crossing import cross
from orchestrator.model import Hook, Host, Inventory, Phase, Role
from orchestrator.roll.gates import GateSample
from orchestrator.roll.host_gate import Probe, skew_limited
from orchestrator.roll.host_run import (
    Ending,
    HostOutcome,
    HostProgram,
    HostRun,
    HostState,
    Means,
    Step,
    resume_entry,
)
from orchestrator.roll.journal import FINAL, NOTHING_CHANGED, Event, Journal, last_phases
from orchestrator.roll.remote import Remote
from orchestrator.spec.gate import GatePolicy


def return_hook_for(programs: Mapping[str, Sequence[Any]], host: Host, inventory: Inventory) -> Hook | None:
    """The host's return hook as its playbook program runs it (return_node step + inventory's
    return_command / return_delegate_to), or None: what `--resume` and `cardano-fleet return` run.
    The last return step wins, as in the planner (each step sets the host's hook in turn)."""
    steps = [p.operation for p in programs.get(host.name, ()) if p.operation.hook_kind == "return"]
    step = steps[-1] if steps else None
    return step.hook(host, inventory) if step is not None else None


def unfinished_hosts(events: Sequence[Event]) -> dict[str, Event]:
    """Each host the journal leaves between its first change (backed_up) and a final phase, with its
    last event: the hosts `--resume` must finish or roll back before anything else happens."""
    return {name: e for name, e in last_phases(list(events)).items() if e.phase not in FINAL | NOTHING_CHANGED}


def gate_for(programs: Mapping[str, Sequence[Any]], host: Host, default: GatePolicy) -> GatePolicy:
    """The host's own gate as a fresh run plans it (its program's sync_gate step, the last one
    winning as in plan.py), else the run's `default`."""
    policies = [p.operation.gate_policy() for p in programs.get(host.name, ())]
    return next((policy for policy in reversed(policies) if policy is not None), default)


class Resumed(Enum):
    """How `--resume` left a host: its two ends, and the two ways it can fail to reach one."""

    COMPLETED = "completed: in sync on the target version"
    NOTHING_CHANGED = "nothing had been changed"
    ROLLED_BACK = "rolled back byte-for-byte and back in sync"
    ROLLBACK_FAILED = "ROLLBACK FAILED"
    NOT_BACK_IN_SYNC = "restored, but not back in sync"


_RESUMED = {Ending.UPGRADED: Resumed.COMPLETED, Ending.NOTHING_CHANGED: Resumed.NOTHING_CHANGED,
            Ending.ROLLED_BACK: Resumed.ROLLED_BACK, Ending.ROLLBACK_FAILED: Resumed.ROLLBACK_FAILED,
            Ending.NOT_BACK_IN_SYNC: Resumed.NOT_BACK_IN_SYNC}  # fmt: skip


def reconcile_host(
    host: Host,
    last_phase: Phase,
    state: HostState,
    *,
    remote: Remote,
    journal: Journal,
    sample: Callable[[Host], GateSample],
    policy: GatePolicy,
    producer_relays: Sequence[str] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    return_hook: Hook | None = None,
    last_start_seconds: float | None = None,
    expected_start_seconds: float | None = None,
    seed_from: Host | None = None,
) -> str:
    """Finish or roll back one host from its last journaled phase, through the fresh run's state
    machine (roll/host_run.py) entered where `resume_entry` says; returns the verdict for the operator.

    state: what the killed run journaled about the host (HostState.from_journal).
    policy: the host's own gate (`gate_for`); with `last_start_seconds` (its last measured start) it
    gives the same cap, and the same soak after the gate, as a fresh run.
    sample: the host's sampler, with its gate's clock-skew limit (host_gate.skew_limited).
    producer_relays: for a block producer, its relays' addresses (its hot peers must be among them).
    return_hook: the host's return hook (the playbook's), run once the host ends whole and in sync.
    expected_start_seconds: what the start takes when the crossing replays the ledger (`replay_estimate`).
    seed_from: a db seed's source (journal: seeding), whose copy the resume continues.
    """
    means = Means(remote, journal.record, sample, clock, sleep, seed=seed_db.over(remote))
    program = HostProgram(policy, last_start_seconds, return_hook, tuple(producer_relays or ()), expected_start_seconds,
                          seed_from)  # fmt: skip
    run = HostRun(host, program, means, state, HostOutcome(host.name, host.role.value), resumed=True)
    entry = resume_entry(last_phase)
    if entry is Step.SEED and seed_from is None:  # its source is not in the inventory now
        entry = Step.ROLLBACK
    if entry is Step.ROLLBACK:
        run.failure = f"resume from phase {last_phase}"
    run.run(entry)
    ending = run.ending or Ending.NOTHING_CHANGED
    resumed = _RESUMED.get(ending, Resumed.NOTHING_CHANGED)
    verdict = resumed.value if run.rollback_error is None else f"{resumed.value}: {run.rollback_error}"
    if run.return_error is not None:
        return f"{verdict}; RETURN FAILED, OUT OF ROTATION: {run.return_error}"
    if run.returned_on is not None:
        return f"{verdict}; returned to rotation ({run.returned_on})"
    return verdict


def replay_estimate(host: Host, state: HostState) -> float | None:
    """Seconds the host's start takes when the killed run's crossing (its journaled old → target
    release) replays the ledger, as the fresh run's plan estimated it (cardano/crossing.py); None when
    it does not replay, or no source reports a figure (the cap then follows its last start)."""
    if not state.old_version or not state.target_version or state.old_version == state.target_version:
        return None
    crossing = cross(state.old_version, state.target_version, network=host.network)
    return crossing.downtime.seconds if crossing.replays else None


def resume_hosts(
    events: Sequence[Event],
    inventory: Inventory,
    programs: Mapping[str, Sequence[Any]],
    run_gate_policy: GatePolicy,
    *,
    remote: Remote,
    journal: Journal,
    probe: Probe,
    last_start_of: Callable[[Host], float | None] = lambda _h: None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    report: Callable[[str, Phase, str | None], None] = lambda _n, _p, _v: None,
) -> dict[str, tuple[Phase, str | None]]:
    """`run --resume` over every host the killed run left mid-way: each with its own gate
    (`gate_for`), its sampler's skew limit from that gate, the cap from its last measured start
    (`last_start_of`, e.g. one facts probe) and its return hook. Host name → (its last journaled
    phase, the verdict); verdict None: the journal names it but the inventory does not (left as it is).
    `report` is told each host's result as soon as it has one (the console prints it)."""
    verdicts: dict[str, tuple[Phase, str | None]] = {}
    for name, last in unfinished_hosts(events).items():
        host = next((h for h in inventory.hosts if h.name == name), None)
        if host is None:
            verdicts[name] = (last.phase, None)
            report(name, last.phase, None)
            continue
        policy = gate_for(programs, host, run_gate_policy)
        relays = [h.peer_address for h in inventory.relays] if host.role is Role.BLOCK_PRODUCER else None
        state = HostState.from_journal(events, name)
        verdicts[name] = last.phase, reconcile_host(
            host, last.phase, state, remote=remote, journal=journal,
            sample=skew_limited(probe, lambda h: gate_for(programs, h, run_gate_policy)), policy=policy, producer_relays=relays,
            clock=clock, sleep=sleep, return_hook=return_hook_for(programs, host, inventory),
            last_start_seconds=last_start_of(host), expected_start_seconds=replay_estimate(host, state),
            seed_from=next((h for h in inventory.hosts if h.name == state.seed_source), None))  # fmt: skip
        report(name, *verdicts[name])
    return verdicts
