"""The plan states each host's live state: a node that is stopped, failed, starting, stopping or
reloading, or a host another run holds the lock of, is never "nothing to do" nor planned."""

from __future__ import annotations

from dataclasses import replace

import pytest
from rich.console import Console

from orchestrator.facts.model import HostFacts
from orchestrator.plan import make_plan, plan_host
from orchestrator.report.console import print_plan
from orchestrator.report.plan_json import plan_as_json
from tests.unit import test_plan as tp


def facts(name: str, **live: str | None) -> HostFacts:
    return replace(tp.legacy_facts(name), **{"service_active": "active", **live})


@pytest.mark.parametrize(("active", "state"), [("inactive", "stopped"), ("failed", "failed"),
                                               ("activating", "starting"), ("deactivating", "stopping"),
                                               ("reloading", "reloading")])  # fmt: skip
def test_a_node_that_is_not_running_steadily_is_not_planned(active: str, state: str) -> None:
    inv = tp.inventory()
    relay = inv.hosts[0]
    hp = plan_host(relay, inv, facts(relay.name, service_active=active), tp.RELEASE)
    assert hp.live_state == state
    assert hp.error is not None and f"node is {state}" in hp.error and active in hp.error
    assert not hp.changed and not hp.reasons  # no "nothing to do", no change


def test_a_stopped_node_already_upgraded_is_still_not_nothing_to_do() -> None:
    """Issue 28: `systemctl stop` on an upgraded node made the plan say "nothing to do", exit 0."""
    inv = tp.inventory()
    relay = inv.hosts[0]
    steady = plan_host(relay, inv, facts(relay.name), tp.RELEASE)
    assert steady.live_state is None and steady.error is None
    done = {h.name: facts(h.name) for h in inv.hosts}
    done[relay.name] = replace(done[relay.name], service_active="inactive")
    plan = make_plan(inv, inv.hosts, done, tp.RELEASE, [[h.name] for h in inv.hosts])
    assert [hp.host.name for hp in plan.unsteady] == [relay.name]
    assert plan.errors  # plan exits 1, never 0
    console = Console(record=True, width=200)
    print_plan(console, plan)
    text = console.export_text()
    assert "stopped" in text and f"systemctl start {relay.layout.service_name}" in text
    assert plan_as_json(plan)["hosts"][0]["live_state"] == "stopped"


def test_a_host_locked_by_another_run_names_it_and_the_resume_command() -> None:
    inv = tp.inventory()
    relay = inv.hosts[1]
    hp = plan_host(relay, inv, facts(relay.name, run_lock="20261205T101500Z-ab12"), tp.RELEASE)
    assert hp.live_state == "locked by 20261205T101500Z-ab12"
    assert hp.error is not None and "run --resume 20261205T101500Z-ab12" in hp.error


def test_an_unknown_service_state_is_not_judged() -> None:
    """No systemd answer ("unknown") says nothing about the node: planned as before."""
    inv = tp.inventory()
    relay = inv.hosts[0]
    assert plan_host(relay, inv, facts(relay.name, service_active="unknown"), tp.RELEASE).live_state is None


def test_the_audit_drift_rule_plans_files_of_a_stopped_node() -> None:
    inv = tp.inventory()
    relay = inv.hosts[0]
    hp = plan_host(relay, inv, facts(relay.name, service_active="inactive"), tp.RELEASE, judge_live=False)
    assert hp.error is None and hp.changed
