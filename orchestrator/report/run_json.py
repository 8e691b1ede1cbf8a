"""A run's report.json (`STATE_DIR/runs/<run id>/report.json`, `run --report FILE`): the audit trail.

Stable keys (scripts and CI read them): `run_id`, `ok`, `outcome` (completed, failed, interrupted),
`stopped_reason`, `trail` (roll/trail.py: UTC start and end, user, control host, tool version,
inventory and playbook paths with sha256, `-e` redacted), `hosts` (each its HostOutcome, field for
field, plus `steps`: the journal's steps with UTC times, over every attempt of the run), `backups`.
"""

from __future__ import annotations

import json
import time
from typing import Any

from orchestrator.roll.engine import RolloutResult
from orchestrator.roll.journal import Event
from orchestrator.roll.trail import RunTrail, host_steps


def outcomes_as_json(
    result: RolloutResult, trail: RunTrail | None = None, events: list[Event] | None = None,
    ended_at: float | None = None, keep_backups: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    steps = host_steps(events or [])
    outcome = "interrupted" if result.interrupted else "completed" if result.ok else "failed"
    report: dict[str, Any] = {
        "run_id": result.run_id,
        "ok": result.ok,
        "outcome": outcome,
        "stopped_reason": result.stopped_reason,
    }
    if result.interrupted:
        report["interrupted"] = {"signal": result.interrupted, "mid_way": result.mid_way, "drained": result.drained}
    if trail is not None:
        report["trail"] = trail.as_json(events or [], ended_at if ended_at is not None else time.time())
    report["hosts"] = [{**vars(o), "steps": steps.get(o.host, [])} for o in result.outcomes.values()]
    if keep_backups is not None:
        report["backups"] = {"keep_per_file": keep_backups, "pruned": result.pruned}
    return report


def render_run_report(
    result: RolloutResult, trail: RunTrail | None = None, events: list[Event] | None = None,
    ended_at: float | None = None, keep_backups: int | None = None,
) -> str:  # fmt: skip
    """The text of report.json."""
    return json.dumps(outcomes_as_json(result, trail, events, ended_at, keep_backups), indent=2)
