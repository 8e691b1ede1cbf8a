"""One host's gate, then its soak: the same code for a fresh run (roll/engine.py) and `run --resume`
(roll/resume.py), so both judge a host with its own gate (its sync_gate, else the run's), the same
automatic timeout cap (`overall_timeout_for` its last measured start) and the same soak.

The clock-skew limit lives in the sampler (workflow.sample_host's `max_skew`: a host clock further off
than its gate's `max_clock_skew` is not trusted for the expected slot); `skew_limited` builds that
sampler from the host's own gate, for both callers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from orchestrator.model import Host
from orchestrator.roll.gates import (
    GateResult,
    GateSample,
    overall_timeout_for,
    run_gate,
    soak_checks,
    standard_checks,
)
from orchestrator.roll.poll import poll, stop_stalled
from orchestrator.spec.gate import GatePolicy

# One health probe of a host whose clock is trusted within `max_skew` seconds of the control machine's.
Probe = Callable[[Host, float], GateSample]


def skew_limited(probe: Probe, policy_of: Callable[[Host], GatePolicy]) -> Callable[[Host], GateSample]:
    """A host's sampler with its own gate's clock-skew limit (max_clock_skew, seconds)."""
    return lambda host: probe(host, policy_of(host).max_clock_skew)


def _no_gate_sample(_s: GateSample, _reason: str | None) -> None:
    return None


def _no_soak_sample(_s: GateSample, _elapsed: float) -> None:
    return None


@dataclass(frozen=True)
class Soak:
    """How the soak ended. `ran` False: the policy asks for none (soak_seconds 0). `reason`: why it
    failed (None when it held); `seconds`: how long it sampled."""

    ran: bool
    reason: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.reason is None


@dataclass
class _Unreachable:
    """Since when (clock seconds) the soak's samples find the host unreachable, and why; None: reachable."""

    since: float | None = None
    error: str | None = None


@dataclass(frozen=True)
class HostGate:
    """Judge one host after its change. `policy`: the host's own gate (its sync_gate, else the run's);
    `last_start_seconds`: its last measured start (own log), for the automatic cap when the policy sets
    none and for the time budget of a phase the node logs no progress for (gates.phase_budget).
    `clock`/`sleep`: monotonic seconds, injected. The callbacks see each sample (the engine journals
    connection drops and feeds the live view from them)."""

    policy: GatePolicy
    last_start_seconds: float | None
    sample: Callable[[], GateSample]
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    on_gate_sample: Callable[[GateSample, str | None], None] = _no_gate_sample
    on_soak_sample: Callable[[GateSample, float], None] = _no_soak_sample
    # What this start is expected to take when it is not like the last one: a crossing that replays
    # the ledger (plan.HostPlan.start_seconds); None: like its last start.
    expected_start_seconds: float | None = None

    @property
    def cap(self) -> float:
        """The gate's overall timeout, seconds: the policy's, else from the start expected (a replay's
        estimate across a snapshot boundary), else from the host's last measured start."""
        if self.policy.overall_timeout is not None:
            return self.policy.overall_timeout
        expected = self.expected_start_seconds
        return overall_timeout_for(expected if expected is not None else self.last_start_seconds)

    def gate(self, version: str, p2p: bool, producer_relays: Sequence[str] | None = None) -> GateResult:
        """Sample until in sync on `version` (roll/gates.py run_gate), within the cap."""
        checks = standard_checks(version, self.policy, p2p=p2p, producer_relays=producer_relays)
        return run_gate(self.sample, checks, self.policy, self.clock, self.sleep, self.on_gate_sample, self.cap,
                        last_start_seconds=self.last_start_seconds)  # fmt: skip

    def soak(self, version: str, gate: GateResult, producer_relays: Sequence[str] | None = None) -> Soak:
        """After the gate: in sync must hold for the policy's soak_seconds, sampled every interval —
        active, on `version`, within max_slot_lag (and, for a producer, hot peers among its relays),
        with no new start in the node's log. A host unreachable for less than stall_timeout is waited
        for (the soak ends only on a good sample)."""
        policy = self.policy
        if policy.soak_seconds <= 0:
            return Soak(ran=False)
        checks = soak_checks(version, policy, producer_relays=producer_relays)
        started_at = gate.startup.started_at if gate.startup is not None else None
        begin = self.clock()
        lost = _Unreachable()

        def attempt() -> Soak | None:
            s = self.sample()
            now = self.clock()
            elapsed = now - begin
            self.on_soak_sample(s, elapsed)
            if not s.reachable:
                lost.since = now if lost.since is None else lost.since
                lost.error = s.error
                return None
            lost.since = None
            if started_at is not None and s.startup is not None and s.startup.started_at > started_at + 1:
                return Soak(True, f"the node started again {elapsed:.0f} s into the {policy.soak_seconds:g} s "
                                  "soak (a new start in its log): it died after passing the gate", elapsed)  # fmt: skip
            reason = next((r for c in checks if (r := c(s, None)) is not None), None)
            if reason is not None:
                return Soak(True, f"{reason}, {elapsed:.0f} s into the {policy.soak_seconds:g} s soak", elapsed)
            return Soak(True, None, elapsed) if elapsed >= policy.soak_seconds else None

        # an unreachable host is waited for up to stall_timeout; the soak ends only on a good sample
        ended = poll(attempt, lambda: policy.interval, self.clock, self.sleep,
                     stop=stop_stalled(lambda: lost.since, policy.stall_timeout))  # fmt: skip
        if ended is not None:
            return ended
        now, since = self.clock(), lost.since if lost.since is not None else begin
        return Soak(True, f"unreachable for {now - since:.0f} s during the soak: {lost.error}", now - begin)
