"""facts/clock.py: the one clock the gate, the plan and the audit measure slots against."""

from __future__ import annotations

import pytest

from orchestrator.facts.clock import MAX_CLOCK_SKEW_SECONDS, ClockReading, reference_time, skew_refusal
from orchestrator.facts.model import HostFacts


@pytest.mark.parametrize(
    ("host_time", "now", "want", "note"),
    [
        (None, 1000.0, 1000.0, "control machine's clock"),
        (1010, 1000.0, 1010.0, "host's clock"),
        (1030, 1000.0, 1030.0, "host's clock"),
        (1300, 1000.0, 1000.0, "control machine's clock (host clock off by +300 s)"),
        (700, 1000.0, 1000.0, "control machine's clock (host clock off by -300 s)"),
    ],
)
def test_reference_time_is_the_hosts_clock_within_the_bound(host_time: int | None, now: float, want: float,
                                                            note: str) -> None:  # fmt: skip
    assert reference_time(host_time, now, MAX_CLOCK_SKEW_SECONDS) == (want, note)


@pytest.mark.parametrize(
    ("skew", "want"),
    [
        (0.4, None),
        (-30.0, None),
        (31.0, "host clock is 31 s ahead of the control machine's (max_clock_skew_seconds 30)"),
        (-300.2, "host clock is 300 s behind the control machine's (max_clock_skew_seconds 30)"),
    ],
)
def test_skew_refusal_names_the_numbers(skew: float, want: str | None) -> None:
    got = skew_refusal(skew, 30)
    assert got == want if want is None else got is not None and got.startswith(want)


def test_host_facts_skew_is_the_host_clock_minus_the_control_clock_at_the_probe_midpoint() -> None:
    assert HostFacts("relay1", True, host_time=1300, control_time=1000.5).clock_skew == pytest.approx(299.5)
    assert HostFacts("relay1", True, host_time=None, control_time=1000.5).clock_skew is None
    assert ClockReading(host=90.0, control=100.0).skew == -10.0
