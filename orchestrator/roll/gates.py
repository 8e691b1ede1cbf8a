"""Sync-health gates: small composable policies over tenacity, with clock and sleep injected.

A gate samples a host until every check passes, or until it gives up. It gives up when the tip
has not moved for `stall_timeout` seconds (the clock restarts while the node keeps syncing, so a
slow but progressing catch-up is never cut short) or when `overall_timeout` runs out.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from tenacity import RetryCallState, Retrying, retry_if_result


@dataclass(frozen=True)
class GateSample:
    """What one look at a host showed; None where the probe could not tell."""

    at: float
    reachable: bool = True
    active: bool = False
    version: str | None = None
    tip_slot: int | None = None
    expected_slot: int | None = None
    hot_peers: int | None = None
    hot_peer_addresses: tuple[str, ...] = ()
    error: str | None = None

    @property
    def slot_lag(self) -> int | None:
        if self.tip_slot is None or self.expected_slot is None:
            return None
        return self.expected_slot - self.tip_slot


# A check looks at the latest sample (and the one before) and returns why it fails, or None.
Check = Callable[[GateSample, GateSample | None], str | None]


def service_active() -> Check:
    def check(s: GateSample, _prev: GateSample | None) -> str | None:
        if not s.reachable:
            return f"host unreachable: {s.error}"
        return None if s.active else "service is not active"

    return check


def version_is(target: str) -> Check:
    def check(s: GateSample, _prev: GateSample | None) -> str | None:
        return None if s.version == target else f"binary reports {s.version or 'nothing'}, want {target}"

    return check


def within_slot_lag(max_lag: int) -> Check:
    def check(s: GateSample, _prev: GateSample | None) -> str | None:
        lag = s.slot_lag
        if lag is None:
            return "no tip yet (node socket not answering)"
        return None if lag <= max_lag else f"tip is {lag} slots behind the wall clock (max {max_lag})"

    return check


def advancing() -> Check:
    def check(s: GateSample, prev: GateSample | None) -> str | None:
        if prev is None or prev.tip_slot is None or s.tip_slot is None:
            return "waiting for a second sample to see the tip move"
        return None if s.tip_slot > prev.tip_slot else "tip did not advance between two samples"

    return check


def has_hot_peer(minimum: int = 1) -> Check:
    def check(s: GateSample, _prev: GateSample | None) -> str | None:
        hot = s.hot_peers or 0
        if hot >= minimum:
            return None
        return "no hot peer" if hot == 0 else f"{hot} hot peer(s), want at least {minimum}"

    return check


def hot_peers_within(allowed: Sequence[str], what: str = "its relays") -> Check:
    """A block producer's hot peers must be its own relays, and at least one of them."""
    allowed_set = frozenset(allowed)

    def check(s: GateSample, _prev: GateSample | None) -> str | None:
        peers = set(s.hot_peer_addresses)
        if not peers & allowed_set:
            return f"no hot peer among {what}"
        stray = sorted(peers - allowed_set)
        return f"hot peers outside {what}: {', '.join(stray)}" if stray else None

    return check


@dataclass(frozen=True)
class GatePolicy:
    max_slot_lag: int = 20
    interval: float = 1.0
    stall_timeout: float = 120.0
    overall_timeout: float = 900.0
    min_hot_peers: int = 1  # sync_gate's min_hot_peers (P2P only: a non-P2P node reports none)


@dataclass(frozen=True)
class GateResult:
    ok: bool
    reason: str  # the last failing check, or "in sync"
    samples: tuple[GateSample, ...] = field(default=())
    duration: float = 0.0


class _Progress:
    """Tracks when the tip last moved, so that a stall — not mere slowness — ends the wait."""

    def __init__(self, start: float) -> None:
        self.start = start
        self.last_move = start
        self.best_slot: int | None = None

    def note(self, sample: GateSample) -> None:
        if sample.tip_slot is not None and (self.best_slot is None or sample.tip_slot > self.best_slot):
            self.best_slot = sample.tip_slot
            self.last_move = sample.at


def run_gate(
    sample: Callable[[], GateSample],
    checks: Sequence[Check],
    policy: GatePolicy,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    on_sample: Callable[[GateSample, str | None], None] = lambda _s, _r: None,
) -> GateResult:
    """Sample until every check passes; stop on a stall or the overall cap."""
    samples: list[GateSample] = []
    progress = _Progress(clock())

    def attempt() -> str | None:
        s = sample()
        prev = samples[-1] if samples else None
        samples.append(s)
        progress.note(s)
        reason = next((r for c in checks if (r := c(s, prev)) is not None), None)
        on_sample(s, reason)
        return reason

    def should_stop(_state: RetryCallState) -> bool:
        now = clock()
        return now - progress.start >= policy.overall_timeout or now - progress.last_move >= policy.stall_timeout

    retrying = Retrying(
        stop=should_stop,
        wait=lambda _state: policy.interval,
        retry=retry_if_result(lambda reason: reason is not None),
        sleep=sleep,
        retry_error_callback=lambda state: state.outcome.result() if state.outcome else "gave up",
        reraise=True,
    )
    reason = retrying(attempt)
    duration = clock() - progress.start
    if reason is None:
        return GateResult(True, "in sync", tuple(samples), duration)
    stalled = clock() - progress.last_move >= policy.stall_timeout
    why = "tip stalled" if stalled else "overall timeout"
    return GateResult(False, f"{why} after {duration:.0f}s: {reason}", tuple(samples), duration)


def standard_checks(
    target_version: str, policy: GatePolicy, p2p: bool, producer_relays: Sequence[str] | None = None
) -> list[Check]:
    """The gate the upgrade uses: active, right version, in sync and advancing, hot peers."""
    checks = [service_active(), version_is(target_version), within_slot_lag(policy.max_slot_lag), advancing()]
    if p2p:
        checks.append(has_hot_peer(policy.min_hot_peers))
    if producer_relays is not None:
        checks.append(hot_peers_within(producer_relays))
    return checks
