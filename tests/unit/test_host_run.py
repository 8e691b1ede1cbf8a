"""One host state machine (roll/host_run.py) for a fresh run and `--resume`: a kill after any step a
fresh run journals is taken up by the same machine and ends the host whole; the state a resume
needs is all in the run's own events; a drained host is returned whatever way it ends whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.model import HostStatus, Phase
from orchestrator.roll.host_run import AFTER_RESTART, HostState, Step, resume_entry
from orchestrator.roll.journal import FINAL, OBSERVATIONS, Event, Journal, last_phases
from orchestrator.roll.resume import resume_hosts
from tests.unit.fake_fleet import FakeNode
from tests.unit.test_engine import World, run_killed_at, world
from tests.unit.test_exchange_engine import Estate


def _steps_of(w: World, host: str) -> list[Phase]:
    """The rollout steps (observations left out) the journal holds for `host`, first occurrences, in order."""
    seen: list[Phase] = []
    for e in Journal.read(w.journal.path):
        if e.host == host and e.phase not in OBSERVATIONS and e.phase not in seen:
            seen.append(e.phase)
    return seen


def _fresh_steps(tmp_path: Path, fault: bool) -> list[Phase]:
    w = world(tmp_path, relays=2, producers=1)
    if fault:
        w.remote.nodes["relay1"].never_syncs.add("8.9.0")
    w.run()
    return _steps_of(w, "relay1")


def _kill_points(tmp_path: Path) -> list[tuple[Phase, bool]]:
    """Every step a fresh run journals for a relay that upgrades, and for one whose new node never syncs."""
    points = [(p, False) for p in _fresh_steps(tmp_path / "ok", fault=False)]
    points += [(p, True) for p in _fresh_steps(tmp_path / "fault", fault=True)]
    return [(p, fault) for p, fault in points if p not in (Phase.PLANNED, Phase.STAGED)]  # nothing changed yet


def test_the_kill_points_cover_the_whole_procedure(tmp_path: Path) -> None:
    """The list below is derived from real runs: a new step shows up in it without editing the test."""
    points = {p for p, _f in _kill_points(tmp_path)}
    assert {Phase.BACKED_UP, Phase.FILES_WRITTEN, Phase.BINARY_SWITCHED, Phase.RESTARTED, Phase.GATE_PASSED,
            Phase.SOAK_PASSED, Phase.DONE, Phase.FAILED, Phase.ROLLING_BACK, Phase.ROLLED_BACK} <= points  # fmt: skip


@pytest.mark.parametrize("fault", [False, True])
def test_a_kill_after_any_step_is_taken_up_by_the_same_machine_and_ends_whole(tmp_path: Path, fault: bool) -> None:
    taken = 0
    for n, (phase, with_fault) in enumerate(_kill_points(tmp_path / "ref")):
        if with_fault is not fault:
            continue
        w = world(tmp_path / f"k{n}", relays=2, producers=1)
        if fault:
            w.remote.nodes["relay1"].never_syncs.add("8.9.0")

        run_killed_at(w, "relay1", phase)
        before = Journal.read(w.journal.path)
        verdicts = resume_hosts(before, w.inventory, w.spec.programs, w.spec.gate, remote=w.remote, journal=w.journal,
                                probe=lambda h, _skew, w=w: w.remote.sample(h), clock=w.clock, sleep=w.clock.sleep)  # fmt: skip
        after = Journal.read(w.journal.path)
        # after its restart the gate judges the node it finds (the fault: never in sync → rolled back)
        expected = "upgraded" if phase in AFTER_RESTART | FINAL and not fault else "rolled back"
        assert w.whole("relay1") == expected, (phase, fault, verdicts)
        assert last_phases(after)["relay1"].phase in FINAL, (phase, fault)
        if "relay1" in verdicts:  # taken up: every step the resume journaled says so
            assert all(e.data.get("resumed") is True for e in after[len(before):] if e.host == "relay1"), phase
            taken += 1
        else:  # the kill came after the host ended: nothing to take up
            assert phase in FINAL, phase
    assert taken >= 4  # the kill points before an end were all taken up


def test_resume_enters_at_the_gate_only_once_the_node_was_restarted() -> None:
    assert resume_entry(Phase.RESTARTED) is Step.GATE and resume_entry(Phase.SOAK_PASSED) is Step.GATE
    for phase in (Phase.BACKED_UP, Phase.FILES_WRITTEN, Phase.BINARY_SWITCHED, Phase.FAILED, Phase.ROLLING_BACK):
        assert resume_entry(phase) is Step.ROLLBACK, phase
    assert resume_entry(Phase.SEEDING) is Step.SEED and resume_entry(Phase.SEEDED) is Step.SEED  # db_seed: test_seed_db.py


def test_the_run_journals_all_a_resume_needs_with_backed_up(tmp_path: Path) -> None:
    w = world(tmp_path, relays=2, producers=1)
    assert w.run().ok
    backed = next(e for e in Journal.read(w.journal.path) if e.host == "relay1" and e.phase is Phase.BACKED_UP)
    assert set(backed.data) == {"existed", "old_link", "old_version", "target_version", "p2p_before", "p2p_after"}
    state = HostState.from_journal(Journal.read(w.journal.path), "relay1")
    hp = w.plan.host("relay1")
    assert (state.old_version, state.target_version) == (hp.current_version, hp.target_version) == ("8.7.3", "8.9.0")
    assert (state.p2p_before, state.p2p_after) == (hp.p2p_before, hp.p2p_after) == (False, True)
    assert state.existed == backed.data["existed"] and state.touched_node  # a resume restarts on rollback


def test_a_journal_without_the_p2p_modes_gates_as_resume_always_did() -> None:
    """Journals written before the modes were recorded: the new node judged in P2P mode, the old one not."""
    old = [Event(1.0, "relay1", Phase.BACKED_UP, {"existed": {"/c": True}, "old_link": None, "old_version": "8.7.3",
                                                   "target_version": "8.9.0"})]  # fmt: skip
    state = HostState.from_journal(old, "relay1")
    assert (state.p2p_before, state.p2p_after, state.existed) == (False, True, {"/c": True})
    new = [Event(1.0, "relay1", Phase.BACKED_UP, {"existed": {}, "p2p_before": True, "p2p_after": False})]
    assert (HostState.from_journal(new, "relay1").p2p_before, HostState.from_journal(new, "relay1").p2p_after) == (
        True, False)  # fmt: skip


def test_a_write_conflict_after_the_drain_returns_the_host_to_rotation(tmp_path: Path) -> None:
    """Before the state machine, a host drained and then left untouched by a write conflict stayed
    out of rotation without a word; now it is returned as it was (and the run goes on)."""
    e = Estate(tmp_path)
    node = e.remote.nodes["wallet1"]
    topology = node.host.layout.topology_path

    def operator_edits(n: FakeNode) -> None:
        n.files[topology] = b'{"Producers": []}\n'  # config management rewrote it after the plan

    node.before_write = operator_edits
    result = e.run()
    assert result.outcomes["wallet1"].status is HostStatus.SKIPPED
    assert "left untouched" in result.outcomes["wallet1"].detail
    phases = [ev.phase for ev in Journal.read(e.journal.path) if ev.host == "wallet1" and ev.phase not in OBSERVATIONS]
    assert phases[-3:] == [Phase.BACKED_UP, Phase.LEFT_UNTOUCHED, Phase.RETURNED]
    assert e.ops("wallet1")[:7] == ["lock", "stage", "drain", "backup", "write", "drop_backups", "return"]
    assert node.files[topology] == b'{"Producers": []}\n'  # the operator's bytes, as they left them


@pytest.mark.parametrize(("from_slot", "source", "said"), [
    (0, "10.6.4", "; the ledger replayed from genesis, as planned"),
    (0, "11.0.1", "; the ledger replayed from genesis, which the plan did not expect (no snapshot it could read)"),
    (204000000, "10.6.4", "; the ledger replayed from a snapshot, though the plan expected a replay from genesis"),
    (204000000, "11.0.1", ""),  # an ordinary start: nothing to say
    (None, "10.6.4", ""),  # the log did not say
])  # fmt: skip
def test_the_report_says_where_the_ledger_replay_started_against_the_plan(from_slot: int | None, source: str,
                                                                           said: str) -> None:
    """The node's own log (ReplayFromGenesis / ReplayFromSnapshot) against the plan's crossing, for
    a host going to 11.0.1: from 10.6.4 the 10.7 boundary forces a replay, from 11.0.1 nothing does."""
    from types import SimpleNamespace
    from typing import cast

    from orchestrator.cardano.crossing import cross
    from orchestrator.plan import HostPlan
    from orchestrator.roll.host_run import _replay_against_plan

    plan = cast(HostPlan, SimpleNamespace(crossing=cross(source, "11.0.1", network="mainnet")))  # only `crossing` is read
    assert _replay_against_plan(from_slot, plan) == said
