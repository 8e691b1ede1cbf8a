"""Real `HostFacts` for unit tests, from the few things a test states.

The plan and the actions read typed facts (orchestrator/facts/model.py); a test says what it cares
about in the terms it reads them (`remaining_kes_periods`, `last_start_seconds`, `clock_skew`) and
this builds the probe's raw record that yields exactly those values: the node's KES metric, a
completed start of that duration, and a host/control clock pair that far apart.
"""

from __future__ import annotations

from typing import Any

from orchestrator.cardano.leader_schedule import REMAINING_KES_METRIC
from orchestrator.cardano.startup import Phase, StartupProgress, Startups
from orchestrator.facts.model import HostFacts

_CONTROL = 1_700_000_000  # the control machine's clock at the probe (unix seconds); any value works


def host_facts(
    host: str = "host",
    *,
    node_version: str | None = "8.7.3",
    releases: tuple[str, ...] = ("8.7.3",),
    reachable: bool = True,
    remaining_kes_periods: int | None = None,
    last_start_seconds: float | None = None,
    clock_skew: float | None = None,
    **fields: Any,
) -> HostFacts:
    """A reachable 8.7.3 node by default; `fields` are HostFacts' own (config_text, service_active, …)."""
    if remaining_kes_periods is not None:
        fields["metrics"] = {**fields.get("metrics", {}), REMAINING_KES_METRIC: float(remaining_kes_periods)}
    if last_start_seconds is not None:
        done = StartupProgress(started_at=0.0, phase=Phase.SOCKET_UP, percent=None, last_event_at=last_start_seconds,
                               progress_at=last_start_seconds, socket_up_at=last_start_seconds)  # fmt: skip
        fields["startups"] = Startups(current=done, last_completed=done)
    if clock_skew is not None:
        fields["host_time"], fields["control_time"] = _CONTROL, _CONTROL - clock_skew
    return HostFacts(host=host, reachable=reachable, node_version=node_version, releases=releases, **fields)
