"""The rollout engine's invariants, proven in milliseconds: the real playbook, compiler, planner, engine,
journal and resume, with an in-memory fleet (tests/unit/fake_fleet.py) and a fake clock.

The lab tests (tests/integration/test_rollout_lab.py, test_fault_matrix.py) prove the same against
real sshd hosts; these prove every branch of it without waiting for a node.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from rich.console import Console

from orchestrator.cardano.leader_schedule import LeaderSlot
from orchestrator.facts.model import HostFacts
from orchestrator.load.playbook import parse_serial
from orchestrator.load.runspec import RunSpec, compile_run
from orchestrator.model import HostStatus, Inventory, Phase, PlanAction
from orchestrator.plan import HostPlan, Plan, make_plan, plan_host
from orchestrator.report.console import print_plan
from orchestrator.report.plan_json import plan_as_json
from orchestrator.roll.engine import Recheck, Rollout, RolloutResult, RolloutSettings
from orchestrator.roll.host_run import HostState
from orchestrator.roll.journal import OBSERVATIONS, Event, Journal, last_phases
from orchestrator.roll.resume import reconcile_host, unfinished_hosts
from tests.unit.facts_builder import host_facts
from tests.unit.fake_fleet import FakeClock, FakeNode, FakeRemote, fleet
from tests.unit.playbooks import read_playbook

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "orchestrator" / "cardano" / "data"
UPGRADE = ROOT / "playbooks" / "upgrade-8.9.0.yml"


def Facts(config_text: str, topology_text: str, **fields: Any) -> HostFacts:  # noqa: N802 (read as the record)
    return host_facts(config_text=config_text, topology_text=topology_text, **fields)


def legacy_config() -> str:
    cfg = json.loads((DATA / "8.7.3" / "mainnet" / "config.json").read_text())
    cfg["EnableP2P"] = False
    return json.dumps(cfg, indent=2) + "\n"


@dataclass
class World:
    inventory: Inventory
    spec: RunSpec
    plan: Plan
    remote: FakeRemote
    clock: FakeClock
    journal: Journal
    original: dict[str, dict[str, bytes]]
    events: list[Event]

    def run(self, recheck: bool = True) -> RolloutResult:
        rollout = Rollout(self.plan, self.remote, self.journal, RolloutSettings(gate=self.spec.gate),
                          sample=self.remote.sample, emit=self.events.append, clock=self.clock, sleep=self.clock.sleep,
                          relays=self.inventory.relays, wall=lambda: WALL0 + self.clock(),
                          replan=self.recheck if recheck else None)  # fmt: skip
        return rollout.execute(self.spec.stages)

    def recheck(self, hp: HostPlan) -> Recheck:
        """What run's recheck_host does, over the fake node: its files now, planned again."""
        node = self.remote.nodes[hp.host.name]
        layout = hp.host.layout
        facts = Facts(node.files[layout.config_path].decode(), node.files[layout.topology_path].decode(),
                      node_version=node.running, releases=tuple(sorted(node.releases)))  # fmt: skip
        fresh = plan_host(hp.host, self.inventory, facts, self.spec.release, self.spec.programs[hp.host.name])
        digests = {p: hashlib.sha256(node.files[p]).hexdigest() for p in (layout.config_path, layout.topology_path)}
        return Recheck(fresh, digests)

    def statuses(self, result: RolloutResult) -> dict[str, HostStatus]:
        return {name: o.status for name, o in result.outcomes.items()}

    def phases(self, host: str) -> list[Phase]:
        """The host's rollout steps in the journal (observations such as node_phase left out)."""
        return [e.phase for e in Journal.read(self.journal.path) if e.host == host and e.phase not in OBSERVATIONS]

    def whole(self, name: str) -> str:
        """'upgraded' or 'rolled back' — anything in between fails the test."""
        node = self.remote.nodes[name]
        planned = {c.path: c.content for c in self.plan.host(name).files}
        if self.remote.upgraded(name) and all(node.files.get(p) == c for p, c in planned.items()):
            return "upgraded"
        assert node.files == self.original[name], f"{name}: files neither old nor new"
        assert (node.link, node.running, node.active) == ("releases/8.7.3/bin", "8.7.3", True), node
        return "rolled back"


WALL0 = 1_700_000_000.0  # the wall clock (unix seconds) when the fake clock reads 0


def world(tmp_path: Path, relays: int = 3, producers: int = 1, *, serial: Any = None, max_fail: float | None = None,
          min_healthy: int | None = None, extra: dict[str, Any] | None = None, limit: str | None = None,
          producer_facts: dict[str, Any] | None = None) -> World:  # fmt: skip
    """producer_facts: extra fact fields of every block producer (leader_schedule, remaining KES...);
    with `leader_schedule` in them, the producers' inventory sets the variable too."""
    inventory = fleet(relays, producers)
    if producer_facts and "leader_schedule" in producer_facts:
        setting = {"source": "file", "path": "/var/lib/pool/schedule.json"}
        hosts = tuple(replace(h, vars=MappingProxyType({**h.vars, "leader_schedule": setting})) if h.is_producer else h
                      for h in inventory.hosts)  # fmt: skip
        inventory = replace(inventory, hosts=hosts)
    book = read_playbook(UPGRADE)
    stages = []
    for stage in book.stages:
        if stage.name == "relays" and serial is not None:
            stage = replace(stage, serial=parse_serial(serial))
        if max_fail is not None:
            stage = replace(stage, max_fail_percentage=max_fail)
        if min_healthy is not None:
            stage = replace(stage, min_healthy_relays=min_healthy)
        stages.append(stage)
    book = replace(book, stages=tuple(stages))
    spec = compile_run(book, inventory, extra_vars=extra, limit=limit)
    config = legacy_config()
    facts = {h.name: Facts(config, json.dumps({"Producers": []}) + "\n", **(producer_facts or {}) if h.is_producer else {})
             for h in inventory.hosts}  # fmt: skip
    plan = make_plan(inventory, spec.hosts, facts, spec.release, spec.batches, spec.programs)
    relay_addresses = tuple(h.peer_address for h in inventory.relays)
    nodes = {
        h.name: FakeNode(h, {h.layout.config_path: config.encode(), h.layout.topology_path: facts[h.name].topology_text.encode()},
                         peers=relay_addresses if h.is_producer else ("198.51.100.7", "198.51.100.8"))
        for h in inventory.hosts
    }  # fmt: skip
    clock = FakeClock()
    original = {name: dict(node.files) for name, node in nodes.items()}
    return World(inventory, spec, plan, FakeRemote(nodes, clock), clock, Journal(tmp_path / "state", "run1"), original,
                 [])  # fmt: skip


# ---- order, batches, block producers -------------------------------------------------------------


def test_each_host_goes_through_the_fixed_order(tmp_path: Path) -> None:
    w = world(tmp_path, relays=2, producers=1)
    result = w.run()
    assert result.ok and w.statuses(result) == dict.fromkeys(("relay1", "relay2", "bp1"), HostStatus.UPGRADED)
    ops = [op for op, host in w.remote.log if host == "relay1"]
    assert ops == ["lock", "stage", "backup", "write", "switch", "restart", "prune_backups", "unlock"]
    assert w.phases("relay1") == [Phase.STAGED, Phase.BACKED_UP, Phase.FILES_WRITTEN, Phase.BINARY_SWITCHED,
                                  Phase.RESTARTED, Phase.GATE_PASSED, Phase.SOAK_PASSED, Phase.DONE]  # fmt: skip
    # every host staged before any host is touched
    first_backup = w.remote.log.index(("backup", "relay1"))
    assert {h for op, h in w.remote.log[:first_backup] if op == "stage"} == {"relay1", "relay2", "bp1"}
    assert all(w.whole(n) == "upgraded" for n in ("relay1", "relay2", "bp1"))


@pytest.mark.parametrize(("relays", "serial", "batches"), [
    (5, [1, "50%"], [["relay1"], ["relay2", "relay3"], ["relay4", "relay5"]]),
    (4, 1, [["relay1"], ["relay2"], ["relay3"], ["relay4"]]),
    (4, "50%", [["relay1", "relay2"], ["relay3", "relay4"]]),
    (3, [1, 2], [["relay1"], ["relay2", "relay3"]]),
    (3, None, [["relay1"], ["relay2"], ["relay3"]]),  # the shipped playbook: [1, "50%"] of 3 is 1, 1, 1
    (2, "100%", [["relay1", "relay2"]]),
])  # fmt: skip
def test_batches_follow_serial_and_block_producers_come_last_one_by_one(
    tmp_path: Path, relays: int, serial: Any, batches: list[list[str]]
) -> None:
    w = world(tmp_path, relays=relays, producers=2, serial=serial, min_healthy=0)
    assert w.run().ok
    assert w.remote.batches == [*batches, ["bp1"], ["bp2"]]


def test_block_producers_are_not_touched_after_a_relay_failed(tmp_path: Path) -> None:
    w = world(tmp_path, relays=3, producers=1, max_fail=100)
    w.remote.nodes["relay2"].never_syncs.add("8.9.0")
    result = w.run()
    assert w.statuses(result) == {"relay1": HostStatus.UPGRADED, "relay2": HostStatus.ROLLED_BACK,
                                  "relay3": HostStatus.UPGRADED, "bp1": HostStatus.UNTOUCHED}  # fmt: skip
    assert result.stopped_reason == "bp1 not touched: a relay failed its upgrade in this run"
    assert not [op for op, h in w.remote.log if h == "bp1" and op in ("backup", "write", "restart")]


# ---- max_fail_percentage --------------------------------------------------------------------------


@pytest.mark.parametrize(("max_fail", "statuses", "stopped"), [
    (0, ["upgraded", "rolled_back", "untouched", "untouched"], "stopped in stage relays: 1 of 4 host(s) failed"),
    (25, ["upgraded", "rolled_back", "upgraded", "upgraded"], None),  # 1 of 4 is 25%: not more than allowed
    (20, ["upgraded", "rolled_back", "untouched", "untouched"], "stopped in stage relays: 1 of 4 host(s) failed"),
])  # fmt: skip
def test_max_fail_percentage_stops_the_stage_only_past_the_threshold(
    tmp_path: Path, max_fail: float, statuses: list[str], stopped: str | None
) -> None:
    w = world(tmp_path, relays=4, producers=0, serial=1, max_fail=max_fail, min_healthy=0)
    w.remote.nodes["relay2"].never_syncs.add("8.9.0")
    result = w.run()
    assert [result.outcomes[f"relay{i}"].status for i in range(1, 5)] == statuses
    assert (result.stopped_reason or "").startswith(stopped or "") and (stopped is None) == (result.stopped_reason is None)
    for i in range(1, 5):
        assert w.whole(f"relay{i}") in ("upgraded", "rolled back")


# ---- min_healthy_relays ---------------------------------------------------------------------------


def test_min_healthy_relays_pauses_before_taking_a_relay_down(tmp_path: Path) -> None:
    w = world(tmp_path, relays=3, producers=1, min_healthy=2)
    for name in ("relay2", "relay3"):
        w.remote.nodes[name].active = False
    result = w.run()
    assert result.stopped_reason == ("paused before relay1: 0 healthy relay(s) outside the batch (none), "
                                     "min_healthy_relays is 2")  # fmt: skip
    assert not [op for op, _h in w.remote.log if op in ("backup", "write", "switch", "restart")]
    assert any(e.phase is Phase.PAUSED for e in Journal.read(w.journal.path))
    assert set(w.statuses(result).values()) == {HostStatus.UNTOUCHED}


def test_a_block_producer_needs_one_healthy_relay_even_with_min_healthy_zero(tmp_path: Path) -> None:
    w = world(tmp_path, relays=2, producers=1, min_healthy=0, limit="bp1")
    for name in ("relay1", "relay2"):
        w.remote.nodes[name].active = False
    result = w.run()
    assert result.stopped_reason == "paused before bp1: 0 healthy relay(s) outside the batch (none), min_healthy_relays is 1"
    assert result.outcomes["bp1"].status is HostStatus.UNTOUCHED and not w.remote.batches


def test_healthy_relays_count_ones_outside_limit(tmp_path: Path) -> None:
    """min_healthy_relays counts every relay of the inventory, also those --limit leaves out."""
    w = world(tmp_path, relays=3, producers=0, min_healthy=2, limit="relay1")
    assert [hp.host.name for hp in w.plan.hosts] == ["relay1"]
    assert w.run().ok
    w = world(tmp_path / "again", relays=3, producers=0, min_healthy=2, limit="relay1")
    w.remote.nodes["relay3"].active = False
    result = w.run()
    assert result.stopped_reason == ("paused before relay1: 1 healthy relay(s) outside the batch (relay2), "
                                     "min_healthy_relays is 2")  # fmt: skip


# ---- rollback -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["never_syncs", "crashes"])
def test_a_failed_gate_rolls_back_byte_for_byte_and_stops(tmp_path: Path, fault: str) -> None:
    w = world(tmp_path, relays=3, producers=1)
    getattr(w.remote.nodes["relay1"], fault).add("8.9.0")
    result = w.run()
    assert w.statuses(result) == {"relay1": HostStatus.ROLLED_BACK, "relay2": HostStatus.UNTOUCHED,
                                  "relay3": HostStatus.UNTOUCHED, "bp1": HostStatus.UNTOUCHED}  # fmt: skip
    assert w.whole("relay1") == "rolled back"
    assert w.phases("relay1")[-3:] == [Phase.FAILED, Phase.ROLLING_BACK, Phase.ROLLED_BACK]
    assert [op for op, h in w.remote.log if h == "relay1"].count("restart") == 2
    failed = next(e for e in Journal.read(w.journal.path) if e.phase is Phase.FAILED)
    assert failed.data["reason"].startswith("gate: ")
    assert w.clock() >= 120  # it waited out the stall in fake time


def test_a_rollback_whose_old_node_does_not_come_back_is_failed_not_rolled_back(tmp_path: Path) -> None:
    w = world(tmp_path, relays=2, producers=0, min_healthy=0)
    w.remote.nodes["relay1"].crashes.update({"8.9.0", "8.7.3"})
    result = w.run()
    assert result.outcomes["relay1"].status is HostStatus.FAILED
    assert "ROLLBACK INCOMPLETE" in result.outcomes["relay1"].detail
    assert w.phases("relay1")[-1] is Phase.ROLLBACK_FAILED
    assert w.remote.nodes["relay1"].files == w.original["relay1"]  # the files are back even so


@pytest.mark.parametrize("op", ["backup", "write"])
def test_a_failed_backup_or_write_changes_nothing_that_stays(tmp_path: Path, op: str) -> None:
    w = world(tmp_path, relays=2, producers=0, min_healthy=0)
    w.remote.nodes["relay1"].fail.add(op)
    result = w.run()
    assert result.outcomes["relay1"].status in (HostStatus.FAILED, HostStatus.ROLLED_BACK)
    assert w.whole("relay1") == "rolled back"
    assert result.outcomes["relay2"].status is HostStatus.UNTOUCHED
    assert "restart" not in [o for o, h in w.remote.log if h == "relay1"]  # the running node was never touched


def test_a_staging_failure_stops_before_any_host_is_changed(tmp_path: Path) -> None:
    w = world(tmp_path, relays=3, producers=1)
    w.remote.nodes["relay3"].fail.add("stage")
    result = w.run()
    assert result.stopped_reason == "staging failed on relay3: nothing running was changed"
    assert not [op for op, _h in w.remote.log if op in ("backup", "write", "switch", "restart")]
    assert all(n.lock_holder is None for n in w.remote.nodes.values())  # locks released


def test_a_host_locked_by_another_run_refuses_the_run_and_releases_the_others(tmp_path: Path) -> None:
    w = world(tmp_path, relays=3, producers=1)
    w.remote.nodes["relay2"].lock_holder = "20990101T000000Z-other0"
    result = w.run()
    assert result.stopped_reason is not None and "run 20990101T000000Z-other0" in result.stopped_reason
    assert [n.lock_holder for n in w.remote.nodes.values()] == [None, "20990101T000000Z-other0", None, None]
    assert not [op for op, _h in w.remote.log if op in ("stage", "backup")]


# ---- settings that reach the run ------------------------------------------------------------------


@pytest.mark.parametrize(("min_hot_peers", "status"), [(2, HostStatus.UPGRADED), (3, HostStatus.ROLLED_BACK)])
def test_sync_min_hot_peers_reaches_the_gate(tmp_path: Path, min_hot_peers: int, status: HostStatus) -> None:
    """Relays here have 2 hot peers: -e sync_min_hot_peers=3 makes their gate fail (and roll back)."""
    w = world(tmp_path, relays=2, producers=0, min_healthy=0, extra={"sync_min_hot_peers": str(min_hot_peers)})
    result = w.run()
    assert result.outcomes["relay1"].status is status
    if status is HostStatus.ROLLED_BACK:
        assert "2 hot peer(s), want at least 3" in result.outcomes["relay1"].detail


def test_a_reload_plan_sends_sighup_and_never_restarts(tmp_path: Path) -> None:
    w = world(tmp_path, relays=2, producers=0, min_healthy=0)
    plan = replace(w.plan, hosts=tuple(replace(hp, action=PlanAction.RELOAD, switch_binary=False)
                                       for hp in w.plan.hosts))  # fmt: skip
    w = replace(w, plan=plan)
    for node in w.remote.nodes.values():
        node.running = "8.9.0"
        node.link = "releases/8.9.0/bin"
        node.releases.add("8.9.0")
    assert w.run().ok
    verbs = [op for op, _h in w.remote.log if op in ("restart", "reload")]
    assert verbs == ["reload", "reload"]


# ---- resume from every phase ----------------------------------------------------------------------


class Killed(BaseException):
    """SIGKILL of the orchestrator, right after the event was journaled."""


def run_killed_at(w: World, host: str, phase: Phase) -> None:
    """Run the world's plan and kill the orchestrator right after `host`'s first `phase` is journaled."""

    def kill_at(event: Event) -> None:
        if event.host == host and event.phase is phase:
            raise Killed

    rollout = Rollout(w.plan, w.remote, w.journal, RolloutSettings(gate=w.spec.gate), sample=w.remote.sample,
                      emit=kill_at, clock=w.clock, sleep=w.clock.sleep, relays=w.inventory.relays)  # fmt: skip
    with pytest.raises(Killed):
        rollout.execute(w.spec.stages)


KILL_POINTS = [
    (Phase.BACKED_UP, (), "rolled back"),
    (Phase.FILES_WRITTEN, (), "rolled back"),
    (Phase.BINARY_SWITCHED, (), "rolled back"),
    (Phase.RESTARTED, (), "upgraded"),
    (Phase.GATE_PASSED, (), "upgraded"),
    (Phase.RESTARTED, ("never_syncs",), "rolled back"),  # the gate on resume judges the node it finds
    (Phase.FAILED, ("never_syncs",), "rolled back"),
    (Phase.ROLLING_BACK, ("never_syncs",), "rolled back"),
    (Phase.ROLLBACK_FAILED, ("crashes_once",), "rolled back"),  # the old node came back late: resume retries
]


@pytest.mark.parametrize(("phase", "faults", "end"), KILL_POINTS, ids=[f"{p}-{'-'.join(f) or 'ok'}" for p, f, _ in KILL_POINTS])
def test_resume_from_every_phase_ends_each_host_whole(tmp_path: Path, phase: Phase, faults: tuple[str, ...],
                                                      end: str) -> None:  # fmt: skip
    w = world(tmp_path, relays=2, producers=1)
    relay1 = w.remote.nodes["relay1"]
    if "never_syncs" in faults:
        relay1.never_syncs.add("8.9.0")
    if "crashes_once" in faults:
        relay1.crashes.update({"8.9.0", "8.7.3"})
    run_killed_at(w, "relay1", phase)
    relay1.crashes.clear()  # whatever made the old node fail is gone by the time the operator resumes
    events = Journal.read(w.journal.path)
    unfinished = unfinished_hosts(events)
    assert list(unfinished) == ["relay1"] and unfinished["relay1"].phase is phase
    verdict = reconcile_host(w.inventory.host("relay1"), phase, HostState.from_journal(events, "relay1"), remote=w.remote,
                             journal=w.journal, sample=w.remote.sample, policy=w.spec.gate, clock=w.clock,
                             sleep=w.clock.sleep)  # fmt: skip
    assert w.whole("relay1") == end, verdict
    after = Journal.read(w.journal.path)
    assert last_phases(after)["relay1"].phase in (Phase.DONE, Phase.ROLLED_BACK)
    assert not unfinished_hosts(after)
    for other in ("relay2", "bp1"):
        assert w.whole(other) == "rolled back"  # untouched: the original files, link and node


def test_hosts_that_were_not_changed_yet_are_left_to_the_next_run(tmp_path: Path) -> None:
    journal = Journal(tmp_path, "run1")
    for host, phase in [("relay1", Phase.PLANNED), ("relay2", Phase.STAGED), ("bp1", Phase.STAGE_FAILED),
                        ("relay3", Phase.DONE), ("relay4", Phase.ROLLED_BACK), ("relay5", Phase.FILES_WRITTEN)]:
        journal.record(host, phase)
    assert list(unfinished_hosts(Journal.read(journal.path))) == ["relay5"]


# ---- block producers: the restart window between leader slots, and KES ---------------------------


def slots(*offsets: float) -> tuple[LeaderSlot, ...]:
    """Leader slots at these offsets (seconds) from the wall clock at fake time 0."""
    return tuple(LeaderSlot(WALL0 + o, 100_000_000 + int(o)) for o in offsets)


def restart_time(w: World, host: str) -> float:
    return next(t for op, h, t in w.remote.times if (op, h) == ("restart", host))


def test_a_producer_restarts_only_after_a_leader_slot_90s_ahead_has_passed(tmp_path: Path) -> None:
    """Default margin (120 s) and settle (30 s); last start 60 s: a slot 90 s ahead blocks the restart."""
    w = world(tmp_path, relays=2, producers=1, limit="bp1",
              producer_facts={"leader_schedule": slots(90, 5000), "last_start_seconds": 60.0})  # fmt: skip
    result = w.run()
    assert result.ok and result.outcomes["bp1"].status is HostStatus.UPGRADED
    assert restart_time(w, "bp1") >= 90 + 30  # after the slot, plus its settle time
    assert [op for op, h in w.remote.log if h == "bp1"][:3] == ["lock", "stage", "backup"]
    first_touch = next(t for op, h, t in w.remote.times if (op, h) == ("backup", "bp1"))
    assert first_touch >= 120  # nothing was touched while it waited
    wait = next(e for e in Journal.read(w.journal.path) if e.phase is Phase.LEADER_WAIT)
    assert wait.data["seconds"] == 120 and "leader slot at 2023-11-14 22:14:50 UTC" in wait.data["reason"]
    countdown = [e.data["seconds_left"] for e in w.events if e.phase is Phase.WINDOW_COUNTDOWN]
    assert countdown[0] == 120 and countdown == sorted(countdown, reverse=True) and len(countdown) == 120
    journal_text = w.journal.path.read_text()
    assert "100005000" not in journal_text and "WINDOW_COUNTDOWN" not in journal_text.upper()  # decision only


def test_a_producer_with_no_slot_near_restarts_at_once(tmp_path: Path) -> None:
    w = world(tmp_path, relays=2, producers=1, limit="bp1",
              producer_facts={"leader_schedule": slots(-4000, 900), "last_start_seconds": 60.0})  # fmt: skip
    assert w.run().ok
    assert restart_time(w, "bp1") == 0
    assert not [e for e in Journal.read(w.journal.path) if e.phase is Phase.LEADER_WAIT]


def test_a_slot_close_behind_the_first_is_waited_out_too(tmp_path: Path) -> None:
    w = world(tmp_path, relays=2, producers=1, limit="bp1",
              producer_facts={"leader_schedule": slots(90, 250, 9000), "last_start_seconds": 60.0})  # fmt: skip
    assert w.run().ok
    assert restart_time(w, "bp1") >= 250 + 30


def test_the_window_settings_reach_the_engine(tmp_path: Path) -> None:
    """-e leader_settle_seconds / leader_margin_seconds change when (and whether) the producer waits."""
    facts = {"leader_schedule": slots(90), "last_start_seconds": 60.0}
    w = world(tmp_path, relays=2, producers=1, limit="bp1", producer_facts=facts, extra={"leader_settle_seconds": "5"})
    assert w.run().ok and 95 <= restart_time(w, "bp1") < 100
    w = world(tmp_path / "m", relays=2, producers=1, limit="bp1", producer_facts=facts,
              extra={"leader_margin_seconds": "10"})  # 60 s + 10 s fits before a slot 90 s ahead
    assert w.run().ok and restart_time(w, "bp1") == 0


def test_packed_slots_leave_the_producer_untouched_and_say_why(tmp_path: Path) -> None:
    packed = slots(*range(60, 8000, 150))  # every 150 s: never 180 s clear
    w = world(tmp_path, relays=2, producers=1, limit="bp1",
              producer_facts={"leader_schedule": packed, "last_start_seconds": 60.0})  # fmt: skip
    result = w.run()
    out = result.outcomes["bp1"]
    assert out.status is HostStatus.DEFERRED and not result.ok
    assert "no window of 3 min within 60 min" in out.detail and "left untouched" in out.detail
    assert not [op for op, h in w.remote.log if h == "bp1" and op in ("backup", "write", "switch", "restart")]
    assert w.whole("bp1") == "rolled back"  # i.e. exactly as it was
    assert w.phases("bp1")[-1] is Phase.DEFERRED and not unfinished_hosts(Journal.read(w.journal.path))


def test_a_deferred_producer_is_not_a_failure_the_next_one_still_upgrades(tmp_path: Path) -> None:
    w = world(tmp_path, relays=2, producers=2, limit="bp1,bp2",
              producer_facts={"leader_schedule": slots(*range(60, 8000, 150)), "last_start_seconds": 60.0})
    w.plan = replace(w.plan, hosts=tuple(
        hp if hp.host.name != "bp2" or hp.leader is None else replace(hp, leader=replace(hp.leader, slots=()))
        for hp in w.plan.hosts))  # fmt: skip
    result = w.run()
    assert result.outcomes["bp1"].status is HostStatus.DEFERRED
    assert result.outcomes["bp2"].status is HostStatus.UPGRADED and result.stopped_reason is None


@pytest.mark.parametrize(("remaining", "status"), [(3, HostStatus.REFUSED), (0, HostStatus.REFUSED),
                                                   (4, HostStatus.UPGRADED), (None, HostStatus.UPGRADED)])
def test_a_producer_whose_kes_expires_within_the_threshold_is_refused(tmp_path: Path, remaining: int | None,
                                                                       status: HostStatus) -> None:  # fmt: skip
    w = world(tmp_path, relays=2, producers=1, limit="bp1", producer_facts={"remaining_kes_periods": remaining})
    result = w.run()
    out = result.outcomes["bp1"]
    assert out.status is status
    if status is HostStatus.REFUSED:
        assert f"KES expires in {remaining} period(s)" in out.detail and "threshold of 3" in out.detail
        assert "rotate the KES key" in out.detail
        assert not [op for op, h in w.remote.log if h == "bp1" and op in ("backup", "write", "restart")]


def test_a_configured_schedule_that_cannot_be_read_stops_the_producer_only(tmp_path: Path) -> None:
    w = world(tmp_path, relays=2, producers=1,
              producer_facts={"leader_schedule": None, "leader_schedule_error": "/var/lib/pool/schedule.json: exit 1"})
    assert w.plan.host("bp1").error is not None and "could not be read" in (w.plan.host("bp1").error or "")
    result = w.run()
    assert result.outcomes["bp1"].status is HostStatus.SKIPPED
    assert result.outcomes["relay1"].status is HostStatus.UPGRADED


def test_leader_schedule_changes_the_plan(tmp_path: Path) -> None:
    def leader(w: World) -> dict[str, Any]:
        doc = plan_as_json(w.plan, now=WALL0)
        return next(h["leader"] for h in doc["hosts"] if h["host"] == "bp1")

    without = leader(world(tmp_path / "a", relays=2, producers=1, producer_facts={"last_start_seconds": 60.0}))
    assert without["schedule"] is None and without["window_reason"] == "no leader schedule: a restart may cost a block"
    with_it = leader(world(tmp_path / "b", relays=2, producers=1,
                           producer_facts={"leader_schedule": slots(90), "last_start_seconds": 60.0}))  # fmt: skip
    assert with_it["schedule"] == "file /var/lib/pool/schedule.json" and with_it["window"] == "wait"
    relay = next(h for h in plan_as_json(world(tmp_path / "c").plan)["hosts"] if h["host"] == "relay1")
    assert relay["leader"] is None
# ---- issue 17: stale plans, dropped connections, clock skew, a node that dies after its gate -----------

EDITED = json.dumps({"Producers": [{"addr": "198.51.100.99", "port": 3001, "valency": 1}]}) + "\n"


def topology(w: World, name: str) -> bytes:
    return w.remote.nodes[name].files[w.remote.nodes[name].host.layout.topology_path]


def test_a_topology_edited_after_the_plan_is_replanned_from_the_new_bytes_and_the_edit_kept(tmp_path: Path) -> None:
    w = world(tmp_path, relays=2, producers=0, min_healthy=0)
    node = w.remote.nodes["relay2"]
    node.files[node.host.layout.topology_path] = EDITED.encode()  # edited after the plan, before relay2's turn
    result = w.run()
    assert w.statuses(result) == {"relay1": HostStatus.UPGRADED, "relay2": HostStatus.UPGRADED}
    written = json.loads(topology(w, "relay2"))
    assert "198.51.100.99" in json.dumps(written)  # the edit is in what relay2 runs with
    assert written != json.loads(w.plan.host("relay2").files[1].content)  # not the stale plan's bytes
    replanned = [e for e in Journal.read(w.journal.path) if e.host == "relay2" and e.phase is Phase.REPLANNED]
    assert len(replanned) == 1 and "changed since the plan" in replanned[0].data["reason"]
    assert "198.51.100.99" in replanned[0].data["diffs"][node.host.layout.topology_path]  # the new diff
    assert any(e.phase is Phase.REPLANNED and e.host == "relay2" for e in w.events)  # shown live
    assert [e.phase for e in Journal.read(w.journal.path) if e.host == "relay1" and e.phase is Phase.REPLANNED] == []


def test_an_edit_that_cannot_be_planned_leaves_the_host_untouched_with_the_reason(tmp_path: Path) -> None:
    w = world(tmp_path, relays=2, producers=0, min_healthy=0)
    node = w.remote.nodes["relay2"]
    node.files[node.host.layout.topology_path] = b'{"Producers": [ oops'
    result = w.run()
    assert w.statuses(result) == {"relay1": HostStatus.UPGRADED, "relay2": HostStatus.SKIPPED}
    assert not result.ok and result.stopped_reason is None  # nothing went down: the others go on
    detail = result.outcomes["relay2"].detail
    assert detail.startswith("left untouched: ") and "topology.json (sha256" in detail
    assert "changed since the plan" in detail
    assert topology(w, "relay2") == b'{"Producers": [ oops'  # the operator's bytes, as they left them
    assert [op for op, h in w.remote.log if h == "relay2"] == ["lock", "stage", "unlock"]  # no backup, no write
    assert w.phases("relay2")[-1] is Phase.LEFT_UNTOUCHED


def test_an_edit_racing_the_write_is_never_overwritten(tmp_path: Path) -> None:
    """Between the re-check and the rename: the compare-and-swap refuses, nothing is written or restarted."""
    w = world(tmp_path, relays=2, producers=0, min_healthy=0)
    node = w.remote.nodes["relay2"]
    node.before_write = lambda n: n.files.__setitem__(n.host.layout.topology_path, EDITED.encode())
    result = w.run()
    assert result.outcomes["relay2"].status is HostStatus.SKIPPED
    assert "changed since the plan" in result.outcomes["relay2"].detail
    assert "nothing was written" in result.outcomes["relay2"].detail
    assert topology(w, "relay2") == EDITED.encode()
    assert node.files[node.host.layout.config_path] == w.original["relay2"][node.host.layout.config_path]
    assert node.backups == {}  # this run's backups are gone: a later backup is taken fresh
    ops = [op for op, h in w.remote.log if h == "relay2"]
    assert "restart" not in ops and "switch" not in ops and "drop_backups" in ops
    assert (node.link, node.running) == ("releases/8.7.3/bin", "8.7.3")


def test_without_a_recheck_a_stale_plan_still_never_overwrites_an_edit(tmp_path: Path) -> None:
    w = world(tmp_path, relays=1, producers=0, min_healthy=0)
    node = w.remote.nodes["relay1"]
    node.files[node.host.layout.topology_path] = EDITED.encode()
    result = w.run(recheck=False)
    assert result.outcomes["relay1"].status is HostStatus.SKIPPED
    assert topology(w, "relay1") == EDITED.encode()


def test_a_dropped_connection_during_the_write_is_waited_for_and_the_write_resumed(tmp_path: Path) -> None:
    w = world(tmp_path, relays=2, producers=0, min_healthy=0)
    w.remote.nodes["relay1"].drop_writes = 2
    result = w.run()
    assert w.statuses(result) == {"relay1": HostStatus.UPGRADED, "relay2": HostStatus.UPGRADED}
    assert w.whole("relay1") == "upgraded"
    lost = [e for e in Journal.read(w.journal.path) if e.host == "relay1" and e.phase is Phase.CONNECTION_LOST]
    assert [e.data["during"] for e in lost] == ["write", "write"]
    back = [e for e in Journal.read(w.journal.path) if e.host == "relay1" and e.phase is Phase.RECONNECTED]
    assert [e.data["during"] for e in back] == ["write"]
    assert [op for op, h in w.remote.log if h == "relay1"].count("write") == 3


def test_a_write_whose_host_stays_unreachable_is_bounded_then_rolled_back(tmp_path: Path) -> None:
    w = world(tmp_path, relays=2, producers=0, min_healthy=0)
    w.remote.nodes["relay1"].drop_writes = 99
    result = w.run()
    assert [op for op, h in w.remote.log if h == "relay1"].count("write") == 5  # ReconnectPolicy.attempts
    assert result.outcomes["relay1"].status is HostStatus.ROLLED_BACK
    assert w.whole("relay1") == "rolled back"


def test_a_host_unreachable_for_seconds_during_its_gate_is_upgraded_not_rolled_back(tmp_path: Path) -> None:
    w = world(tmp_path, relays=2, producers=0, min_healthy=0, extra={"sync_stall_seconds": "20"})
    w.remote.nodes["relay1"].unreachable_until = 8.0  # the gate starts at 0 on the fake clock
    result = w.run()
    assert w.statuses(result) == {"relay1": HostStatus.UPGRADED, "relay2": HostStatus.UPGRADED}
    seen = [(e.phase, e.data.get("during")) for e in Journal.read(w.journal.path) if e.host == "relay1"
            and e.phase in (Phase.CONNECTION_LOST, Phase.RECONNECTED)]  # fmt: skip
    assert seen == [(Phase.CONNECTION_LOST, "gate"), (Phase.RECONNECTED, "gate")]


def test_a_host_unreachable_past_the_stall_rule_is_judged_by_it_not_at_once(tmp_path: Path) -> None:
    w = world(tmp_path, relays=2, producers=0, min_healthy=0, extra={"sync_stall_seconds": "20"})
    w.remote.nodes["relay1"].unreachable_until = 1e9
    result = w.run()
    out = result.outcomes["relay1"]
    assert out.status is HostStatus.FAILED  # its rollback could not be verified either: it is unreachable
    assert "gate: tip stalled after 20s: host unreachable" in out.detail and "ROLLBACK INCOMPLETE" in out.detail
    assert result.outcomes["relay2"].status is HostStatus.UNTOUCHED


def test_a_node_that_dies_during_the_soak_is_a_gate_failure_and_rolled_back(tmp_path: Path) -> None:
    w = world(tmp_path, relays=2, producers=0, min_healthy=0, extra={"sync_soak_seconds": "60"})
    w.remote.nodes["relay1"].dies_after["8.9.0"] = 30.0  # passes its gate (a few s), dies 30 s after its start
    result = w.run()
    assert w.statuses(result) == {"relay1": HostStatus.ROLLED_BACK, "relay2": HostStatus.UNTOUCHED}
    assert w.whole("relay1") == "rolled back"
    failed = [e for e in Journal.read(w.journal.path) if e.host == "relay1" and e.phase is Phase.FAILED]
    # the gate passed 10 s after the start (one poll interval), the node died at 30 s: 20 s into the soak
    assert failed[0].data["reason"] == "soak: service is not active, 20 s into the 60 s soak"
    assert Phase.GATE_PASSED in w.phases("relay1")  # it did pass the gate first


def test_a_node_that_holds_through_the_soak_counts_as_done_only_after_it(tmp_path: Path) -> None:
    w = world(tmp_path, relays=1, producers=0, min_healthy=0, extra={"sync_soak_seconds": "45"})
    w.remote.nodes["relay1"].dies_after["8.9.0"] = 500.0
    result = w.run()
    assert result.outcomes["relay1"].status is HostStatus.UPGRADED
    soak = [e for e in Journal.read(w.journal.path) if e.host == "relay1" and e.phase is Phase.SOAK_PASSED]
    assert soak and soak[0].data["seconds"] >= 45


@pytest.mark.parametrize(("skew", "refused"), [(300.0, True), (-300.0, True), (29.0, False)])
def test_a_host_whose_clock_is_off_is_refused_with_the_skew(tmp_path: Path, skew: float, refused: bool) -> None:
    w = world(tmp_path, relays=1, producers=0, min_healthy=0)
    facts = Facts(legacy_config(), json.dumps({"Producers": []}) + "\n", clock_skew=skew)
    hp = plan_host(w.inventory.hosts[0], w.inventory, facts, w.spec.release, w.spec.programs["relay1"])
    if refused:
        way = "ahead of" if skew > 0 else "behind"
        assert hp.error is not None and hp.error.startswith(f"host clock is 300 s {way} the control machine's")
        assert "max_clock_skew_seconds 30" in hp.error
    else:
        assert hp.error is None and hp.changed


def test_the_skew_is_a_fact_of_the_plan(tmp_path: Path) -> None:
    w = world(tmp_path, relays=1, producers=0, min_healthy=0)
    facts = {"relay1": Facts(legacy_config(), json.dumps({"Producers": []}) + "\n", clock_skew=12.34)}
    plan = make_plan(w.inventory, w.spec.hosts, facts, w.spec.release, w.spec.batches, w.spec.programs)
    assert plan.host("relay1").error is None
    assert plan_as_json(plan)["hosts"][0]["clock_skew_seconds"] == 12.3
    console = Console(record=True, width=200)
    print_plan(console, plan)
    assert "its clock is +12 s off the control machine's" in console.export_text()


def test_max_clock_skew_seconds_reaches_the_plan(tmp_path: Path) -> None:
    w = world(tmp_path, relays=1, producers=0, min_healthy=0, extra={"sync_max_clock_skew_seconds": "600"})
    facts = Facts(legacy_config(), json.dumps({"Producers": []}) + "\n", clock_skew=300.0)
    hp = plan_host(w.inventory.hosts[0], w.inventory, facts, w.spec.release, w.spec.programs["relay1"])
    assert hp.error is None
