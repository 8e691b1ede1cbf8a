"""The sync gate with a fake clock: it never sleeps for real."""

from __future__ import annotations

import pytest

from orchestrator.roll.gates import GateSample, hot_peers_within, run_gate, standard_checks
from orchestrator.spec.gate import GatePolicy
from tests.unit.fake_fleet import FakeClock


def node(clock: FakeClock, start_lag: int, speed: int, version: str = "8.9.0", hot: int = 2, stall_after: float = 1e9):
    """A node that catches up `speed` slots per second until `stall_after` seconds, then freezes."""
    t0 = clock.now
    expected0 = 5_000_000

    def sample() -> GateSample:
        elapsed = clock.now - t0
        expected = expected0 + int(elapsed)
        moving = min(elapsed, stall_after)
        tip = min(expected0 - start_lag + int(moving * speed), expected if elapsed <= stall_after else 0)
        if elapsed > stall_after:
            tip = min(expected0 - start_lag + int(stall_after * speed), expected0 + int(stall_after))
        return GateSample(at=clock.now, active=True, version=version, tip_slot=tip, expected_slot=expected, hot_peers=hot,
                          hot_peer_addresses=("198.18.0.11",))

    return sample


@pytest.mark.parametrize(
    ("start_lag", "speed", "version", "hot", "stall_after", "ok", "reason_part"),
    [
        (0, 1, "8.9.0", 2, 1e9, True, "in sync"),
        (3000, 50, "8.9.0", 2, 1e9, True, "in sync"),  # 60 s of catch-up: slow but moving, passes
        (3000, 50, "8.7.3", 2, 1e9, False, "binary reports 8.7.3"),
        (0, 1, "8.9.0", 0, 1e9, False, "no hot peer"),
        (3000, 50, "8.9.0", 2, 10, False, "tip stalled"),  # stops moving after 10 s
    ],
)
def test_gate_outcomes(start_lag, speed, version, hot, stall_after, ok, reason_part):
    clock = FakeClock()
    policy = GatePolicy(max_slot_lag=20, interval=1.0, stall_timeout=30, overall_timeout=600)
    result = run_gate(node(clock, start_lag, speed, version, hot, stall_after), standard_checks("8.9.0", policy, True),
                      policy, clock=clock, sleep=clock.sleep)
    assert result.ok is ok
    assert reason_part in result.reason
    assert result.samples[-1].at == clock.now


def test_overall_timeout_caps_a_slow_but_moving_node():
    clock = FakeClock()
    policy = GatePolicy(max_slot_lag=20, interval=1.0, stall_timeout=30, overall_timeout=100)
    result = run_gate(node(clock, 100_000, 5), standard_checks("8.9.0", policy, True), policy, clock=clock,
                      sleep=clock.sleep)
    assert not result.ok
    assert "overall timeout" in result.reason
    assert 100 <= result.duration <= 102


def test_producer_hot_peers_must_be_its_relays():
    check = hot_peers_within(["198.18.0.11", "198.18.0.12"])
    ok = GateSample(at=0, hot_peer_addresses=("198.18.0.11",))
    stray = GateSample(at=0, hot_peer_addresses=("198.18.0.11", "198.18.0.2"))
    none = GateSample(at=0, hot_peer_addresses=())
    assert check(ok, None) is None
    assert check(stray, None) == "hot peers outside its relays: 198.18.0.2"
    assert check(none, None) == "no hot peer among its relays"


def test_unreachable_host_fails_the_gate_with_the_reason():
    clock = FakeClock()
    policy = GatePolicy(interval=1.0, stall_timeout=5, overall_timeout=10)
    result = run_gate(lambda: GateSample(at=clock.now, reachable=False, error="connection refused"),
                      standard_checks("8.9.0", policy, False), policy, clock=clock, sleep=clock.sleep)
    assert not result.ok and "connection refused" in result.reason
