"""One polling primitive for the rollout's waits (the soak, the leader-window countdown), in tenacity's
style: an attempt that returns a result when it is done, stop conditions that compose with `|`, and
the clock and sleep injected (so a unit test waits hours in microseconds).

The gate itself (roll/gates.py run_gate) runs on tenacity directly; this is for the waits whose
attempt decides its own end and whose interval may change from one attempt to the next.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

R = TypeVar("R")


@dataclass(frozen=True)
class Stop:
    """Whether a poll gives up, asked with the clock's `now` after an attempt that was not done."""

    test: Callable[[float], bool]

    def __call__(self, now: float) -> bool:
        return self.test(now)

    def __or__(self, other: Stop) -> Stop:
        return Stop(lambda now: self(now) or other(now))


def stop_after(cap: float, start: float) -> Stop:
    """Give up `cap` seconds after `start` (the clock's reading when the wait began)."""
    return Stop(lambda now: now - start >= cap)


def stop_stalled(since: Callable[[], float | None], stall: float) -> Stop:
    """Give up once `stall` seconds have passed since `since()` (the clock's reading when progress
    last stopped); None: no stall running."""

    def test(now: float) -> bool:
        began = since()
        return began is not None and now - began >= stall

    return Stop(test)


NEVER = Stop(lambda _now: False)


def poll(
    attempt: Callable[[], R | None],
    interval: Callable[[], float],
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    stop: Stop = NEVER,
) -> R | None:
    """Call `attempt` until it returns a result (not None); after each attempt that did not, give up
    with None when `stop` says so, else sleep `interval()` seconds (read after the attempt)."""
    while True:
        result = attempt()
        if result is not None:
            return result
        if stop(clock()):
            return None
        sleep(interval())
