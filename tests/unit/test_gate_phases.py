"""The phase-aware gate on a fake clock: a restarted node replays, opens its socket, syncs; progress
of either kind (its log, its tip) restarts the stall clock. Every phase transition is exercised."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from orchestrator.cardano.startup import Phase, StartupProgress
from orchestrator.roll.gates import (
    GateSample,
    describe,
    overall_timeout_for,
    run_gate,
    standard_checks,
)
from orchestrator.spec.gate import GatePolicy
from tests.unit.fake_fleet import FakeClock

EXPECTED0 = 5_000_000


@dataclass
class Script:
    """A node's start as a list of (from second, phase, percent) steps, then a tip from `socket_at`."""

    clock: FakeClock
    steps: list[tuple[float, Phase, float | None]]
    socket_at: float | None
    lag_at_socket: int = 3000
    speed: int = 100  # slots per second once the socket is up
    tip_stalls: bool = False
    t0: float = field(init=False)

    def __post_init__(self) -> None:
        self.t0 = self.clock.now

    def __call__(self) -> GateSample:
        el = self.clock.now - self.t0
        expected = EXPECTED0 + int(el)
        marks: list[tuple[Phase, float]] = []
        phase, pct, progress_at = Phase.OPENING, None, self.t0
        for at, ph, p in self.steps:
            if el >= at:
                if not marks or marks[-1][0] is not ph:
                    marks.append((ph, self.t0 + at))
                phase, pct, progress_at = ph, p, self.t0 + at
        up = self.socket_at is not None and el >= self.socket_at
        if up and self.socket_at is not None:
            progress_at = self.t0 + self.socket_at
        start = StartupProgress(
            started_at=self.t0, phase=Phase.SOCKET_UP if up else phase, percent=None if up else pct,
            last_event_at=progress_at, progress_at=progress_at, phase_started=tuple(marks),
            socket_up_at=self.t0 + self.socket_at if up and self.socket_at is not None else None,
        )  # fmt: skip
        tip = None
        if up and self.socket_at is not None:
            moving = 0 if self.tip_stalls else int((el - self.socket_at) * self.speed)
            tip = min(expected, EXPECTED0 - self.lag_at_socket + moving)
        return GateSample(at=self.clock.now, active=True, version="8.9.0", tip_slot=tip, expected_slot=expected,
                          hot_peers=2, hot_peer_addresses=("198.18.0.11",), startup=start)  # fmt: skip


Steps = list[tuple[float, Phase, float | None]]


def replay(every: float, until: float, phase: Phase = Phase.REPLAYING, start: float = 0.0) -> Steps:
    """A progress line every `every` s from `start` to `until` (percent from 0 to 100)."""
    n = int((until - start) / every)
    return [(start + i * every, phase, 100.0 * i / n) for i in range(n + 1)]


POLICY = GatePolicy(max_slot_lag=20, interval=5.0, stall_timeout=60.0, overall_timeout=None)


def gate(script: Script, policy: GatePolicy = POLICY, cap: float | None = None):
    states: list[str] = []

    def on_sample(s: GateSample, _reason: str | None) -> None:
        states.append(describe(s, policy.max_slot_lag, script.clock.now))

    result = run_gate(script, standard_checks("8.9.0", policy, True), policy, clock=script.clock,
                      sleep=script.clock.sleep, on_sample=on_sample, overall_timeout=cap)  # fmt: skip
    return result, states


def test_replay_longer_than_stall_seconds_then_socket_then_sync_passes() -> None:
    clock = FakeClock(1000.0)
    steps = [(0.0, Phase.VALIDATING, 99.9), *replay(3.0, 150.0, start=3.0), (150.0, Phase.CHAIN_SELECTION, 0.0),
             (170.0, Phase.CHAIN_SELECTION, 100.0)]  # fmt: skip
    result, states = gate(Script(clock, steps, socket_at=180.0))
    assert result.ok, result.reason
    assert result.duration > 180 > POLICY.stall_timeout  # never cut short while the replay moves
    kinds = [s.split(" ")[0] for s in states]
    # opening → validating → replaying → chain selection → syncing → in sync, in that order
    seen = list(dict.fromkeys(k for k in kinds))
    assert seen == ["validating", "replaying", "initial", "syncing", "in"], states
    assert any(s.startswith("replaying ledger ") and "left" in s for s in states)


def test_replay_that_stops_is_stalled_naming_phase_and_last_percent() -> None:
    clock = FakeClock(1000.0)
    steps = [s for s in replay(1.5, 150.0) if s[2] is None or s[2] <= 37.0]  # stops at 37%
    result, _ = gate(Script(clock, steps, socket_at=None))
    assert not result.ok
    assert result.reason.startswith("no replay progress for 6")  # 60 s at the 5 s interval: 60-65 s
    assert "at 37%" in result.reason
    last_progress = 1000.0 + steps[-1][0]
    assert 60 <= clock.now - last_progress < 60 + POLICY.interval + 0.01


def test_chunk_validation_stall_names_its_phase() -> None:
    clock = FakeClock(1000.0)
    result, _ = gate(Script(clock, [(0.0, Phase.VALIDATING, 12.0)], socket_at=None))
    assert not result.ok and result.reason.startswith("no chunk validation progress for ") and "at 12%" in result.reason


def test_chain_selection_stall_names_its_phase() -> None:
    clock = FakeClock(1000.0)
    steps = [*replay(2.0, 20.0), (20.0, Phase.CHAIN_SELECTION, 0.0), (24.0, Phase.CHAIN_SELECTION, 40.0)]
    result, _ = gate(Script(clock, steps, socket_at=None))
    assert not result.ok and "no chain selection progress" in result.reason and "at 40%" in result.reason


def test_socket_up_but_tip_never_moves_is_a_tip_stall() -> None:
    clock = FakeClock(1000.0)
    steps = replay(2.0, 10.0)
    result, states = gate(Script(clock, steps, socket_at=12.0, tip_stalls=True))
    assert not result.ok
    assert result.reason.startswith("tip stalled after ") and "behind the wall clock" in result.reason
    assert states[-1].startswith("syncing (lag ")
    assert clock.now - (1000.0 + 12.0) >= 60  # the socket coming up was the last progress


def test_no_log_and_no_socket_stalls_after_stall_seconds_from_the_restart() -> None:
    clock = FakeClock(1000.0)

    def silent() -> GateSample:
        return GateSample(at=clock.now, active=True, version="8.9.0", expected_slot=EXPECTED0)

    policy = GatePolicy(interval=5.0, stall_timeout=60.0)
    result = run_gate(silent, standard_checks("8.9.0", policy, True), policy, clock=clock, sleep=clock.sleep)
    assert not result.ok and result.reason.startswith("tip stalled after 60s: no tip yet")


@pytest.mark.parametrize("stall", [30.0, 90.0])
def test_stall_seconds_changes_when_a_stalled_replay_is_given_up(stall: float) -> None:
    clock = FakeClock(1000.0)
    steps = [s for s in replay(3.0, 150.0) if (s[2] or 0) <= 20.0]
    policy = GatePolicy(interval=1.0, stall_timeout=stall)
    result, _ = gate(Script(clock, steps, socket_at=None), policy)
    assert not result.ok and f"progress for {stall:.0f} s" in result.reason
    assert clock.now - (1000.0 + steps[-1][0]) == pytest.approx(stall, abs=1.01)


@pytest.mark.parametrize("interval", [1.0, 7.0])
def test_poll_interval_is_the_time_between_samples(interval: float) -> None:
    clock = FakeClock(1000.0)
    result, _ = gate(Script(clock, replay(3.0, 30.0), socket_at=31.0), GatePolicy(interval=interval, stall_timeout=60))
    assert result.ok
    gaps = {round(b.at - a.at, 3) for a, b in zip(result.samples, result.samples[1:], strict=False)}
    assert gaps == {interval}


def test_overall_timeout_caps_a_start_that_progresses_forever() -> None:
    clock = FakeClock(1000.0)
    steps = replay(10.0, 100_000.0)
    result, _ = gate(Script(clock, steps, socket_at=None), GatePolicy(interval=5.0, stall_timeout=60), cap=300)
    assert not result.ok and result.reason.startswith("overall timeout after 300s: node starting: replaying ledger")


def test_policy_timeout_applies_when_no_per_host_cap_is_given() -> None:
    clock = FakeClock(1000.0)
    policy = GatePolicy(interval=5.0, stall_timeout=60, overall_timeout=120)
    result, _ = gate(Script(clock, replay(10.0, 100_000.0), socket_at=None), policy)
    assert not result.ok and result.reason.startswith("overall timeout after 120s")


@pytest.mark.parametrize(("last_start", "cap"), [(None, 3600.0), (150.0, 3600.0), (2400.0, 7200.0)])
def test_auto_overall_timeout_is_a_multiple_of_the_last_start_with_a_floor(last_start: float | None, cap: float) -> None:
    assert overall_timeout_for(last_start) == cap


def test_a_previous_complete_start_in_the_log_is_not_progress() -> None:
    """Right after `systemctl restart` the log's newest start may still be the old, finished one:
    seeing it again and again must not count as progress."""
    clock = FakeClock(1000.0)
    old = StartupProgress(started_at=1.0, phase=Phase.SOCKET_UP, percent=None, last_event_at=9.0, progress_at=9.0,
                          socket_up_at=9.0)  # fmt: skip

    def stuck() -> GateSample:
        return GateSample(at=clock.now, active=True, version="8.9.0", expected_slot=EXPECTED0, startup=old)

    policy = GatePolicy(interval=5.0, stall_timeout=60.0)
    result = run_gate(stuck, standard_checks("8.9.0", policy, True), policy, clock=clock, sleep=clock.sleep)
    assert not result.ok and clock.now - 1000.0 == pytest.approx(60.0, abs=5.01)
