"""An exchange's estate through the real playbook (playbooks/upgrade-exchange.yml), compiler, planner and
engine with the in-memory fleet: drain before anything is touched, return after the gate or after a
rollback, a failing drain leaves its host untouched, a failing return stops the rollout loudly, and
min_healthy on the passive group pauses the rollout as min_healthy_relays does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orchestrator.load.playbook import PlaybookError
from orchestrator.load.runspec import compile_run
from orchestrator.model import HostStatus, Phase
from orchestrator.plan import make_plan
from orchestrator.report.plan_json import plan_as_json
from orchestrator.roll.engine import Rollout, RolloutResult, RolloutSettings
from orchestrator.roll.host_run import HostState
from orchestrator.roll.journal import FINAL, Event, Journal
from tests.unit.fake_fleet import FakeClock, FakeNode, FakeRemote, fleet
from tests.unit.playbooks import read_playbook
from tests.unit.test_engine import Facts, legacy_config

ROOT = Path(__file__).resolve().parents[2]
EXCHANGE = ROOT / "playbooks" / "upgrade-exchange.yml"
HOOKS = {"drain_command": "disable {{ inventory_hostname }}", "drain_delegate_to": "lb1",
         "return_command": "enable {{ inventory_hostname }}", "return_delegate_to": "lb1"}  # fmt: skip


class Estate:
    """2 relays, 1 block producer, `passive` passive nodes behind the helper host lb1."""

    def __init__(self, tmp: Path, passive: int = 2, extra: dict[str, Any] | None = None, limit: str | None = None,
                 book: Any = None) -> None:  # fmt: skip
        self.inventory = fleet(2, 1, passive=passive, helpers=("lb1",))
        self.spec = compile_run(book or read_playbook(EXCHANGE), self.inventory, extra_vars={**HOOKS, **(extra or {})},
                                limit=limit)  # fmt: skip
        config = legacy_config()
        topology = json.dumps({"Producers": [{"addr": "203.0.113.11", "port": 3001, "valency": 1}]}) + "\n"
        facts = {h.name: Facts(config, topology) for h in self.inventory.hosts}
        self.plan = make_plan(self.inventory, self.spec.hosts, facts, self.spec.release, self.spec.batches,
                              self.spec.programs)  # fmt: skip
        relays = tuple(h.peer_address for h in self.inventory.relays)
        self.clock = FakeClock()
        self.remote = FakeRemote({
            h.name: FakeNode(h, {h.layout.config_path: config.encode(), h.layout.topology_path: topology.encode()},
                             peers=relays if h.is_producer else ("198.51.100.7",))
            for h in self.inventory.hosts}, self.clock)  # fmt: skip
        self.original = {n: dict(node.files) for n, node in self.remote.nodes.items()}
        self.journal = Journal(tmp / "state", "run1")

    def run(self) -> RolloutResult:
        rollout = Rollout(self.plan, self.remote, self.journal, RolloutSettings(gate=self.spec.gate),
                          sample=self.remote.sample, clock=self.clock, sleep=self.clock.sleep,
                          relays=self.inventory.relays, hosts=self.inventory.hosts)  # fmt: skip
        return rollout.execute(self.spec.stages)

    def ops(self, name: str) -> list[str]:
        """What happened for a host, in order: its own operations and the hooks run for it on lb1."""
        out = []
        for op, host in self.remote.log:
            if host == name and ":" not in op:
                out.append(op)
            elif op.endswith(f" {name}") and ":" in op:
                out.append(op.split(":")[0])
        return out


def test_drain_before_anything_and_return_after_the_gate_on_the_balancer(tmp_path: Path) -> None:
    e = Estate(tmp_path)
    result = e.run()
    assert result.ok, result.stopped_reason
    for name in ("wallet1", "wallet2", "relay1"):
        ops = e.ops(name)
        assert ops == ["lock", "stage", "drain", "backup", "write", "switch", "restart", "return", "prune_backups",
                       "unlock"], (name, ops)  # fmt: skip
    assert ("drain:disable wallet1", "lb1") in e.remote.log and ("return:enable wallet1", "lb1") in e.remote.log
    assert "drain" not in e.ops("bp1")  # the playbook gives block producers no traffic role
    phases = [ev.phase for ev in Journal.read(e.journal.path) if ev.host == "wallet1"]
    assert phases.index(Phase.DRAINED) < phases.index(Phase.BACKED_UP)
    assert phases.index(Phase.GATE_PASSED) < phases.index(Phase.RETURNED) < phases.index(Phase.DONE)
    hooks = plan_as_json(e.plan)["hosts"]
    wallet = next(h for h in hooks if h["host"] == "wallet1")["hooks"]
    assert wallet == [{"kind": "drain", "on": "lb1", "command": "disable wallet1", "timeout_seconds": 120.0},
                      {"kind": "return", "on": "lb1", "command": "enable wallet1", "timeout_seconds": 120.0}]


def test_without_delegate_to_the_hook_runs_on_the_host_itself(tmp_path: Path) -> None:
    e = Estate(tmp_path, extra={"drain_delegate_to": None, "return_command": "systemctl restart cardano-db-sync"})
    assert e.run().ok
    assert ("drain:disable wallet1", "wallet1") in e.remote.log
    assert ("return:systemctl restart cardano-db-sync", "lb1") in e.remote.log


def test_a_failing_drain_leaves_its_host_untouched_and_stops(tmp_path: Path) -> None:
    e = Estate(tmp_path)
    e.remote.failing_commands.add("disable wallet1")
    result = e.run()
    out = result.outcomes["wallet1"]
    assert out.status is HostStatus.FAILED and out.detail.startswith("drain failed, host untouched")
    assert e.ops("wallet1") == ["lock", "stage", "drain", "unlock"]  # no backup, no write, no restart
    assert e.remote.nodes["wallet1"].files == e.original["wallet1"]
    assert e.remote.nodes["wallet1"].running == "8.7.3"
    assert result.outcomes["wallet2"].status is HostStatus.UNTOUCHED and not result.ok
    assert result.outcomes["bp1"].status is HostStatus.UNTOUCHED
    assert [ev.phase for ev in Journal.read(e.journal.path) if ev.host == "wallet1"][-1] is Phase.DRAIN_FAILED


def test_a_failing_return_is_loud_and_stops_the_rollout_even_with_max_fail_100(tmp_path: Path) -> None:
    e = Estate(tmp_path, passive=3)
    e.spec = e.spec.__class__(**{**e.spec.__dict__, "stages": tuple(
        s.__class__(**{**s.__dict__, "max_fail_percentage": 100.0}) for s in e.spec.stages)})
    e.remote.failing_commands.add("enable wallet1")
    result = e.run()
    out = result.outcomes["wallet1"]
    assert out.status is HostStatus.FAILED
    assert out.detail.startswith("RETURN FAILED (upgraded and in sync, but OUT OF ROTATION)")
    assert e.remote.upgraded("wallet1")  # the node itself is whole: upgraded, not rolled back
    assert result.stopped_reason is not None and "return hook failed on wallet1" in result.stopped_reason
    assert result.outcomes["wallet2"].status is HostStatus.UNTOUCHED
    last = [ev.phase for ev in Journal.read(e.journal.path) if ev.host == "wallet1"][-1]
    assert last is Phase.RETURN_FAILED and last in FINAL  # resume must not roll an upgraded host back


def test_return_runs_after_a_rollback_back_in_sync(tmp_path: Path) -> None:
    e = Estate(tmp_path)
    e.remote.nodes["wallet1"].never_syncs.add("8.9.0")
    result = e.run()
    assert result.outcomes["wallet1"].status is HostStatus.ROLLED_BACK
    ops = e.ops("wallet1")
    assert ops.index("drain") < ops.index("backup") and ops.index("restore") < ops.index("return")
    assert e.remote.nodes["wallet1"].files == e.original["wallet1"]


def test_no_return_after_a_rollback_that_did_not_come_back(tmp_path: Path) -> None:
    e = Estate(tmp_path)
    e.remote.nodes["wallet1"].crashes.update({"8.9.0", "8.7.3"})
    result = e.run()
    assert result.outcomes["wallet1"].status is HostStatus.FAILED
    assert "return" not in e.ops("wallet1")  # a node that does not run gets no traffic back


# ---- min_healthy per group ------------------------------------------------------------------------


def test_min_healthy_on_the_passive_group_pauses_the_rollout(tmp_path: Path) -> None:
    book = read_playbook(EXCHANGE)
    floors = tuple(f.__class__(f.group, 2, f.loc) for f in book.stages[0].min_healthy)
    stages = tuple(s.__class__(**{**s.__dict__, "min_healthy": floors}) for s in book.stages)
    e = Estate(tmp_path, passive=3, book=book.__class__(**{**book.__dict__, "stages": stages}))
    e.remote.nodes["wallet3"].active = False  # down before the run: wallet1's batch would leave only wallet2
    result = e.run()
    assert result.stopped_reason == ("paused before wallet1: 1 healthy host(s) of group passive_nodes outside the "
                                     "batch (wallet2), min_healthy for passive_nodes is 2")  # fmt: skip
    assert e.remote.nodes["wallet1"].running == "8.7.3" and "drain" not in e.ops("wallet1")
    assert result.outcomes["relay1"].status is HostStatus.UPGRADED  # 2 passive nodes healthy outside its batch
    assert [ev.phase for ev in Journal.read(e.journal.path) if ev.host == "*"][-2] is Phase.PAUSED
    # the same estate with the shipped floor of 1 goes through
    e1 = Estate(tmp_path / "shipped", passive=3)
    e1.remote.nodes["wallet3"].active = False
    e1.remote.nodes["wallet3"].crashes.add("8.9.0")
    assert e1.run().outcomes["wallet1"].status is HostStatus.UPGRADED


def test_min_healthy_counts_members_outside_limit(tmp_path: Path) -> None:
    e = Estate(tmp_path, passive=2, limit="wallet1")
    e.remote.nodes["wallet2"].active = False
    result = e.run()
    assert result.stopped_reason is not None and "0 healthy host(s) of group passive_nodes" in result.stopped_reason


def test_min_healthy_naming_no_group_is_refused_at_its_line(tmp_path: Path) -> None:
    book = tmp_path / "book.yml"
    book.write_text(EXCHANGE.read_text().replace("  passive_nodes: 1\n", "  pasive_nodes: 1\n", 1))
    with pytest.raises(PlaybookError) as caught:
        compile_run(read_playbook(book, roles_dir=ROOT / "roles"), fleet(2, 1, passive=1, helpers=("lb1",)),
                    extra_vars=HOOKS)  # fmt: skip
    assert caught.value.message == "min_healthy: no group 'pasive_nodes' in the inventory — did you mean 'passive_nodes'?"
    assert (caught.value.path, caught.value.line) == (str(book), 10)


@pytest.mark.parametrize(("text", "message"), [
    ("min_healthy: 2\n", "min_healthy must be a mapping of group names to counts, not 2"),
    ("min_healthy: {passive_nodes: -1}\n", "min_healthy.passive_nodes must be an integer ≥ 0, not -1"),
])  # fmt: skip
def test_a_bad_min_healthy_is_refused(tmp_path: Path, text: str, message: str) -> None:
    book = tmp_path / "book.yml"
    book.write_text(EXCHANGE.read_text().replace("min_healthy:\n  passive_nodes: 1\n", text, 1))
    with pytest.raises(PlaybookError) as caught:
        read_playbook(book, roles_dir=ROOT / "roles")
    assert caught.value.message == message and caught.value.line == 9


def test_delegate_to_a_host_not_in_the_inventory_is_refused_at_the_step(tmp_path: Path) -> None:
    with pytest.raises(PlaybookError) as caught:
        Estate(tmp_path, extra={"drain_delegate_to": "lb2"})
    assert caught.value.message.startswith("drain_node: delegate_to 'lb2' (for relay1) is not a host of the inventory")
    assert caught.value.path.endswith("roles/traffic/steps.yml") and caught.value.line == 4


@pytest.mark.parametrize(("extra", "message"), [
    ({"drain_timeout_seconds": 0}, "drain_node: timeout_seconds must be more than 0"),
    ({"return_timeout_seconds": "soon"}, "return_node: timeout_seconds must be a number ≥ 0, not 'soon'"),
])  # fmt: skip
def test_a_bad_hook_timeout_is_refused(tmp_path: Path, extra: dict[str, Any], message: str) -> None:
    with pytest.raises(PlaybookError) as caught:
        Estate(tmp_path, extra=extra)
    assert caught.value.message.startswith(message)


def test_the_example_estate_drains_each_region_on_its_balancer_and_dbsync_hosts_on_themselves() -> None:
    from orchestrator.load.inventory import load_inventory

    inventory = load_inventory(ROOT / "inventory" / "examples" / "exchange-estate")
    assert {h.name for h in inventory.helpers} == {"lb-eu.exchange.example", "lb-us.exchange.example"}
    spec = compile_run(read_playbook(EXCHANGE), inventory)
    assert [s.name for s in spec.stages if s.batches] == ["relays", "passive_nodes"]
    facts = {h.name: Facts(legacy_config(), json.dumps({"Producers": [
        {"addr": "eu-relay01.exchange.example", "port": 3001, "valency": 1}]}) + "\n") for h in inventory.hosts}
    plan = make_plan(inventory, spec.hosts, facts, spec.release, spec.batches, spec.programs)
    by_host = {h["host"]: h for h in plan_as_json(plan)["hosts"]}
    eu = by_host["eu-node02.exchange.example"]["hooks"]
    assert [(k["kind"], k["on"]) for k in eu] == [("drain", "lb-eu.exchange.example"), ("return", "lb-eu.exchange.example")]
    assert "set server cardano/eu-node02.exchange.example state drain" in eu[0]["command"]
    db = by_host["us-dbsync01.exchange.example"]["hooks"]
    assert [(k["on"], k["command"]) for k in db] == [
        ("us-dbsync01.exchange.example", "systemctl stop cardano-submit-api cardano-db-sync"),
        ("us-dbsync01.exchange.example", "systemctl start cardano-db-sync cardano-submit-api")]  # fmt: skip
    assert by_host["eu-relay01.exchange.example"]["hooks"] == []
    private = json.loads(next(c.content for c in plan.host("us-dbsync01.exchange.example").files
                              if c.path.endswith("topology.json")))  # fmt: skip
    assert private["useLedgerAfterSlot"] == -1 and "bootstrapPeers" not in private
    assert {p["address"] for g in private["localRoots"] for p in g["accessPoints"]} == {
        "eu-relay01.exchange.example", "us-relay01.exchange.example"}
    assert spec.stages[1].min_healthy[0][:2] == ("passive_nodes", 1)


def journaled(host: str, data: dict[str, Any]) -> HostState:
    """The state a killed run's journal holds for `host` when its events recorded `data`."""
    return HostState.from_journal([Event(0.0, host, Phase.BACKED_UP, data)], host)


@pytest.mark.parametrize(("last", "upgraded_first", "verdict"), [
    (Phase.DRAINED, False, "nothing had been changed; returned to rotation (lb1)"),
    (Phase.RESTARTED, True, "completed: in sync on the target version; returned to rotation (lb1)"),
])  # fmt: skip
def test_resume_returns_a_host_the_killed_run_left_drained(tmp_path: Path, last: Phase, upgraded_first: bool,
                                                           verdict: str) -> None:  # fmt: skip
    from orchestrator.roll.resume import reconcile_host

    e = Estate(tmp_path)
    if upgraded_first:
        assert e.run().ok
    host = e.inventory.host("wallet1")
    op = next(p.operation for p in e.spec.programs["wallet1"] if getattr(p.operation, "kind", "") == "return")
    hook = op.hook(host, e.inventory)  # type: ignore[attr-defined]
    data = {"drained_on": "lb1", "target_version": "8.9.0", "old_version": "8.7.3"}
    before = len(e.remote.log)
    got = reconcile_host(host, last, journaled(host.name, data), remote=e.remote, journal=e.journal, sample=e.remote.sample,
                         policy=e.spec.gate, clock=e.clock, sleep=e.clock.sleep, return_hook=hook)  # fmt: skip
    assert got == verdict
    assert ("return:enable wallet1", "lb1") in e.remote.log[before:]
    tail = [ev.phase for ev in Journal.read(e.journal.path) if ev.host == "wallet1"][-2:]
    # returned before done, as in a fresh run (roll/host_run.py: done means back in rotation too)
    assert tail == ([Phase.RETURNED, Phase.DONE] if upgraded_first else [Phase.ROLLED_BACK, Phase.RETURNED])


def test_resume_does_not_return_a_host_whose_rollback_failed(tmp_path: Path) -> None:
    from orchestrator.roll.resume import reconcile_host

    e = Estate(tmp_path)
    host = e.inventory.host("wallet1")
    e.remote.nodes["wallet1"].crashes.add("8.7.3")
    op = next(p.operation for p in e.spec.programs["wallet1"] if getattr(p.operation, "kind", "") == "return")
    data = {"drained_on": "lb1", "existed": {host.layout.config_path: True}, "old_link": "releases/8.7.3/bin",
            "old_version": "8.7.3"}  # fmt: skip
    e.remote.nodes["wallet1"].backups = dict(e.remote.nodes["wallet1"].files)
    got = reconcile_host(host, Phase.FILES_WRITTEN, journaled(host.name, data), remote=e.remote, journal=e.journal,
                         sample=e.remote.sample, policy=e.spec.gate, clock=e.clock, sleep=e.clock.sleep,
                         return_hook=op.hook(host, e.inventory))  # type: ignore[attr-defined]  # fmt: skip
    assert got.startswith("restored, but not back in sync")
    assert not any(op.startswith("return") for op, _h in e.remote.log)


def test_the_inventory_command_lists_helpers_apart_from_nodes(capsys: Any) -> None:
    from orchestrator.cli import main

    assert main(["inventory", "-i", str(ROOT / "inventory" / "examples" / "exchange-estate"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [h["name"] for h in doc["helpers"]] == ["lb-eu.exchange.example", "lb-us.exchange.example"]
    assert not {"lb-eu.exchange.example", "lb-us.exchange.example"} & {h["name"] for h in doc["hosts"]}
    assert {h["role"] for h in doc["hosts"]} == {"relay", "passive"}
