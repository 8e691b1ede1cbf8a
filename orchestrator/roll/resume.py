"""`run --resume`: bring each host a killed run left mid-way to one of its two ends.

The journal says how far a host got. Before its restart, the node may still run the old binary
while the link and files are new, so the only safe end is a byte-for-byte rollback (the run that
follows upgrades it again, properly). After its restart, the gate decides: in sync on the target
version → done; otherwise → rolled back.
"""

from __future__ import annotations

from typing import Any

from orchestrator.model import Host, Phase, Role
from orchestrator.roll.engine import Remote
from orchestrator.roll.gates import run_gate, standard_checks
from orchestrator.roll.journal import Journal
from orchestrator.ssh.transport import Fleet
from orchestrator.workflow import Loaded, sample_host

AFTER_RESTART = frozenset({Phase.RESTARTED, Phase.RELOADED, Phase.GATE_PASSED})


def reconcile_host(loaded: Loaded, fleet: Fleet, journal: Journal, host: Host, last_phase: Phase,
                   data: dict[str, Any]) -> str:  # fmt: skip
    remote = Remote(fleet, journal.run_id)
    policy = loaded.spec.gate
    relays = [h.peer_address for h in loaded.inventory.relays] if host.role is Role.BLOCK_PRODUCER else None
    if last_phase in AFTER_RESTART:
        target = data.get("target_version") or data.get("old_version") or ""
        gate = run_gate(lambda: sample_host(fleet, host), standard_checks(target, policy, True, relays), policy)
        if gate.ok:
            journal.record(host.name, Phase.GATE_PASSED, seconds=round(gate.duration, 2), resumed=True)
            journal.record(host.name, Phase.DONE, resumed=True)
            return "completed: in sync on the target version"
        journal.record(host.name, Phase.FAILED, reason=f"gate on resume: {gate.reason}")
    existed = data.get("existed")
    if not isinstance(existed, dict):
        journal.record(host.name, Phase.ROLLED_BACK, resumed=True, note="nothing had been changed yet")
        return "nothing had been changed"
    journal.record(host.name, Phase.ROLLING_BACK, reason=f"resume from phase {last_phase}")
    res = remote.restore(host, existed, data.get("old_link"))
    if res.ok:
        res = remote.service(host, "restart")
    if not res.ok:
        journal.record(host.name, Phase.ROLLBACK_FAILED, reason=res.stderr.strip() or str(res.error))
        return f"ROLLBACK FAILED: {res.stderr.strip() or res.error}"
    old = data.get("old_version") or ""
    gate = run_gate(lambda: sample_host(fleet, host), standard_checks(old, policy, False), policy)
    if not gate.ok:
        journal.record(host.name, Phase.ROLLBACK_FAILED, reason=gate.reason)
        return f"restored, but not back in sync: {gate.reason}"
    journal.record(host.name, Phase.ROLLED_BACK, resumed=True)
    return "rolled back byte-for-byte and back in sync"
