"""upgrade-node's handover mode (roll/pool.py through roll/engine.py) on a fake clock: a pool of 2 relays,
bp1 and its standby on 10.6.4, upgraded to 11.0.1 by the real playbook, planner, engine, HostRun and
Handover; the fake nodes forge as the lab's do (a restart forges iff the credential files are present;
a SIGHUP re-reads them) and record every change of who forges, so each test proves there were never two
forgers. Failure points: the standby's upgrade, the handover itself, the old producer's upgrade; and
`run --resume` after a kill at each action of a whole pool upgrade."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType

import pytest

from orchestrator.cardano.layouts import IOG
from orchestrator.load.runspec import compile_run
from orchestrator.model import Host, HostStatus, Inventory, Phase, Role
from orchestrator.plan import make_plan
from orchestrator.roll.engine import Rollout, RolloutResult, RolloutSettings
from orchestrator.roll.handover import ForgingSample, HandoverPolicy
from orchestrator.roll.interrupt import StopFlag
from orchestrator.roll.journal import Journal, last_phases
from orchestrator.roll.pool import PoolSettings, resume_pools, resumed_upgrade, unfinished_pools
from orchestrator.roll.remote import Done
from orchestrator.roll.resume import resume_hosts
from tests.unit.facts_builder import host_facts
from tests.unit.fake_fleet import FakeClock, FakeNode, FakeRemote, fleet
from tests.unit.playbooks import read_playbook

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "orchestrator" / "cardano" / "data" / "10.6.4" / "mainnet"
PIN = {"version": "11.0.1", "url": "http://198.18.0.1:8080/cardano-node-11.0.1-linux.tar.gz", "sha256": "ab" * 32}
KEYS = "/opt/cardano/keys"
ARGV = ("cardano-node", "run", "--shelley-kes-key", f"{KEYS}/kes.skey", "--shelley-vrf-key", f"{KEYS}/vrf.skey",
        "--shelley-operational-certificate", f"{KEYS}/node.cert")  # fmt: skip
POOL = ("bp1", "bp1-standby")
QUICK = HandoverPolicy(sample_interval=1.0, quiet_seconds=3.0, stop_timeout=20.0, forging_timeout=20.0)


class Killed(BaseException):
    """The control machine died here: nothing after it ran."""


@dataclass
class Forge:
    """A producer's forging: on iff its files are present at its last start or SIGHUP (the standby
    starts non-producing: its files are away at every restart of ours)."""

    forging: bool
    present: bool
    checks: float = 0.0
    hup_error: bool = False  # answers a SIGHUP with BlockForgingUpdateError, state kept
    errors: int = 0


@dataclass
class Pool:
    forge: dict[str, Forge]
    clock: FakeClock
    record: list[tuple[float, frozenset[str]]] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    kill_at: int | None = None
    last: float = 0.0
    signal_after: str | None = None  # a stop signal right after this action
    flag: StopFlag | None = None

    def accrue(self) -> None:
        for f in self.forge.values():
            if f.forging:
                f.checks += self.clock() - self.last
        self.last = self.clock()

    def changed(self) -> None:
        self.record.append((self.clock(), frozenset(n for n, f in self.forge.items() if f.forging)))

    def act(self, what: str) -> None:
        if self.kill_at == len(self.actions):
            raise Killed(what)
        self.actions.append(what)
        if what == self.signal_after and self.flag is not None:
            self.flag.set("SIGTERM")  # as the signal handler does (the engine's main thread then raises)

    def never_two(self) -> bool:
        return all(len(who) <= 1 for _t, who in self.record)

    def forgers(self) -> set[str]:
        return {n for n, f in self.forge.items() if f.forging}


class PoolRemote(FakeRemote):
    """FakeRemote whose restarts start forging as the node does: iff the credential files are present."""

    pool: Pool

    def service(self, host: Host, verb: str) -> Done:
        f = self.pool.forge.get(host.name)
        if f is not None and verb in ("restart", "start", "stop"):
            self.pool.act(f"{verb} {host.name}")
            self.pool.accrue()
        done = super().service(host, verb)
        if f is not None:
            f.forging = verb != "stop" and f.present and self.nodes[host.name].active
            self.pool.changed()
        return done


@dataclass
class Forging:
    """The HandoverRemote over the fake pool."""

    pool: Pool
    nodes: dict[str, FakeNode]

    def sample(self, host: Host) -> ForgingSample:
        self.pool.accrue()
        f, node = self.pool.forge[host.name], self.nodes[host.name]
        if not node.active:
            return ForgingSample(self.pool.clock(), True, False, int(f.checks), f.errors, None)
        return ForgingSample(self.pool.clock(), True, f.forging, int(f.checks), f.errors, 2)

    def command_line(self, host: Host) -> tuple[str, ...] | str:
        return ARGV

    def set_credentials(self, host: Host, paths: Sequence[str], present: bool) -> Done:
        self.pool.act(f"{'present' if present else 'away'} {host.name}")
        self.pool.forge[host.name].present = present
        return Done(True)

    def sighup(self, host: Host) -> Done:
        self.pool.act(f"sighup {host.name}")
        self.pool.accrue()
        f = self.pool.forge[host.name]
        if f.hup_error:
            f.errors += 1
        else:
            f.forging = f.present
        self.pool.changed()
        return Done(True)


@dataclass
class World:
    inventory: Inventory
    remote: PoolRemote
    pool: Pool
    journal: Journal
    tmp: Path
    clock: FakeClock

    def run(self, handover: bool = True, pools: bool = True, stop: StopFlag | None = None,
            limit: str | None = None) -> RolloutResult:  # fmt: skip
        spec = compile_run(read_playbook(ROOT / "playbooks" / "upgrade-node.yml"), self.inventory, limit=limit)
        nodes = self.remote.nodes
        facts = {h.name: host_facts(config_text=nodes[h.name].files[h.layout.config_path].decode(),
                                    topology_text=nodes[h.name].files[h.layout.topology_path].decode(),
                                    node_version=nodes[h.name].running, releases=tuple(sorted(nodes[h.name].releases)))
                 for h in self.inventory.hosts}  # the hosts as they are now (a second run plans from them)  # fmt: skip
        plan = make_plan(self.inventory, spec.hosts, facts, spec.release, spec.batches, spec.programs)
        settings = PoolSettings(Forging(self.pool, self.remote.nodes), handover, QUICK) if pools else None
        rollout = Rollout(plan, self.remote, self.journal, RolloutSettings(gate=spec.gate), sample=self.remote.sample,
                          clock=self.clock, sleep=self.clock.sleep, relays=self.inventory.relays,
                          wall=lambda: 1_700_000_000.0 + self.clock(), hosts=self.inventory.hosts,
                          pools=settings, stop=stop)  # fmt: skip
        return rollout.execute(spec.stages)

    def on(self, name: str) -> str:
        return self.remote.nodes[name].running


def world(tmp_path: Path) -> World:
    inv = fleet(2, 1, node_release=PIN)
    sb = Host("bp1-standby", Role.BLOCK_PRODUCER, "203.0.113.150", IOG, vars=MappingProxyType({"node_release": PIN}),
              standby_for="bp1")  # fmt: skip
    groups = dict(inv.groups)
    groups["block_producers"] = (*groups["block_producers"], sb.name)
    groups["standby_producers"] = (sb.name,)
    inv = replace(inv, hosts=(*inv.hosts, sb), groups=MappingProxyType(groups))
    cfg, topo = (DATA / "mainnet-config.json").read_bytes(), (DATA / "mainnet-topology.json").read_bytes()
    relays = tuple(h.peer_address for h in inv.relays)
    nodes = {h.name: FakeNode(h, {h.layout.config_path: cfg, h.layout.topology_path: topo}, releases={"10.6.4"},
                              link="releases/10.6.4/bin", running="10.6.4", ledger="UTXO_HD_MEM",
                              peers=relays if h.is_producer else ("198.51.100.7",))
             for h in inv.hosts}  # fmt: skip
    clock = FakeClock()
    pool = Pool({"bp1": Forge(True, True), "bp1-standby": Forge(False, True)}, clock)
    pool.changed()
    remote = PoolRemote(nodes, clock)
    remote.pool = pool
    return World(inv, remote, pool, Journal(tmp_path / "state", "run1"), tmp_path, clock)


def test_the_pool_is_upgraded_with_a_handover_and_the_old_producer_ends_as_the_upgraded_standby(tmp_path: Path) -> None:
    w = world(tmp_path)
    result = w.run()
    assert result.ok, {n: o.detail for n, o in result.outcomes.items()}
    assert w.on("bp1") == w.on("bp1-standby") == "11.0.1"
    assert w.pool.forgers() == {"bp1-standby"} and w.pool.never_two()
    assert not w.pool.forge["bp1"].present and w.pool.forge["bp1-standby"].present
    acts = w.pool.actions
    # the standby's files away before its restart; bp1 disabled only after the standby's upgrade; the
    # standby enabled only after bp1's SIGHUP; bp1 restarted (files away) only after the standby forges
    assert acts.index("away bp1-standby") < acts.index("restart bp1-standby") < acts.index("sighup bp1") \
        < acts.index("sighup bp1-standby") < acts.index("restart bp1")
    assert "handover handed_over: bp1-standby forges" in result.outcomes["bp1"].detail
    assert "bp1 is the upgraded standby" in result.outcomes["bp1"].detail
    # the journal's host steps are the hosts' own: the handover's phases never read as bp1's last step
    events = Journal.read(w.journal.path)
    assert last_phases(events)["bp1"].phase is Phase.DONE and not unfinished_pools(events)


def test_the_standby_upgrade_fails_nothing_is_handed_over_and_the_producer_is_untouched(tmp_path: Path) -> None:
    w = world(tmp_path)
    w.remote.nodes["bp1-standby"].never_syncs.add("11.0.1")
    result = w.run()
    assert not result.ok
    assert result.outcomes["bp1-standby"].status is HostStatus.ROLLED_BACK
    assert result.outcomes["bp1"].status is HostStatus.FAILED and "not upgraded" in result.outcomes["bp1"].detail
    assert w.on("bp1") == "10.6.4" and w.on("bp1-standby") == "10.6.4"
    assert not [op for op, h in w.remote.log if h == "bp1" and op in ("backup", "write", "switch", "restart")]
    assert "sighup bp1" not in w.pool.actions
    assert w.pool.forgers() == {"bp1"} and w.pool.never_two() and w.pool.forge["bp1"].present


def test_a_handover_that_stops_leaves_the_original_forging_and_the_old_producer_not_upgraded(tmp_path: Path) -> None:
    w = world(tmp_path)
    w.pool.forge["bp1-standby"].hup_error = True  # BlockForgingUpdateError on its enabling SIGHUP
    result = w.run()
    assert not result.ok
    assert w.pool.forgers() == {"bp1"} and w.pool.never_two()
    assert w.on("bp1") == "10.6.4" and w.on("bp1-standby") == "11.0.1"  # the standby stays upgraded, idle
    out = result.outcomes["bp1"]
    assert out.status is HostStatus.FAILED and "handover stopped: bp1 forges" in out.detail
    assert "BlockForgingUpdateError" in out.detail
    assert not [op for op, h in w.remote.log if h == "bp1" and op in ("backup", "write", "restart")]


def test_the_old_producers_failed_upgrade_is_rolled_back_and_the_standby_keeps_forging(tmp_path: Path) -> None:
    w = world(tmp_path)
    w.remote.nodes["bp1"].never_syncs.add("11.0.1")
    result = w.run()
    assert not result.ok
    assert w.pool.forgers() == {"bp1-standby"} and w.pool.never_two()
    out = result.outcomes["bp1"]
    assert out.status is HostStatus.ROLLED_BACK and w.on("bp1") == "10.6.4" and not w.pool.forge["bp1"].present
    assert "handover handed_over_old_not_upgraded: bp1-standby forges" in out.detail
    assert "bp1 is the idle standby, NOT upgraded" in out.detail


def test_a_stop_signal_inside_the_gap_recovers_the_original_before_the_run_stops(tmp_path: Path) -> None:
    w = world(tmp_path)
    w.pool.flag, w.pool.signal_after = StopFlag(), "sighup bp1"
    result = w.run(stop=w.pool.flag)
    assert w.pool.forgers() == {"bp1"} and w.pool.never_two() and w.pool.forge["bp1"].present
    out = result.outcomes["bp1"]
    assert out.status is HostStatus.FAILED and "interrupted by SIGTERM" in out.detail and w.on("bp1") == "10.6.4"
    assert not unfinished_pools(Journal.read(w.journal.path))  # the handover ended (recovered) before the stop


@pytest.mark.parametrize(("limit", "restarted", "away"), [
    ("bp1-standby", "bp1-standby", True),  # the idle one alone: its files away first
    ("bp1", "bp1", False),  # the forger alone: restarted as a producer without a standby
])  # fmt: skip
def test_one_pool_member_alone_is_sampled_an_idle_one_kept_idle_a_forger_restarted_as_before(
        tmp_path: Path, limit: str, restarted: str, away: bool) -> None:  # fmt: skip
    w = world(tmp_path)
    result = w.run(limit=limit)
    assert result.ok and w.on(restarted) == "11.0.1" and w.pool.never_two() and w.pool.forgers() == {"bp1"}
    assert (f"away {restarted}" in w.pool.actions) is away and "sighup bp1" not in w.pool.actions
    other = next(n for n in POOL if n != restarted)
    assert w.on(other) == "10.6.4" and not [a for a in w.pool.actions if a.endswith(f" {other}")]


def test_no_handover_restarts_the_producer_as_before_and_the_standby_with_its_files_away(tmp_path: Path) -> None:
    w = world(tmp_path)
    result = w.run(handover=False)
    assert result.ok
    assert "sighup bp1" not in w.pool.actions and w.pool.forgers() == {"bp1"} and w.pool.never_two()
    assert w.pool.actions.index("away bp1-standby") < w.pool.actions.index("restart bp1-standby")
    assert "no handover: run --no-handover" in result.outcomes["bp1"].detail


def test_a_standby_is_refused_rather_than_restarted_when_the_run_cannot_rename_its_files(tmp_path: Path) -> None:
    w = world(tmp_path)
    result = w.run(pools=False)
    out = result.outcomes["bp1-standby"]
    assert out.status is HostStatus.REFUSED and "cannot rename its credential files away" in out.detail
    assert w.on("bp1-standby") == "10.6.4" and not [a for a in w.pool.actions if "bp1-standby" in a]


def test_a_second_run_upgrades_nothing_and_a_forging_standby_is_not_restarted_as_idle(tmp_path: Path) -> None:
    """After a handover the standby forges: the next run (bp1 left behind on its release) upgrades bp1
    as the idle one, files away, and never touches the forging standby's credentials."""
    w = world(tmp_path)
    w.remote.nodes["bp1"].never_syncs.add("11.0.1")
    w.run()
    w.remote.nodes["bp1"].never_syncs.clear()
    w.journal = Journal(tmp_path / "state", "run2")
    before = len(w.pool.actions)
    result = w.run()
    assert result.ok and w.on("bp1") == "11.0.1" and w.pool.forgers() == {"bp1-standby"} and w.pool.never_two()
    assert not [a for a in w.pool.actions[before:] if a.endswith("bp1-standby")]


def _happy_actions(tmp_path: Path) -> list[str]:
    w = world(tmp_path / "happy")
    assert w.run().ok
    return list(w.pool.actions)


ACTIONS = 10  # a whole pool upgrade's actions on the two producers (checked below)


@pytest.mark.parametrize("kill_at", range(ACTIONS))
def test_resume_after_a_kill_at_each_action_ends_with_exactly_one_forger(tmp_path: Path, kill_at: int) -> None:
    assert len(_happy_actions(tmp_path)) == ACTIONS
    w = world(tmp_path)
    w.pool.kill_at = kill_at
    with pytest.raises(Killed):
        w.run()
    w.pool.kill_at = None
    events = Journal.read(w.journal.path)
    spec = compile_run(read_playbook(ROOT / "playbooks" / "upgrade-node.yml"), w.inventory)
    verdicts = resume_hosts(events, w.inventory, spec.programs, spec.gate, remote=w.remote, journal=w.journal,
                            probe=lambda h, _skew: w.remote.sample(h), clock=w.clock, sleep=w.clock.sleep)  # fmt: skip
    hosts = {h.name: h for h in w.inventory.hosts}
    results = resume_pools(events, hosts, Forging(w.pool, w.remote.nodes), w.journal.record,
                           resumed_upgrade(events, verdicts), lambda _h: None, QUICK, sleep=w.clock.sleep,
                           clock=w.clock, wall=lambda: 1_700_000_000.0 + w.clock())  # fmt: skip
    assert set(results) == {"bp1"}  # every kill point is inside the pool's handover: it is taken up
    assert w.pool.never_two()
    [forger] = w.pool.forgers()
    assert w.pool.forge[forger].present and not w.pool.forge[next(n for n in POOL if n != forger)].present
    for res in results.values():
        assert not isinstance(res, str) and res.forger == forger
    # the run that follows (as `run --resume` goes on) finishes the pool: both on 11.0.1, one forger
    w.journal = Journal(tmp_path / "state", "run1")
    result = w.run()
    assert result.ok, {n: o.detail for n, o in result.outcomes.items()}
    assert w.on("bp1") == w.on("bp1-standby") == "11.0.1" and w.pool.never_two() and len(w.pool.forgers()) == 1
    assert not unfinished_pools(Journal.read(w.journal.path))


def test_the_kill_points_cover_every_kind_of_action(tmp_path: Path) -> None:
    acts = _happy_actions(tmp_path)
    # (the stop: the ledger backup across 10.6.4 → 11.0.1, a snapshot-format boundary)
    assert acts == ["away bp1-standby", "stop bp1-standby", "restart bp1-standby", "away bp1", "sighup bp1",
                    "present bp1-standby", "sighup bp1-standby", "away bp1", "stop bp1", "restart bp1"], acts  # fmt: skip
    assert len(acts) == ACTIONS


def test_run_refuses_while_a_handover_command_is_unfinished_and_names_its_resume(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    from orchestrator.cli import main
    from orchestrator.roll.handover_events import HandoverStepped

    state = tmp_path / "state"
    j = Journal(state, "20991231T000000Z-abcdef")
    j.note("bp1", HandoverStepped("prove_stopped", "bp1", "bp1-standby", "bp1"))
    j.close()
    code = main(["run", "-i", str(tmp_path / "inv.yml"), "upgrade-node", "--yes", "--state-dir", str(state)])
    err = capsys.readouterr().err
    assert code == 1
    assert "refused: the handover of bp1 in run 20991231T000000Z-abcdef is unfinished" in err
    assert "cardano-fleet handover -i" in err and "--producer bp1" in err and "--resume 20991231T000000Z-abcdef" in err
    # once it ended, the run goes on to its own checks (here: the inventory file does not exist)
    j = Journal(state, "20991231T000000Z-abcdef")
    j.record("bp1", Phase.HANDOVER_ENDED, ending="stopped", forger="bp1", reason="test")
    j.close()
    main(["run", "-i", str(tmp_path / "inv.yml"), "upgrade-node", "--yes", "--state-dir", str(state)])
    assert "handover of bp1" not in capsys.readouterr().err


def test_an_unfinished_run_inside_a_handover_is_refused_naming_the_handover_and_the_run_resume(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    from orchestrator.cli import main
    from orchestrator.roll.handover_events import HandoverStepped

    state = tmp_path / "state"
    j = Journal(state, "20991231T000000Z-abcdef")
    j.record("*", Phase.RUN_STARTED, hosts=["bp1", "bp1-standby"])
    j.note("bp1", HandoverStepped("prove_stopped", "bp1", "bp1-standby", "bp1"))
    j.close()
    code = main(["run", "-i", str(tmp_path / "inv.yml"), "upgrade-node", "--yes", "--state-dir", str(state)])
    err = capsys.readouterr().err
    assert code == 1
    assert "forging handover unfinished: bp1 → bp1-standby" in err and "cardano-fleet run -i" in err, err
    assert "--resume 20991231T000000Z-abcdef" in err and "cardano-fleet handover" not in err
