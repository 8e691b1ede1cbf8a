"""Hooks and their hosts (issue 28): the bundled upgrade runs the drain/return hooks the inventory
defines; a playbook that does not run them says so per host in the plan; a hook host that does not
answer makes every host whose hook runs there unsteady (the run refuses before any change)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from orchestrator.load.runspec import compile_run
from orchestrator.plan import Plan, make_plan
from orchestrator.ssh.transport import CommandResult
from orchestrator.workflow import check_hook_hosts
from tests.unit.fake_fleet import fleet
from tests.unit.playbooks import read_playbook
from tests.unit.test_engine import Facts, legacy_config

ROOT = Path(__file__).resolve().parents[2]
HOOKS = {"drain_command": "disable {{ inventory_hostname }}", "drain_delegate_to": "lb1",
         "return_command": "enable {{ inventory_hostname }}", "return_delegate_to": "lb1"}  # fmt: skip


def plan_with(playbook: Path) -> Plan:
    inventory = fleet(1, 1, passive=1, helpers=("lb1",), **HOOKS)
    spec = compile_run(read_playbook(playbook, roles_dir=ROOT / "roles"), inventory)
    topology = json.dumps({"Producers": [{"addr": "203.0.113.11", "port": 3001, "valency": 1}]}) + "\n"
    facts = {h.name: Facts(legacy_config(), topology) for h in inventory.hosts}
    return make_plan(inventory, spec.hosts, facts, spec.release, spec.batches, spec.programs)


def test_the_quick_start_playbook_runs_the_inventorys_hooks() -> None:
    plan = plan_with(ROOT / "playbooks" / "upgrade-8.9.0.yml")
    for name in ("relay1", "wallet1"):
        hp = plan.host(name)
        assert hp.drain is not None and hp.drain.on.name == "lb1" and hp.drain.command == f"disable {name}"
        assert hp.return_hook is not None and hp.return_hook.command == f"enable {name}"
        assert not any("does not run them" in r for r in hp.reasons)
    assert plan.host("bp1").drain is None


def test_a_playbook_without_the_traffic_role_says_so_per_host(tmp_path: Path) -> None:
    book = tmp_path / "no-hooks.yml"
    book.write_text((ROOT / "playbooks" / "upgrade-8.9.0.yml").read_text().replace("[traffic, ", "["))
    plan = plan_with(book)
    for name in ("relay1", "wallet1", "bp1"):  # the inventory gives every host hooks here
        hp = plan.host(name)
        assert hp.drain is None and hp.changed
        assert any("inventory defines drain_command and return_command for this host; this playbook does not run "
                   "them" in r for r in hp.reasons), hp.reasons  # fmt: skip


class FakeFleet:
    def __init__(self, down: set[str]) -> None:
        self.down = down
        self.asked: list[str] = []

    def run_all(self, hosts: Any, command_for_host: Any, **_: Any) -> dict[str, CommandResult]:
        self.asked += [h.name for h in hosts]
        return {h.name: CommandResult(h.name, h.name not in self.down, None if h.name in self.down else 0, "", "", 0.0,
                                      error="connection refused" if h.name in self.down else None,
                                      connected=h.name not in self.down) for h in hosts}  # fmt: skip


def test_an_unreachable_hook_host_makes_its_hosts_unsteady() -> None:
    plan = plan_with(ROOT / "playbooks" / "upgrade-8.9.0.yml")
    facts: dict[str, Any] = {hp.host.name: Facts("", "") for hp in plan.hosts}
    down = FakeFleet({"lb1"})
    checked = check_hook_hosts(plan, down, facts)  # type: ignore[arg-type]
    assert down.asked == ["lb1"]  # the helper only: the nodes were probed by the facts already
    assert {hp.host.name for hp in checked.unsteady} == {"relay1", "wallet1"}
    relay = checked.host("relay1")
    assert relay.live_state == "hook host lb1 unreachable"
    assert relay.error is not None and "connection refused" in relay.error
    assert checked.host("bp1").live_state is None  # no hook: not concerned

    up = FakeFleet(set())
    assert check_hook_hosts(plan, up, facts) is plan  # type: ignore[arg-type]
    assert up.asked == ["lb1"]
