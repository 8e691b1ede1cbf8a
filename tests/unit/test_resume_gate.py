"""`run --resume` judges a host with the fresh run's gate (roll/host_gate.py): the host's own gate,
the soak after it, the automatic timeout cap from its last measured start, and its gate's clock-skew
limit. Each case is a real run killed after the restart (the real playbook, planner, engine and
journal over the in-memory fleet, tests/unit/fake_fleet.py), then resumed on the fake clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from orchestrator.facts.clock import reference_time
from orchestrator.model import Host, Phase
from orchestrator.roll.gates import GateSample
from orchestrator.roll.host_run import HostState
from orchestrator.roll.journal import OBSERVATIONS, Journal
from orchestrator.roll.resume import reconcile_host, resume_hosts
from orchestrator.spec.gate import GatePolicy
from tests.unit.facts_builder import host_facts
from tests.unit.test_engine import World, run_killed_at, world


def killed_after_restart(tmp_path: Path, **extra: object) -> World:
    """relay1 restarted on 8.9.0, then the orchestrator was killed (SIGKILL: no end journaled)."""
    w = world(tmp_path, relays=2, producers=1, extra=dict(extra) or None)

    run_killed_at(w, "relay1", Phase.RESTARTED)
    return w


def lagging_new_node(w: World, lag: int) -> Callable[[Host, float], GateSample]:
    """A probe (host, max skew) whose 8.9.0 node is `lag` slots behind the wall-clock slot, advancing."""

    def probe(host: Host, _max_skew: float) -> GateSample:
        s = w.remote.sample(host)
        if s.version == "8.9.0" and s.expected_slot is not None:
            return replace(s, tip_slot=s.expected_slot - lag)
        return s

    return probe


def resumed(w: World, probe: Callable[[Host, float], GateSample], gate: GatePolicy | None = None,
            last_start: float | None = None) -> str:  # fmt: skip
    events = Journal.read(w.journal.path)
    verdicts = resume_hosts(events, w.inventory, w.spec.programs, gate or w.spec.gate, remote=w.remote,
                            journal=w.journal, probe=probe, last_start_of=lambda _h: last_start,
                            clock=w.clock, sleep=w.clock.sleep)  # fmt: skip
    assert list(verdicts) == ["relay1"]
    verdict = verdicts["relay1"][1]
    assert verdict is not None
    return verdict


def failed_reason(w: World) -> str:
    return next(str(e.data["reason"]) for e in Journal.read(w.journal.path)
                if e.host == "relay1" and e.phase is Phase.FAILED)  # fmt: skip


def test_resume_after_a_restart_runs_the_soak(tmp_path: Path) -> None:
    w = killed_after_restart(tmp_path)
    events = Journal.read(w.journal.path)
    verdict = reconcile_host(w.inventory.host("relay1"), Phase.RESTARTED, HostState.from_journal(events, "relay1"),
                             remote=w.remote, journal=w.journal, sample=w.remote.sample, policy=w.spec.gate,
                             clock=w.clock, sleep=w.clock.sleep)  # fmt: skip
    assert verdict.startswith("completed") and w.whole("relay1") == "upgraded"
    tail = [e for e in Journal.read(w.journal.path)[len(events):] if e.host == "relay1"]
    steps = [e for e in tail if e.phase not in OBSERVATIONS]
    assert [e.phase for e in steps] == [Phase.GATE_PASSED, Phase.SOAK_PASSED, Phase.DONE]
    # what the gate saw the node do is journaled on resume as in a fresh run (the same state machine)
    assert tail[0].phase is Phase.NODE_PHASE and all(e.data["resumed"] is True for e in tail)
    assert steps[1].data["seconds"] >= w.spec.gate.soak_seconds == 60 and steps[1].data["resumed"] is True


def test_resume_rolls_back_a_node_that_dies_during_the_soak(tmp_path: Path) -> None:
    w = killed_after_restart(tmp_path)
    relay1 = w.remote.nodes["relay1"]
    relay1.dies_after["8.9.0"] = w.clock() - relay1.started_at + 30  # passes the gate, exits 30 s later
    events = Journal.read(w.journal.path)
    verdict = reconcile_host(w.inventory.host("relay1"), Phase.RESTARTED, HostState.from_journal(events, "relay1"),
                             remote=w.remote, journal=w.journal, sample=w.remote.sample, policy=w.spec.gate,
                             clock=w.clock, sleep=w.clock.sleep)  # fmt: skip
    assert verdict == "rolled back byte-for-byte and back in sync"
    assert w.whole("relay1") == "rolled back"
    assert failed_reason(w).startswith("soak on resume: service is not active")


def test_resume_gate_is_capped_by_the_automatic_timeout(tmp_path: Path) -> None:
    """Timeout auto: 3 × the host's last start (2000 s → 6000 s), not the 3600 s floor; the node
    advances but never catches up, so only the cap ends the gate."""
    w = killed_after_restart(tmp_path)
    assert w.spec.gate.overall_timeout is None and w.spec.gate.stall_timeout < 3600
    verdict = resumed(w, lagging_new_node(w, 40_000), last_start=2000.0)
    assert verdict == "rolled back byte-for-byte and back in sync"
    assert failed_reason(w).startswith("gate on resume: overall timeout after 6000s")


def test_resume_does_not_trust_a_host_clock_beyond_its_gates_skew_limit(tmp_path: Path) -> None:
    """The host's gate allows 5 s of skew; its clock is 25 s behind (real HostFacts: host_time vs
    control_time). Measured on its own clock the new node (22 slots behind) would look in sync; the
    resume measures it on the control machine's clock, as the fresh run's sampler does, and rolls back."""
    w = killed_after_restart(tmp_path, sync_max_clock_skew_seconds=5)
    facts = host_facts("relay1", clock_skew=-25)
    assert facts.host_time is not None and facts.control_time is not None
    asked: list[float] = []

    def probe(host: Host, max_skew: float) -> GateSample:
        asked.append(max_skew)
        now, _which = reference_time(facts.host_time, float(facts.control_time or 0), max_skew)
        s = lagging_new_node(w, 22)(host, max_skew)
        shift = int(now - float(facts.control_time or 0))  # the host's clock, when trusted
        return replace(s, expected_slot=s.expected_slot + shift) if s.expected_slot is not None else s

    verdict = resumed(w, probe, gate=GatePolicy())  # the run-wide gate: 30 s of skew allowed
    assert set(asked) == {5}
    assert verdict == "rolled back byte-for-byte and back in sync"
    assert "22 slots behind" in failed_reason(w)


def test_resume_uses_the_hosts_own_gate_not_the_run_wide_one(tmp_path: Path) -> None:
    """relay1's sync_gate (max_slot_lag 20, the playbook's) judges it, not a lenient run-wide gate."""
    w = killed_after_restart(tmp_path)
    lenient = replace(w.spec.gate, max_slot_lag=100)
    verdict = resumed(w, lagging_new_node(w, 30), gate=lenient)
    assert verdict == "rolled back byte-for-byte and back in sync"
    assert "30 slots behind the wall clock (max 20)" in failed_reason(w)
    assert w.whole("relay1") == "rolled back"


def test_a_crossing_that_replays_is_capped_from_its_replay_estimate_not_its_last_start(tmp_path: Path) -> None:
    """8.9.0 → 11.0.1 on mainnet replays from genesis (cardano/crossing.py: est. 8-10 h). The fresh run
    and the resume cap the gate at 3 × the estimate, not at the floor its minutes-long last start gives
    (which would roll back every such crossing after an hour)."""
    from orchestrator.cardano.crossing import cross
    from orchestrator.roll.engine import Rollout, RolloutSettings
    from orchestrator.roll.resume import replay_estimate

    crossing = cross("8.9.0", "11.0.1", network="mainnet", last_start_seconds=120.0)
    assert crossing.replays and crossing.downtime.seconds == 36_000
    host = world(tmp_path / "hosts", relays=1, producers=0).inventory.host("relay1")
    assert host.network == "mainnet"
    assert replay_estimate(host, HostState(old_version="8.9.0", target_version="11.0.1")) == 36_000
    assert replay_estimate(host, HostState(old_version="8.7.3", target_version="8.9.0")) is None  # no replay
    # the fresh run: the plan's crossing reaches the host's gate (a node 40 000 slots behind, forever)
    w: World = world(tmp_path / "fresh", relays=2, producers=1)
    hp = w.plan.host("relay1")
    plan = replace(w.plan, hosts=tuple(replace(h, crossing=crossing) if h is hp else h for h in w.plan.hosts))
    w = replace(w, plan=plan)
    probe = lagging_new_node(w, 40_000)
    rollout = Rollout(w.plan, w.remote, w.journal, RolloutSettings(gate=w.spec.gate),
                      sample=lambda h: probe(h, 30.0), clock=w.clock, sleep=w.clock.sleep,
                      relays=w.inventory.relays)  # fmt: skip
    rollout.execute(w.spec.stages)
    assert failed_reason(w).startswith("gate: overall timeout after 108000s")  # 3 × 10 h, not 3600 s
