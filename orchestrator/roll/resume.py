"""`run --resume`: bring each host a killed run left mid-way to one of its two ends.

The journal says how far a host got. Before its restart, the node may still run the old binary
while the link and files are new, so the only safe end is a byte-for-byte rollback (the run that
follows upgrades it again, properly). After its restart, the gate decides: in sync on the target
version → done; otherwise → rolled back. A host the killed run had drained gets its return hook
once it is whole and in sync again (not after a rollback that failed).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from orchestrator.model import Hook, Host, Inventory, Phase
from orchestrator.roll.gates import GateSample, run_gate, standard_checks
from orchestrator.roll.journal import FINAL, NOTHING_CHANGED, Event, Journal, last_phases
from orchestrator.roll.remote import Remote
from orchestrator.spec.gate import GatePolicy


def return_hook_for(programs: Mapping[str, Sequence[Any]], host: Host, inventory: Inventory) -> Hook | None:
    """The host's return hook as its playbook program runs it (return_node step + inventory's
    return_command / return_delegate_to), or None: what `--resume` and `cardano-fleet return` run."""
    from orchestrator.actions.drain_node import HookStep

    step = next((p.operation for p in programs.get(host.name, ())
                 if isinstance(p.operation, HookStep) and p.operation.kind == "return"), None)  # fmt: skip
    return step.hook(host, inventory) if step is not None else None


AFTER_RESTART = frozenset({Phase.RESTARTED, Phase.RELOADED, Phase.GATE_PASSED, Phase.SOAK_PASSED})


def unfinished_hosts(events: Sequence[Event]) -> dict[str, Event]:
    """Each host the journal leaves between its first change (backed_up) and a final phase, with its
    last event: the hosts `--resume` must finish or roll back before anything else happens."""
    return {name: e for name, e in last_phases(list(events)).items() if e.phase not in FINAL | NOTHING_CHANGED}


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
) -> str:
    """Finish or roll back one host from its last journaled phase; returns the verdict for the operator.

    data: everything the journal recorded about the host (existed, old_link, old_version, target_version).
    producer_relays: for a block producer, its relays' addresses (its hot peers must be among them).
    return_hook: the host's return hook (the playbook's), run when the journal says it was drained and
    the host ends whole and in sync.
    """

    def gate(version: str, p2p: bool) -> Any:
        checks = standard_checks(version, policy, p2p, producer_relays if p2p else None)
        return run_gate(lambda: sample(host), checks, policy, clock, sleep)

    verdict = _reconcile(host, last_phase, data, remote, journal, gate)
    if return_hook is None or not data.get("drained_on") or verdict.startswith(("ROLLBACK FAILED", "restored, but")):
        return verdict
    done = remote.hook(return_hook)
    if done.ok:
        journal.record(host.name, Phase.RETURNED, on=return_hook.on.name, resumed=True)
        return f"{verdict}; returned to rotation ({return_hook.on.name})"
    journal.record(host.name, Phase.RETURN_FAILED, reason=done.detail, on=return_hook.on.name, resumed=True)
    return f"{verdict}; RETURN FAILED, OUT OF ROTATION: {done.detail}"


def _reconcile(host: Host, last_phase: Phase, data: dict[str, Any], remote: Remote, journal: Journal,
               gate: Callable[[str, bool], Any]) -> str:  # fmt: skip
    """reconcile_host's verdict before any return hook."""

    if last_phase in AFTER_RESTART:
        target = data.get("target_version") or data.get("old_version") or ""
        result = gate(target, True)
        if result.ok:
            journal.record(host.name, Phase.GATE_PASSED, seconds=round(result.duration, 2), resumed=True)
            journal.record(host.name, Phase.DONE, resumed=True)
            return "completed: in sync on the target version"
        journal.record(host.name, Phase.FAILED, reason=f"gate on resume: {result.reason}")
    existed = data.get("existed")
    if not isinstance(existed, dict):
        journal.record(host.name, Phase.ROLLED_BACK, resumed=True, note="nothing had been changed yet")
        return "nothing had been changed"
    journal.record(host.name, Phase.ROLLING_BACK, reason=f"resume from phase {last_phase}")
    done = remote.restore(host, existed, data.get("old_link"))
    if done.ok:
        done = remote.service(host, "restart")
    if not done.ok:
        journal.record(host.name, Phase.ROLLBACK_FAILED, reason=done.detail)
        return f"ROLLBACK FAILED: {done.detail}"
    result = gate(data.get("old_version") or "", False)
    if not result.ok:
        journal.record(host.name, Phase.ROLLBACK_FAILED, reason=result.reason)
        return f"restored, but not back in sync: {result.reason}"
    journal.record(host.name, Phase.ROLLED_BACK, resumed=True)
    return "rolled back byte-for-byte and back in sync"
