"""The plan's handover (plan.plan_handovers): a pool whose producer restarts and which has a standby
shows the handover's steps in order and its forging gap, in the console and in `plan --json`."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from types import MappingProxyType

from orchestrator.actions.restart_node import RestartNode
from orchestrator.cardano.layouts import IOG
from orchestrator.cardano.leader_schedule import LeaderSlot
from orchestrator.model import Host, Inventory, Role
from orchestrator.plan import Plan, default_program, make_plan
from orchestrator.report.console import handover_lines, print_plan
from orchestrator.report.plan_json import plan_as_json
from orchestrator.report.terminal import make_console
from orchestrator.roll.handover import Step
from orchestrator.spec.handover import PLANNED_STEPS, HandoverPolicy
from tests.unit import test_plan as tp

STANDBY = Host("bp1-standby", Role.BLOCK_PRODUCER, "203.0.113.22", IOG, standby_for="bp1")
SCHEDULE = {"source": "file", "path": "/var/lib/pool/schedule.json"}


def pool(*, schedule: bool = False) -> Inventory:
    base = tp.inventory()
    hosts = tuple(replace(h, vars=MappingProxyType({**h.vars, "leader_schedule": SCHEDULE}))
                  if schedule and h.name == "bp1" else h for h in base.hosts)  # fmt: skip
    groups = {**base.groups, "block_producers": ("bp1", "bp1-standby"), "standby_producers": ("bp1-standby",)}
    return Inventory(base.source, (*hosts, STANDBY), MappingProxyType(groups))


def planned(inv: Inventory, hosts: tuple[Host, ...] | None = None, schedule: bool = False, **bp_facts: object) -> Plan:
    chosen = hosts or inv.hosts
    facts = {h.name: tp.legacy_facts("bp1" if h.name == "bp1-standby" else h.name) for h in inv.hosts}
    facts["bp1"] = replace(facts["bp1"], **bp_facts)  # type: ignore[arg-type]
    programs = {h.name: default_program(tp.RELEASE, h) for h in chosen}
    if schedule:  # what the playbook renders from the producer's `leader_schedule` variable
        kept = tuple(sorted(SCHEDULE.items()))
        programs["bp1"] = tuple(replace(p, operation=RestartNode(schedule=kept)) if isinstance(p.operation, RestartNode)
                                else p for p in programs["bp1"])  # fmt: skip
    return make_plan(inv, chosen, facts, tp.RELEASE, [[h.name] for h in chosen], programs)


def test_the_planned_steps_are_the_machines_own_in_order() -> None:
    assert [s for s, _, _ in PLANNED_STEPS] == [s for s in Step if s not in (Step.RECOVER, Step.END)]


def test_a_pool_with_a_standby_shows_the_handover_and_its_gap() -> None:
    plan = planned(pool())
    (h,) = plan.handovers
    assert (h.producer, h.standby) == ("bp1", "bp1-standby")
    assert [s for s, _, _ in h.steps] == [s.value for s, _, _ in PLANNED_STEPS]
    hosts = dict((s, host) for s, host, _ in h.steps)
    assert hosts["upgrade_standby"] == "bp1-standby" and hosts["disable_active"] == "bp1"
    assert hosts["enable_standby"] == "bp1-standby" and hosts["upgrade_old_as_standby"] == "bp1"
    assert h.gap_budget_seconds == HandoverPolicy().gap_budget == 140
    assert h.expected_missed_leader_slots is None and h.schedule is None  # no leader_schedule: may cost a block
    assert any("may fall on a leader slot" in n for n in h.notes)


def test_with_a_leader_schedule_the_predicted_gap_misses_no_leader_slot() -> None:
    slots = (LeaderSlot(200_000_000, 1_900_000_000.0),)
    plan = planned(pool(schedule=True), schedule=True, leader_schedule=slots)
    (h,) = plan.handovers
    assert h.expected_missed_leader_slots == 0 and h.schedule is not None and "schedule.json" in h.schedule
    lines = handover_lines(plan)
    assert lines[0].startswith("handover bp1 → bp1-standby")
    assert lines[1].startswith("  order: the pool is one turn") and "bp1-standby is upgraded first, bp1 last" in lines[1]
    assert lines[2] == "  1. precheck [bp1, bp1-standby]: " + PLANNED_STEPS[0][2]
    assert lines[3].startswith("  2. upgrade_standby [bp1-standby]: upgrade it non-producing")
    assert "forging gap: 0 leader slots missed if all goes well" in lines[11] and "budget 140 s" in lines[11]


def test_the_json_plan_carries_steps_and_gap() -> None:
    doc = plan_as_json(planned(pool()), now=1_700_000_000.0)
    (h,) = doc["handovers"]
    assert h["producer"] == "bp1" and h["standby"] == "bp1-standby"
    assert h["steps"][4] == {"step": "disable_active", "host": "bp1", "does": "rename its credentials away, SIGHUP"}
    assert h["forging_gap"] == {"expected_missed_leader_slots": None, "budget_seconds": 140.0, "leader_schedule": None}
    json.dumps(doc)


def test_no_standby_or_no_restart_means_no_handover() -> None:
    assert planned(tp.inventory()).handovers == ()  # a lone producer restarts as before
    inv = pool()
    relays_only = tuple(h for h in inv.hosts if not h.is_producer)
    assert planned(inv, relays_only).handovers == ()


def test_a_standby_left_out_of_the_plan_is_said() -> None:
    inv = pool()
    without = tuple(h for h in inv.hosts if h.name != "bp1-standby")
    (h,) = planned(inv, without).handovers
    assert any("bp1-standby is not among this plan's hosts" in n for n in h.notes)


def test_the_console_prints_it() -> None:
    out = io.StringIO()
    print_plan(make_console(out), planned(pool()))
    text = out.getvalue()
    assert "handover bp1 → bp1-standby" in text and "9. upgrade_old_as_standby [bp1]" in text
    assert "forging gap: leader slots missed: unknown; budget 140 s" in text
    # the producers' own restart-window lines give way to the handover (what --no-handover would do kept)
    windows = [line for line in text.splitlines() if "restart window:" in line]
    assert windows and all("not waited for: it restarts while the other host of its pool forges" in line
                           and "with `run --no-handover`: " in line for line in windows), windows
