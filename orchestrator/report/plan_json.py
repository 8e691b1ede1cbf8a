"""`plan --json`: a stable, documented shape (keys are only ever added)."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from typing import Any

from orchestrator.actions import seed_db
from orchestrator.actions.sync_gate import SyncGateArgs
from orchestrator.cardano.crossing import Crossing
from orchestrator.load.secrets import redact
from orchestrator.plan import Plan


def plan_as_json(plan: Plan, now: float | None = None) -> dict[str, Any]:
    """A stable, documented shape for `plan --json`; `now` (unix seconds, default the clock) places
    each block producer's restart window."""
    at = time.time() if now is None else now
    return {
        "release": None if plan.release is None else {"version": plan.release.version, "url": plan.release.url,
                                                       "sha256": plan.release.sha256, "source": plan.release.source},
        "pending": len(plan.pending),
        "expected_duration_seconds": plan.expected_duration,
        # pools whose producer restarts with a standby: the handover's steps and its forging gap
        "handovers": [
            {"producer": h.producer, "standby": h.standby,
             "steps": [{"step": step, "host": host, "does": does} for step, host, does in h.steps],
             "forging_gap": {"expected_missed_leader_slots": h.expected_missed_leader_slots,
                             "budget_seconds": h.gap_budget_seconds, "leader_schedule": h.schedule},
             "notes": list(h.notes)}
            for h in plan.handovers
        ],
        "hosts": [
            {
                "host": hp.host.name, "role": hp.host.role.value, "batch": hp.batch,
                "current_version": hp.current_version, "target_version": hp.target_version,
                "switch_binary": hp.switch_binary, "stage_release": hp.stage_release, "action": hp.action,
                "refused": hp.refusal,
                "files": [{"path": c.path, "reason": c.diff.reason, "diff": c.diff.diff} for c in hp.files],
                "unchanged": [{"path": d.path, "reason": d.reason} for d in hp.unchanged],
                "reasons": list(hp.reasons), "error": hp.error, "live_state": hp.live_state,
                # under sync_gate's argument names, in their declared order
                "gate": None if hp.gate is None or not hp.changed else asdict(SyncGateArgs.of(hp.gate)),
                "last_start_seconds": hp.last_start_seconds, "expected_downtime_seconds": hp.expected_downtime,
                "leader": None if hp.leader is None else hp.leader.as_json(at),
                "hooks": [{"kind": k.kind, "on": k.on.name, "command": k.command, "timeout_seconds": k.timeout}
                          for k in (hp.drain, hp.return_hook) if k is not None and hp.changed],
                "clock_skew_seconds": None if hp.clock_skew is None else round(hp.clock_skew, 1),
                "crossing": None if hp.crossing is None else crossing_as_json(hp.crossing),
            }
            for hp in plan.hosts
        ],
        # only where some role seeds (actions/seed_db.py RoleEstimate): both estimates of that role
        **({"db_seed": [e.as_json() for e in seeds]} if (seeds := seed_db.role_estimates(plan.pending)) else {}),
    }  # fmt: skip


def crossing_as_json(c: Crossing) -> dict[str, Any]:
    """A host's crossing (cardano/crossing.py): the catalogue's hops, what the node does with its
    ledger (`ledger`: none|convert|replay per the catalogue; `replay`: none|from_snapshot|from_genesis
    for this run), the downtime with its basis (`estimate`: not this host's own measurement), and
    the disk the rollback's ledger backup needs against the free space (bytes; null: unknown)."""
    d, disk = c.downtime, c.disk
    return {
        "source": c.source, "target": c.target, "hops": [str(h) for h in c.hops], "refused": c.refusal,
        "ledger": None if c.ledger is None else c.ledger.name.lower(),
        "replay": None if c.replay is None else c.replay.name.lower(), "why": c.why,
        "converter": None if c.converter is None else {"release": c.converter.version, "syntax": c.converter.converter},
        "rollback": c.rollback or None,
        "expected_downtime_seconds": d.seconds, "expected_downtime_low_seconds": d.low_seconds,
        "expected_downtime_basis": d.basis, "estimate": d.estimate,
        "disk": {"needed_bytes": disk.needed_bytes, "free_bytes": disk.free_bytes, "ledger_bytes": disk.ledger_bytes,
                 "enough": disk.enough, "basis": disk.basis},
    }  # fmt: skip


def render_plan_json(plan: Plan) -> str:
    """What `plan --json` prints (vault-decrypted values stay secret)."""
    return redact(json.dumps(plan_as_json(plan), indent=2))
