"""`plan --json`: a stable, documented shape (keys are only ever added)."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from typing import Any

from orchestrator.actions.sync_gate import SyncGateArgs
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
            }
            for hp in plan.hosts
        ],
    }  # fmt: skip


def render_plan_json(plan: Plan) -> str:
    """What `plan --json` prints (vault-decrypted values stay secret)."""
    return redact(json.dumps(plan_as_json(plan), indent=2))
