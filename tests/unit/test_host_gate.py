"""roll/host_gate.py's soak and cap, and roll/poll.py's stops, on a fake clock with scripted samples."""

from __future__ import annotations

from collections.abc import Sequence

from orchestrator.cardano.startup import Phase, StartupProgress
from orchestrator.roll.gates import GateResult, GateSample
from orchestrator.roll.host_gate import HostGate
from orchestrator.roll.poll import poll, stop_after, stop_stalled
from orchestrator.spec.gate import GatePolicy
from tests.unit.fake_fleet import FakeClock

POLICY = GatePolicy(interval=10.0, stall_timeout=60.0, soak_seconds=60.0, min_hot_peers=1)


def good(at: float, started_at: float = 0.0) -> GateSample:
    start = StartupProgress(started_at=started_at, phase=Phase.SOCKET_UP, percent=None, last_event_at=started_at + 5,
                            progress_at=started_at + 5, socket_up_at=started_at + 5)  # fmt: skip
    return GateSample(at=at, active=True, version="8.9.0", tip_slot=1000, expected_slot=1005, hot_peers=2,
                      startup=start)  # fmt: skip


def lost(at: float) -> GateSample:
    return GateSample(at=at, reachable=False, error="connection refused")


def soak(samples: Sequence[GateSample | None], policy: GatePolicy = POLICY) -> tuple[str | None, float, int]:
    """Soak over scripted samples (None: a good one); (reason, seconds, samples taken)."""
    clock = FakeClock()
    taken: list[GateSample] = []

    def sample() -> GateSample:
        s = samples[len(taken)] if len(taken) < len(samples) else None
        taken.append(s if s is not None else good(clock()))
        return taken[-1]

    gate = GateResult(True, "in sync", startup=good(0.0).startup)
    result = HostGate(policy, None, sample, clock, clock.sleep).soak("8.9.0", gate)
    return result.reason, result.seconds, len(taken)


def test_a_good_soak_samples_every_interval_until_soak_seconds() -> None:
    assert soak([]) == (None, 60.0, 7)


def test_a_short_loss_of_connection_is_waited_for() -> None:
    reason, _seconds, _n = soak([None, lost(10), lost(20), lost(30)])
    assert reason is None


def test_a_loss_of_connection_for_stall_timeout_fails_the_soak() -> None:
    reason, seconds, n = soak([None] + [lost(0)] * 20)
    assert reason == "unreachable for 60 s during the soak: connection refused"
    assert (seconds, n) == (70.0, 8)


def test_a_new_start_in_the_log_fails_the_soak() -> None:
    reason, _s, _n = soak([None, None, good(20, started_at=15)])
    assert reason == ("the node started again 20 s into the 60 s soak (a new start in its log): "
                      "it died after passing the gate")  # fmt: skip


def test_no_soak_when_soak_seconds_is_zero() -> None:
    clock = FakeClock()
    result = HostGate(GatePolicy(soak_seconds=0), None, lambda: good(0), clock, clock.sleep).soak(
        "8.9.0", GateResult(True, "in sync"))
    assert not result.ran and result.ok and clock() == 0


def test_the_cap_is_the_policys_else_three_times_the_last_start_never_below_the_floor() -> None:
    def cap(policy: GatePolicy, last: float | None) -> float:
        return HostGate(policy, last, lambda: good(0), FakeClock(), FakeClock().sleep).cap

    assert cap(GatePolicy(overall_timeout=120.0), 5000.0) == 120.0
    assert cap(GatePolicy(), 2000.0) == 6000.0
    assert cap(GatePolicy(), 60.0) == 3600.0 == cap(GatePolicy(), None)


def test_poll_stops_compose_and_the_attempt_decides_its_own_end() -> None:
    clock = FakeClock()
    moved = {"at": 0.0}

    def never_done() -> int | None:
        if clock() < 30:
            moved["at"] = clock()  # progress until 30 s, then a stall
        return None

    stop = stop_after(500.0, 0.0) | stop_stalled(lambda: moved["at"], 40.0)
    assert poll(never_done, lambda: 10.0, clock, clock.sleep, stop) is None
    assert clock() == 60.0  # the stall (last progress at 20 s + 40 s), long before the cap
    clock2 = FakeClock()
    assert poll(lambda: 7 if clock2() >= 25 else None, lambda: 10.0, clock2, clock2.sleep) == 7
    assert clock2() == 30.0
