"""`run --resume`: bring each host a killed run left mid-way to one of its two ends.

The journal says how far a host got. Before its restart, the node may still run the old binary
while the link and files are new, so the only safe end is a byte-for-byte rollback (the run that
follows upgrades it again, properly). After its restart, the host's own gate and then its soak decide
(roll/host_gate.py, the fresh run's code): in sync on the target version and still in sync after the
soak → done; otherwise → rolled back. A host the killed run had drained gets its return hook
once it is whole and in sync again (not after a rollback that failed).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from enum import Enum
from typing import Any

from orchestrator.model import Hook, Host, Inventory, Phase, Role
from orchestrator.roll.gates import GateSample
from orchestrator.roll.host_gate import HostGate, Probe, skew_limited
from orchestrator.roll.journal import FINAL, NOTHING_CHANGED, Event, Journal, host_data, last_phases
from orchestrator.roll.remote import Remote
from orchestrator.spec.gate import GatePolicy


def return_hook_for(programs: Mapping[str, Sequence[Any]], host: Host, inventory: Inventory) -> Hook | None:
    """The host's return hook as its playbook program runs it (return_node step + inventory's
    return_command / return_delegate_to), or None: what `--resume` and `cardano-fleet return` run."""
    step = next((p.operation for p in programs.get(host.name, ()) if p.operation.hook_kind == "return"), None)
    return step.hook(host, inventory) if step is not None else None


AFTER_RESTART = frozenset({Phase.RESTARTED, Phase.RELOADED, Phase.GATE_PASSED, Phase.SOAK_PASSED})


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

    @property
    def may_serve(self) -> bool:
        """Whole and in sync: a host the killed run drained may return to rotation."""
        return self not in (Resumed.ROLLBACK_FAILED, Resumed.NOT_BACK_IN_SYNC)


def reconcile_host(
    host: Host,
    last_phase: Phase,
    data: dict[str, Any],
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
) -> str:
    """Finish or roll back one host from its last journaled phase; returns the verdict for the operator.

    data: everything the journal recorded about the host (existed, old_link, old_version, target_version).
    policy: the host's own gate (`gate_for`); with `last_start_seconds` (its last measured start) it
    gives the same cap, and the same soak after the gate, as a fresh run (roll/host_gate.py).
    sample: the host's sampler, with its gate's clock-skew limit (host_gate.skew_limited).
    producer_relays: for a block producer, its relays' addresses (its hot peers must be among them).
    return_hook: the host's return hook (the playbook's), run when the journal says it was drained and
    the host ends whole and in sync.
    """
    judge = HostGate(policy, last_start_seconds, lambda: sample(host), clock, sleep)
    outcome, verdict = _reconcile(host, last_phase, data, remote, journal, judge, producer_relays)
    if return_hook is None or not data.get("drained_on") or not outcome.may_serve:
        return verdict
    done = remote.hook(return_hook)
    if done.ok:
        journal.record(host.name, Phase.RETURNED, on=return_hook.on.name, resumed=True)
        return f"{verdict}; returned to rotation ({return_hook.on.name})"
    journal.record(host.name, Phase.RETURN_FAILED, reason=done.detail, on=return_hook.on.name, resumed=True)
    return f"{verdict}; RETURN FAILED, OUT OF ROTATION: {done.detail}"


def _reconcile(host: Host, last_phase: Phase, data: dict[str, Any], remote: Remote, journal: Journal,
               judge: HostGate, producer_relays: Sequence[str] | None) -> tuple[Resumed, str]:  # fmt: skip
    """reconcile_host's outcome and verdict before any return hook."""

    if last_phase in AFTER_RESTART:
        target = data.get("target_version") or data.get("old_version") or ""
        result = judge.gate(target, True, producer_relays)
        if result.ok:
            journal.record(host.name, Phase.GATE_PASSED, seconds=round(result.duration, 2), resumed=True)
            soaked = judge.soak(target, result, producer_relays)
            if soaked.ok:
                if soaked.ran:
                    journal.record(host.name, Phase.SOAK_PASSED, seconds=round(soaked.seconds, 2), resumed=True)
                journal.record(host.name, Phase.DONE, resumed=True)
                return Resumed.COMPLETED, Resumed.COMPLETED.value
            journal.record(host.name, Phase.FAILED, reason=f"soak on resume: {soaked.reason}")
        else:
            journal.record(host.name, Phase.FAILED, reason=f"gate on resume: {result.reason}")
    existed = data.get("existed")
    if not isinstance(existed, dict):
        journal.record(host.name, Phase.ROLLED_BACK, resumed=True, note="nothing had been changed yet")
        return Resumed.NOTHING_CHANGED, Resumed.NOTHING_CHANGED.value
    journal.record(host.name, Phase.ROLLING_BACK, reason=f"resume from phase {last_phase}")
    done = remote.restore(host, existed, data.get("old_link"))
    if done.ok:
        done = remote.service(host, "restart")
    if not done.ok:
        journal.record(host.name, Phase.ROLLBACK_FAILED, reason=done.detail)
        return Resumed.ROLLBACK_FAILED, f"{Resumed.ROLLBACK_FAILED.value}: {done.detail}"
    result = judge.gate(data.get("old_version") or "", False)
    if not result.ok:
        journal.record(host.name, Phase.ROLLBACK_FAILED, reason=result.reason)
        return Resumed.NOT_BACK_IN_SYNC, f"{Resumed.NOT_BACK_IN_SYNC.value}: {result.reason}"
    journal.record(host.name, Phase.ROLLED_BACK, resumed=True)
    return Resumed.ROLLED_BACK, Resumed.ROLLED_BACK.value


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
        verdicts[name] = last.phase, reconcile_host(
            host, last.phase, host_data(list(events), name), remote=remote, journal=journal,
            sample=skew_limited(probe, lambda h: gate_for(programs, h, run_gate_policy)), policy=policy, producer_relays=relays,
            clock=clock, sleep=sleep, return_hook=return_hook_for(programs, host, inventory),
            last_start_seconds=last_start_of(host))  # fmt: skip
        report(name, *verdicts[name])
    return verdicts
