"""A run's report.json (`STATE_DIR/runs/<run id>/report.json`, `run --report FILE`): each host's outcome.

Stable keys (scripts and CI read them); a host's entry is its HostOutcome, field for field.
"""

from __future__ import annotations

import json
from typing import Any

from orchestrator.roll.engine import RolloutResult


def outcomes_as_json(result: RolloutResult) -> dict[str, Any]:
    return {
        "run_id": result.run_id,
        "ok": result.ok,
        "stopped_reason": result.stopped_reason,
        "hosts": [vars(o) for o in result.outcomes.values()],
    }


def render_run_report(result: RolloutResult) -> str:
    """The text of report.json."""
    return json.dumps(outcomes_as_json(result), indent=2)
