"""The block producer handover state machine (roll/handover.py) on a fake clock: the happy path, every
failure point (a SIGHUP answered with BlockForgingUpdateError, a failed SIGHUP, a proof that does not
arrive, a lost connection, a failed upgrade, no gap between leader slots, KES), and `--resume` after a
kill before and after every action a real run takes. Each test checks the fake nodes' own per-second
forging record: never two forgers, and no leader slot without one where the handover ends whole."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.cardano.layouts import IOG
from orchestrator.cardano.leader_schedule import LeaderSlot
from orchestrator.model import Host, Phase, Role
from orchestrator.roll.events import Event
from orchestrator.roll.handover import (
    DISABLED_SUFFIX,
    Ending,
    Forging,
    ForgingSample,
    Handover,
    HandoverPolicy,
    HandoverState,
    Means,
    Step,
    credentials,
    resume_entry,
)
from orchestrator.roll.handover_events import ForgersSeen, HandoverEnded, HandoverStepped
from orchestrator.roll.remote import Done
from orchestrator.spec.window import WindowSettings, build_guard
from tests.fuzz_budget import examples

T0 = 1_800_000_000.0  # wall clock at the start (unix seconds)
KEYS = "/opt/cardano/keys"
ARGV = ("cardano-node", "run", "--config", "/opt/cardano/config.json", "--shelley-kes-key", f"{KEYS}/kes.skey",
        "--shelley-vrf-key", f"{KEYS}/vrf.skey", f"--shelley-operational-certificate={KEYS}/node.cert")  # fmt: skip


class Killed(Exception):
    """The control machine died here (SIGKILL): nothing after this point ran."""


@dataclass
class Node:
    """A lab-like producer: forging changes only on SIGHUP (files present → on, absent → off, error
    fault → kept) or a restart (on iff files present); a forging node checks leadership every slot."""

    name: str
    forging: bool
    present: bool  # its credential files under the names its command line gives
    checks: float = 0.0
    update_errors: int = 0
    hup_error: bool = False  # answers a SIGHUP with BlockForgingUpdateError, state kept
    hup_fails: bool = False  # the SIGHUP command itself fails
    ignores_hup: bool = False  # no error, no change: the proof must time out
    metric_lies: bool = False  # forging_enabled stays 1 whatever the state
    logs_checks: bool = True
    unreachable_from: float | None = None
    unreachable_until: float | None = None
    upgrade_fails: bool = False
    lag: int = 2
    hup_seconds: float = 0.5  # the SIGHUP command's round trip
    hup_errors_left: int = 0  # its next N SIGHUPs answer with BlockForgingUpdateError (then it behaves)
    hups_before_failing: int | None = None  # this many SIGHUPs work, then the command fails
    hups: int = 0

    def reachable(self, t: float) -> bool:
        if self.unreachable_from is None or t < self.unreachable_from:
            return True
        return self.unreachable_until is not None and t >= self.unreachable_until


@dataclass
class World:
    """Two producers, a clock, a journal, and the forging record (one entry per change)."""

    active: Node
    standby: Node
    t: float = 0.0
    events: list[Event] = field(default_factory=list)
    record: list[tuple[float, bool, bool]] = field(default_factory=list)  # (t, active forges, standby forges)
    last_t: float = 0.0
    calls: list[str] = field(default_factory=list)  # every action on a host, in order
    kill_at: int | None = None  # kill at this action index (0-based) ...
    kill_after: bool = False  # ... after doing it (else before)
    upgrades: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.record.append((0.0, self.active.forging, self.standby.forging))

    def wall(self) -> float:
        return T0 + self.t

    def clock(self) -> float:
        return self.t

    def accrue(self) -> None:
        for n in (self.active, self.standby):
            if n.forging:
                n.checks += self.t - self.last_t
        self.last_t = self.t

    def sleep(self, seconds: float) -> None:
        self.t += max(0.0, seconds)
        self.accrue()

    def changed(self) -> None:
        self.record.append((self.t, self.active.forging, self.standby.forging))

    def node(self, host: Host) -> Node:
        return self.active if host.name == self.active.name else self.standby

    def act(self, what: str) -> bool:
        """Count an action; raise Killed where the test kills. True: do it now (a kill after it follows)."""
        n = len(self.calls)
        self.calls.append(what)
        if self.kill_at == n and not self.kill_after:
            raise Killed(what)
        return self.kill_at == n

    def forgers_at(self, t: float) -> tuple[bool, bool]:
        state = self.record[0][1:]
        for at, a, s in self.record:
            if at <= t:
                state = (a, s)
        return state

    def never_two(self) -> bool:
        return not any(a and s for _t, a, s in self.record)

    def record_event(self, host: str, phase: Phase, **data: object) -> object:
        self.events.append(Event(self.wall(), host, phase, dict(data)))
        return None


class Remote:
    def __init__(self, w: World) -> None:
        self.w = w

    def sample(self, host: Host) -> ForgingSample:
        w, n = self.w, self.w.node(host)
        w.accrue()
        w.sleep(0.1)  # a round trip
        if not n.reachable(w.t):
            return ForgingSample(w.t, reachable=False, error="connection lost")
        return ForgingSample(w.t, True, True if n.metric_lies else n.forging,
                             int(n.checks) if n.logs_checks else None, n.update_errors, n.lag)  # fmt: skip

    def command_line(self, host: Host) -> tuple[str, ...] | str:
        return ARGV

    def set_credentials(self, host: Host, paths: Sequence[str], present: bool) -> Done:
        w, n = self.w, self.w.node(host)
        after = w.act(f"{'present' if present else 'away'} {host.name}")
        if not n.reachable(w.t):
            return Done(False, "connection lost")
        assert tuple(paths) == (f"{KEYS}/kes.skey", f"{KEYS}/vrf.skey", f"{KEYS}/node.cert")
        n.present = present
        if after:
            raise Killed("after rename")
        return Done(True)

    def sighup(self, host: Host) -> Done:
        w, n = self.w, self.w.node(host)
        after = w.act(f"hup {host.name}")
        w.sleep(n.hup_seconds)
        n.hups += 1
        broken = n.hups_before_failing is not None and n.hups > n.hups_before_failing
        if not n.reachable(w.t) or n.hup_fails or broken:
            return Done(False, "connection lost" if not n.reachable(w.t) else "kill: no such process")
        if n.hup_errors_left > 0:
            n.hup_errors_left -= 1
            n.update_errors += 1
        elif n.hup_error:  # the fault: whatever the files, the node keeps its state and logs the error
            n.update_errors += 1
        elif not n.ignores_hup:
            n.forging = n.present
            w.changed()
        if after:
            raise Killed("after hup")
        return Done(True)

    def upgrade(self, host: Host) -> Done:
        w, n = self.w, self.w.node(host)
        after = w.act(f"upgrade {host.name}")
        w.upgrades.append(host.name)
        n.forging = False  # stopped
        w.changed()
        w.sleep(30)
        if n.upgrade_fails:
            n.forging = n.present  # rolled back and restarted
            w.changed()
            return Done(False, "gate: not in sync")
        n.forging = n.present
        w.changed()
        if after:
            raise Killed("after upgrade")
        return Done(True, "in sync on 11.0.1")


ACTIVE = Host("bp1", Role.BLOCK_PRODUCER, "198.18.0.20", IOG)
STANDBY = Host("bp1-standby", Role.BLOCK_PRODUCER, "198.18.0.21", IOG)


def world(**faults: dict[str, object]) -> World:
    w = World(Node("bp1", forging=True, present=True), Node("bp1-standby", forging=False, present=True))
    for name, kv in faults.items():
        for k, v in kv.items():
            setattr(getattr(w, name), k, v)
    return w


def slots(*offsets: float) -> tuple[LeaderSlot, ...]:
    return tuple(LeaderSlot(T0 + o, 1000 + int(o)) for o in offsets)


def guard(*offsets: float, kes: int = 60, max_wait: float = 3600.0):  # type: ignore[no-untyped-def]
    return build_guard(WindowSettings(max_wait_seconds=max_wait), source="file /var/lib/pool/schedule.json",
                       slots=slots(*offsets), remaining_kes_periods=kes, downtime_seconds=None)  # fmt: skip


def machine(w: World, g=None, state: HandoverState | None = None, resumed: bool = False) -> Handover:  # type: ignore[no-untyped-def]
    r = Remote(w)
    means = Means(r, w.record_event, r.upgrade, w.clock, w.sleep, w.wall)
    return Handover(ACTIVE, STANDBY, means, g, HandoverPolicy(), state, resumed)


def steps(w: World) -> list[str]:
    return [HandoverStepped.of(e).step for e in w.events if e.phase is Phase.HANDOVER_STEP]


def ended(w: World) -> HandoverEnded:
    [end] = [HandoverEnded.of(e) for e in w.events if e.phase is Phase.HANDOVER_ENDED]
    return end


def slot_covered(w: World, *offsets: float) -> bool:
    return all(any(w.forgers_at(o)) for o in offsets)


# ---------------------------------------------------------------------------------------------- happy path
def test_the_handover_moves_forging_in_a_gap_between_leader_slots() -> None:
    w = world()
    g = guard(100, 1000)  # a gap of 140 s + 120 s margin does not fit before 100: it waits for it to pass
    r = machine(w, g).run()
    assert r.ending is Ending.HANDED_OVER and r.forger == "bp1-standby", r.detail
    assert steps(w) == ["precheck", "precheck", "upgrade_standby", "gate_standby", "choose_gap", "choose_gap",
                        "disable_active", "prove_stopped", "enable_standby", "prove_forging",
                        "upgrade_old_as_standby"]  # fmt: skip
    assert w.upgrades == ["bp1-standby", "bp1"]
    assert w.never_two() and slot_covered(w, 100, 1000)
    disabled = next(t for t, a, _s in w.record if not a)
    assert disabled >= 130  # the leader slot at 100 passed, and its settle time
    assert w.standby.forging and w.standby.present and not w.active.forging and not w.active.present
    assert r.gap_seconds is not None and 0 < r.gap_seconds < HandoverPolicy().gap_budget
    assert ended(w).forger == "bp1-standby" and ended(w).ending == "handed_over"
    # the standby's files went away before its upgrade: its restart cannot forge
    assert w.calls.index("away bp1-standby") < w.calls.index("upgrade bp1-standby")


def test_without_a_schedule_it_goes_ahead_and_says_the_gap_may_cost_a_block() -> None:
    w = world()
    r = machine(w).run()
    assert r.ending is Ending.HANDED_OVER
    gap = [HandoverStepped.of(e) for e in w.events if e.phase is Phase.HANDOVER_STEP and e.data["step"] == "choose_gap"]
    assert "may cost a block" in (gap[0].detail or "")


def test_the_invariant_is_journaled_as_observations_of_both_hosts() -> None:
    w = world()
    machine(w).run()
    seen = [ForgersSeen.of(e) for e in w.events if e.phase is Phase.FORGERS_SEEN]
    assert seen and all(s.active == "bp1" and s.standby == "bp1-standby" for s in seen)
    assert not any(s.active_forging in ("on", "enabled") and s.standby_forging in ("on", "enabled") for s in seen)


# ---------------------------------------------------------------------------------------------- refusals
def test_kes_at_the_threshold_refuses_before_anything_changes() -> None:
    w = world()
    r = machine(w, guard(5000, kes=2)).run()
    assert r.ending is Ending.REFUSED and r.forger == "bp1" and "KES" in r.detail
    assert w.calls == [] and w.active.forging


def test_no_gap_within_the_wait_limit_leaves_the_original_forging() -> None:
    w = world()
    r = machine(w, guard(*range(100, 4000, 200), max_wait=1800)).run()  # a slot every 200 s: no 260 s window
    assert r.ending is Ending.REFUSED and r.forger == "bp1" and "no gap" in r.detail
    assert w.active.forging and w.active.present and not w.standby.forging
    assert "away bp1" not in w.calls and "hup bp1" not in w.calls and w.never_two()


def test_a_command_line_without_credentials_is_refused_untouched() -> None:
    w = world()
    m = machine(w)
    m.means.remote.command_line = lambda host: ("cardano-node", "run")  # type: ignore[method-assign]
    r = m.run()
    assert r.ending is Ending.REFUSED and "names no credential files" in r.detail and w.calls == []


def test_two_forgers_found_at_the_precheck_are_ended_on_the_original() -> None:
    w = world(standby={"forging": True})
    w.record[0] = (0.0, True, True)
    r = machine(w).run()
    assert r.ending is Ending.STOPPED and r.forger == "bp1", r.detail
    assert w.active.forging and not w.standby.forging and not w.standby.present


# ---------------------------------------------------------------------------------------------- failure points
@pytest.mark.parametrize("fault,why", [
    ({"active": {"hup_error": True}}, "BlockForgingUpdateError"),
    ({"active": {"hup_fails": True}}, "SIGHUP failed"),
    ({"active": {"ignores_hup": True}}, "not proven stopped"),
    ({"active": {"metric_lies": True}}, "not proven stopped"),
    ({"standby": {"hup_error": True}}, "BlockForgingUpdateError"),
    ({"standby": {"hup_fails": True}}, "SIGHUP failed"),
    ({"standby": {"logs_checks": False}}, "not proven forging"),
    ({"standby": {"ignores_hup": True}}, "not proven forging"),
    ({"standby": {"upgrade_fails": True}}, "upgrade failed"),
])  # fmt: skip
def test_a_doubt_ends_with_the_original_forging_alone(fault: dict[str, dict[str, object]], why: str) -> None:
    w = world(**fault)
    g = guard(100, 1000)
    r = machine(w, g).run()
    assert r.ending is Ending.STOPPED and r.forger == "bp1", r.detail
    assert why in r.detail
    assert w.active.forging and w.active.present and not w.standby.forging and not w.standby.present
    assert w.never_two() and slot_covered(w, 100, 1000)
    assert ended(w).forger == "bp1" and steps(w)[-1] == "recover"


def test_a_lost_connection_that_comes_back_is_ridden_out() -> None:
    w = world()
    w.active.unreachable_from, w.active.unreachable_until = 40.0, 42.0  # during the stop proof (SIGHUP at ~39 s)
    r = machine(w).run()
    assert r.ending is Ending.HANDED_OVER, r.detail
    assert w.never_two() and w.active.present is False and w.standby.forging


def test_losing_the_active_after_its_sighup_never_enables_the_standby() -> None:
    w = world()
    w.active.unreachable_from = 40.0  # after its SIGHUP (at ~39 s), for good
    r = machine(w).run()
    assert r.ending is Ending.UNPROVEN and r.forger is None, r.detail
    assert "CHECK" in r.detail or "act now" in r.detail
    assert not w.standby.forging and w.never_two()
    assert not any(s for _t, _a, s in w.record)  # the standby never forged


def test_losing_the_standby_before_its_enable_puts_the_original_back() -> None:
    w = world()
    # lost just before its rename at enable time: no SIGHUP of ours reached it, so it cannot forge
    w.standby.unreachable_from = 44.5  # the stop was proven at ~44.6 s, the rename comes at ~44.7 s
    r = machine(w).run()
    assert r.ending is Ending.STOPPED and r.forger == "bp1", r.detail
    assert w.active.forging and not w.standby.forging and w.never_two()


def test_losing_the_standby_right_after_its_enabling_sighup_never_re_enables_the_original() -> None:
    w = world()
    w.standby.unreachable_from = 45.3  # its SIGHUP (sent ~44.7 s, answered ~45.2 s) took effect: it forges, unseen
    r = machine(w).run()
    assert r.ending is Ending.UNPROVEN and r.forger is None and "CHECK BOTH" in r.detail, r.detail
    assert w.never_two() and w.standby.forging and not w.active.forging  # the standby forges alone, unproven


def test_a_standby_that_starts_forging_by_itself_is_caught_by_the_invariant() -> None:
    w = world()
    r = Remote(w)
    sample = r.sample

    meddled: list[float] = []

    def sample_and_meddle(host: Host) -> ForgingSample:
        if w.t > 60 and not meddled:  # someone else enables the standby, once
            meddled.append(w.t)
            w.standby.forging = True
            w.changed()
        return sample(host)

    r.sample = sample_and_meddle  # type: ignore[method-assign]
    means = Means(r, w.record_event, r.upgrade, w.clock, w.sleep, w.wall)
    res = Handover(ACTIVE, STANDBY, means, guard(100, 1000), HandoverPolicy()).run()
    assert res.ending is Ending.STOPPED and res.forger == "bp1" and "both producers may forge" in res.detail, res.detail
    assert w.active.forging and not w.standby.forging and not w.standby.present


def test_when_the_original_cannot_forge_again_the_standby_takes_over() -> None:
    # The standby's enable errors once; the original, disabled, then fails its re-enabling SIGHUP: it is
    # proven stopped, so the standby (its error gone) is enabled instead.
    w = world(standby={"hup_errors_left": 1}, active={"hups_before_failing": 1})
    r = machine(w).run()
    assert r.ending is Ending.STOPPED_ON_OTHER and r.forger == "bp1-standby", r.detail
    assert "BlockForgingUpdateError" in r.detail and "SIGHUP failed" in r.detail
    assert w.standby.forging and not w.active.forging and not w.active.present and w.never_two()


def test_the_old_producers_failed_upgrade_leaves_the_standby_forging() -> None:
    w = world(active={"upgrade_fails": True})
    r = machine(w).run()
    assert r.ending is Ending.HANDED_OVER_OLD_NOT_UPGRADED and r.forger == "bp1-standby", r.detail
    assert w.standby.forging and not w.active.forging and w.never_two()


def test_neither_forging_when_a_leader_slot_comes_puts_the_original_back() -> None:
    # The standby's SIGHUP takes 150 s to answer and changes nothing: the gap runs over its budget.
    w = world(standby={"hup_seconds": 150.0, "ignores_hup": True})
    g = guard(300)  # at ~39 s the window is open: 140 s of gap and 120 s of margin fit before 300 s
    r = machine(w, g).run()
    assert r.ending is Ending.STOPPED and r.forger == "bp1" and "leader slot is at hand" in r.detail, r.detail
    assert w.active.forging and not w.standby.forging and w.never_two() and slot_covered(w, 300)


# ---------------------------------------------------------------------------------------------- resume
def _actions_of_a_run(**fault: dict[str, object]) -> list[str]:
    w = world(**fault)
    machine(w, guard(100, 1000)).run()
    return w.calls


KILLS = [(n, after, False) for n in range(len(_actions_of_a_run())) for after in (False, True)]
KILLS += [(n, after, True) for n in range(len(_actions_of_a_run(standby={"hup_error": True}))) for after in (False, True)]


def test_the_kill_points_cover_every_action() -> None:
    assert _actions_of_a_run() == ["away bp1-standby", "upgrade bp1-standby", "away bp1", "hup bp1",
                                   "present bp1-standby", "hup bp1-standby", "away bp1", "upgrade bp1"]  # fmt: skip


@pytest.mark.parametrize("n,after,fault", KILLS)
def test_resume_after_a_kill_establishes_the_forger_and_ends_with_exactly_one(n: int, after: bool, fault: bool) -> None:
    w = world(standby={"hup_error": True}) if fault else world()
    w.kill_at, w.kill_after = n, after
    g = guard(100, 1000)
    with pytest.raises(Killed):
        machine(w, g).run()
    w.kill_at = None
    state = HandoverState.from_journal(w.events, "bp1")
    r = machine(w, g, state, resumed=True).resume()
    assert r.ending in (Ending.HANDED_OVER, Ending.STOPPED), (w.calls, r.detail)
    assert r.forger is not None
    forging = {"bp1": w.active.forging, "bp1-standby": w.standby.forging}
    assert forging[r.forger] and sum(forging.values()) == 1
    present = {"bp1": w.active.present, "bp1-standby": w.standby.present}
    assert present == forging  # the forger's files are there, the other's away: a restart keeps it so
    assert w.never_two()
    if fault:
        assert r.forger == "bp1"
    resumed = [e for e in w.events if e.data.get("resumed")]
    assert resumed and resumed[0].phase is Phase.FORGERS_SEEN or resumed[0].phase is Phase.HANDOVER_STEP


def test_resume_of_an_ended_handover_does_nothing() -> None:
    w = world()
    machine(w).run()
    calls = list(w.calls)
    r = machine(w, None, HandoverState.from_journal(w.events, "bp1"), resumed=True).resume()
    assert r.ending is None and w.calls == calls


@pytest.mark.parametrize("step,active,standby,entry", [
    (None, Forging.ON, Forging.OFF, Step.PRECHECK),
    (Step.UPGRADE_STANDBY, Forging.ON, Forging.OFF, Step.UPGRADE_STANDBY),
    (Step.CHOOSE_GAP, Forging.ENABLED, Forging.OFF, Step.CHOOSE_GAP),
    (Step.CHOOSE_GAP, Forging.ON, Forging.ON, Step.RECOVER),
    (Step.DISABLE_ACTIVE, Forging.OFF, Forging.OFF, Step.RECOVER),
    (Step.PROVE_STOPPED, Forging.ON, Forging.OFF, Step.RECOVER),
    (Step.PROVE_FORGING, Forging.OFF, Forging.ON, Step.PROVE_FORGING),
    (Step.PROVE_FORGING, Forging.OFF, Forging.ENABLED, Step.RECOVER),
    (Step.UPGRADE_OLD_AS_STANDBY, Forging.OFF, Forging.ON, Step.UPGRADE_OLD_AS_STANDBY),
    (Step.UPGRADE_OLD_AS_STANDBY, Forging.UNKNOWN, Forging.ON, Step.UPGRADE_OLD_AS_STANDBY),
    (Step.UPGRADE_OLD_AS_STANDBY, Forging.ON, Forging.ON, Step.RECOVER),
])  # fmt: skip
def test_resume_entry(step: Step | None, active: Forging, standby: Forging, entry: Step) -> None:
    assert resume_entry(HandoverState(step=step), active, standby) is entry


# ---------------------------------------------------------------------------------------------- pieces
def test_credentials_are_read_from_the_command_line_in_both_forms() -> None:
    c = credentials(ARGV)
    assert c.paths == (f"{KEYS}/kes.skey", f"{KEYS}/vrf.skey", f"{KEYS}/node.cert") and c.error is None
    assert not c.non_producing
    assert credentials((*ARGV, "--start-as-non-producing-node")).non_producing
    assert "KES" in (credentials((*ARGV, "--shelley-kes-agent-socket", "/run/kes.sock")).error or "")
    assert "not plain absolute" in (credentials(("run", "--shelley-kes-key", "keys/kes.skey")).error or "")
    assert "not plain absolute" in (credentials(("run", "--shelley-kes-key=/a/../etc/kes")).error or "")
    assert "names no credential" in (credentials(("run", "--config", "/c.json")).error or "")
    assert DISABLED_SUFFIX.startswith(".")


def test_journal_payloads_read_back() -> None:
    w = world()
    machine(w).run()
    state = HandoverState.from_journal(w.events, "bp1")
    assert state.ended and state.step is Step.UPGRADE_OLD_AS_STANDBY and state.preferred == "bp1-standby"
    assert state.active_paths == (f"{KEYS}/kes.skey", f"{KEYS}/vrf.skey", f"{KEYS}/node.cert")
    assert all("skey" not in str(v) or k.endswith("_paths") for e in w.events for k, v in e.data.items())


# ---------------------------------------------------------------------------------------------- the SSH side
def test_the_rename_script_checks_everything_first_and_only_renames(tmp_path: Path) -> None:
    import os
    import subprocess

    from orchestrator.roll.handover_remote import rename_script

    paths = [str(tmp_path / n) for n in ("kes.skey", "vrf.skey", "node.cert")]
    for p in paths:
        Path(p).write_text("stand-in\n")
        os.utime(p, (1_000_000, 1_000_000))

    def run(present: bool) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["sh", "-c", rename_script(paths, present)], capture_output=True, text=True, check=False)

    assert run(False).returncode == 0
    assert all(not Path(p).exists() and Path(p + DISABLED_SUFFIX).exists() for p in paths)
    assert run(False).returncode == 0  # idempotent
    assert all(os.stat(p + DISABLED_SUFFIX).st_atime == 1_000_000 for p in paths)  # renamed, never read
    Path(paths[1]).write_text("a second copy\n")  # both names: refused, nothing renamed
    both = run(True)
    assert both.returncode == 2 and "both" in both.stderr
    assert Path(paths[0] + DISABLED_SUFFIX).exists() and not Path(paths[0]).exists()
    Path(paths[1]).unlink()
    Path(paths[2] + DISABLED_SUFFIX).unlink()  # absent under both names: refused, nothing renamed
    gone = run(True)
    assert gone.returncode == 2 and "absent under both names" in gone.stderr and not Path(paths[0]).exists()
    quoted = rename_script(["/k/it's; rm -rf x"], True)
    assert "'/k/it'\"'\"'s; rm -rf x'" in quoted


def test_the_journal_on_disk_gives_a_resume_its_state(tmp_path: Path) -> None:
    from orchestrator.roll.journal import Journal

    w = world()
    w.kill_at, w.kill_after = 5, True  # killed right after the standby's SIGHUP
    journal = Journal(tmp_path, "run1", wall=w.wall)
    r = Remote(w)
    means = Means(r, journal.record, r.upgrade, w.clock, w.sleep, w.wall)
    with pytest.raises(Killed):
        Handover(ACTIVE, STANDBY, means, None, HandoverPolicy()).run()
    journal.close()
    w.kill_at = None
    events = Journal.read(journal.path)
    state = HandoverState.from_journal(events, "bp1")
    assert state.step is Step.ENABLE_STANDBY and not state.ended and state.preferred == "bp1"
    assert state.standby_paths == state.active_paths != ()
    again = Journal(tmp_path, "run1", wall=w.wall)
    res = Handover(ACTIVE, STANDBY, Means(r, again.record, r.upgrade, w.clock, w.sleep, w.wall), None, HandoverPolicy(),
                   state, resumed=True).resume()  # fmt: skip
    again.close()
    assert res.ending is Ending.HANDED_OVER and res.forger == "bp1-standby", res.detail
    ends = [e for e in Journal.read(journal.path) if e.phase is Phase.HANDOVER_ENDED]
    assert len(ends) == 1 and ends[0].data["forger"] == "bp1-standby" and ends[0].data["resumed"] is True


# ---------------------------------------------------------------------------------------------- property
FAULTS = [None, ("active", "hup_error"), ("active", "hup_fails"), ("active", "ignores_hup"), ("active", "metric_lies"),
          ("standby", "hup_error"), ("standby", "hup_fails"), ("standby", "ignores_hup"), ("standby", "logs_checks"),
          ("standby", "upgrade_fails"), ("active", "upgrade_fails")]  # fmt: skip


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    offsets=st.lists(st.integers(min_value=5, max_value=3000), max_size=12, unique=True),
    fault=st.sampled_from(FAULTS),
    kill=st.one_of(st.none(), st.tuples(st.integers(min_value=0, max_value=9), st.booleans())),
)
def test_any_schedule_any_fault_any_kill_never_two_forgers(offsets: list[int], fault: tuple[str, str] | None,
                                                           kill: tuple[int, bool] | None) -> None:  # fmt: skip
    """Whatever the leader schedule, the fault and where the control machine dies: never two forgers,
    the journal's end names the host that forges, and its files alone are present. Without a fault or
    a kill, no leader slot is left without a forger."""
    w = world()
    if fault is not None:
        setattr(getattr(w, fault[0]), fault[1], fault[1] != "logs_checks")  # logs_checks: the fault is False
    g = guard(*offsets, max_wait=1800)
    if kill is not None:
        w.kill_at, w.kill_after = kill
    try:
        r = machine(w, g).run()
    except Killed:
        w.kill_at = None
        r = machine(w, g, HandoverState.from_journal(w.events, "bp1"), resumed=True).resume()
    assert w.never_two()
    forging = {"bp1": w.active.forging, "bp1-standby": w.standby.forging}
    assert r.forger is not None and forging[r.forger] and sum(forging.values()) == 1, (r.ending, r.detail)
    assert {"bp1": w.active.present, "bp1-standby": w.standby.present} == forging
    if fault is None and kill is None:
        assert slot_covered(w, *(o for o in offsets if o <= w.t))


# ---------------------------------------------------------------------------------------------- a stop signal
@pytest.mark.parametrize("after_action", ["away bp1-standby", "away bp1", "hup bp1", "present bp1-standby",
                                          "hup bp1-standby", "upgrade bp1"])  # fmt: skip
def test_a_stop_signal_is_a_doubt_the_handover_recovers_from(after_action: str) -> None:
    """The command's first SIGINT/SIGTERM/SIGHUP (Means.stop): the handover recovers — one forger, the
    original until the standby was proven forging — and ends; the recovery itself is never cut short."""
    w = world()
    r = Remote(w)
    means = Means(r, w.record_event, r.upgrade, w.clock, w.sleep, w.wall,
                  stop=lambda: "SIGTERM" if after_action in w.calls else None)  # fmt: skip
    res = Handover(ACTIVE, STANDBY, means, None, HandoverPolicy()).run()
    assert w.never_two()
    done = after_action == "upgrade bp1"  # the last action: nothing is left to stop
    assert res.forger == ("bp1-standby" if done else "bp1"), res.detail
    assert res.ending is (Ending.HANDED_OVER if done else Ending.STOPPED), res.detail
    if res.ending is Ending.STOPPED:
        assert "interrupted by SIGTERM" in res.detail and steps(w)[-1] == "recover"
        assert w.active.forging and w.active.present and not w.standby.forging and not w.standby.present
