"""Sync-health gates: small composable policies over tenacity, with clock and sleep injected.

A gate samples a host until every check passes, or until it gives up. A restarted node goes
through phases: process up but replaying (its log shows chunk validation, ledger replay, initial
chain selection, each with a percentage), then socket up and syncing (a tip, lagging), then in
sync. Progress of *either* kind (a phase or percentage that moved in the node's log — or, where the
log cannot be read, the new tracing's `blockReplayProgress` metric that rose — or a tip that moved)
restarts the stall clock; the gate gives up when there has been no progress of any kind
for `stall_timeout` seconds (a mainnet replay can take hours and must never be cut short while it
moves) or when the overall timeout runs out.

A phase whose progress the node does not log cannot stall visibly: on a node running the new
tracing system (10.6+ shipped config, 11.x) initial chain selection logs its start and end but its
progress is Debug, below the shipped config's Info for ChainDB (cardano-node Tracers/ChainDB.hs
L1284-1315; /work/shared/docs/cardano-runtime-signals-10x.md §1.1). Such a phase is budgeted by
time instead (`PhaseBudget`: from the host's own last measured start, else a documented default),
and the gate says so; the operator is never asked to change severities.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from tenacity import RetryCallState, Retrying, retry_if_result

from orchestrator.cardano.releases import Tracing
from orchestrator.cardano.startup import Phase, StartupProgress, percent_text
from orchestrator.facts.model import HostFacts
from orchestrator.spec.gate import (
    TIMEOUT_FLOOR_SECONDS,
    TIMEOUT_START_MULTIPLE,
    GatePolicy,
)


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
    startup: StartupProgress | None = None  # the node's newest start, from its own log
    # The newest *complete* start in its log (the current one once its socket is up, else an earlier
    # one): the host's own history, which budgets a phase the node does not log progress for.
    last_completed: StartupProgress | None = None
    running_version: str | None = None  # the running process's (cardano_build_info); None: not exported
    # blockReplayProgress (0-100, slot over target; new tracing only, BlockReplayProgress.hs L71-72):
    # the replay's only signal when the node's log cannot be read (e.g. sent to cardano-tracer only).
    replay_progress: float | None = None

    @property
    def starting(self) -> StartupProgress | None:
        """The start in progress (socket not up yet), if the log shows one."""
        return self.startup if self.startup is not None and not self.startup.done else None

    @property
    def replay_by_metric(self) -> str | None:
        """The replay as the node's metric tells it, in words, when its socket is down and its log shows
        no start in progress; None otherwise (the log, when it shows one, says more)."""
        if self.starting is not None or self.tip_slot is not None or self.replay_progress is None:
            return None
        if self.replay_progress >= 100.0:
            return "ledger replayed (blockReplayProgress metric; no startup lines in its log)"
        return (f"replaying ledger {percent_text(self.replay_progress, absolute=True)} "
                "(blockReplayProgress metric, slot over target; no startup lines in its log)")  # fmt: skip

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


def sample_from_facts(facts: HostFacts, at: float, expected_slot: int | None) -> GateSample:
    """One gate sample from one facts probe (facts/model.py). `at`: the gate's clock (monotonic
    seconds); `expected_slot`: the wall-clock slot. A node that is starting exports no tip, slot or
    peer metrics yet (new tracing: slotNum is set on the first block after a restart, ChainDB.hs
    L704-739): those stay None — not ready, never an error."""
    if not facts.reachable:
        return GateSample(at=at, reachable=False, error=facts.error)
    startups = facts.startups
    return GateSample(
        at=at,
        reachable=True,
        active=facts.service_running,
        version=facts.node_version,
        tip_slot=facts.tip.slot if facts.tip is not None else None,
        expected_slot=expected_slot,
        hot_peers=facts.hot_peer_count[0],
        hot_peer_addresses=facts.hot_peer_addresses,
        error=facts.tip_error,
        startup=startups.current if startups is not None else None,
        last_completed=startups.last_completed if startups is not None else None,
        running_version=facts.running_version,
        replay_progress=facts.replay_progress,
    )


def version_is(target: str) -> Check:
    """The node runs `target`: the running process's version where it exports one
    (`cardano_build_info`, cardano-node Tracers/NodeVersion.hs L110-138 — what guild's gLiveView shows
    as the running version, env L635), else the binary on disk (`cardano-node --version`), which a
    process started before the switch does not run."""

    def check(s: GateSample, _prev: GateSample | None) -> str | None:
        if s.running_version is not None:
            if s.running_version == target:
                return None
            disk = f" (the binary on disk reports {s.version})" if s.version and s.version != s.running_version else ""
            return f"running node reports {s.running_version}{disk}, want {target}"
        return None if s.version == target else f"binary reports {s.version or 'nothing'}, want {target}"

    return check


def within_slot_lag(max_lag: int) -> Check:
    def check(s: GateSample, _prev: GateSample | None) -> str | None:
        lag = s.slot_lag
        if lag is None and s.starting is not None:
            return f"node starting: {s.starting.describe()} (socket not up yet)"
        if lag is None and (by_metric := s.replay_by_metric) is not None:
            return f"node starting: {by_metric} (socket not up yet)"
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


def overall_timeout_for(last_start_seconds: float | None, floor: float = TIMEOUT_FLOOR_SECONDS) -> float:
    """The gate's cap when the operator set none: TIMEOUT_START_MULTIPLE × the host's last measured
    start (its log: ChainDB opening to socket), never below `floor` (seconds); the floor alone when
    the last start is unknown."""
    if last_start_seconds is None:
        return floor
    return max(floor, TIMEOUT_START_MULTIPLE * last_start_seconds)


# An unobserved phase's budget on a host with no measured start, seconds. Source: cardano-node#5884
# (8.9.3, the release whose initial chain selection grew — its "Pushing ledger state" progress is the
# very message the new tracing's shipped config hides; the AMD log shows it running from
# 22:28:39 past 22:32:58): restarts went from 8.5 to 36 min on ARM, 2 to 6 min on AMD
# (/work/shared/docs/cardano-runtime-signals-10x.md §5). An hour covers the worst
# reported with room, and equals the overall cap's floor, so on such a host the phase is bounded by
# the cap a start already has, never by the 5-minute stall rule meant for phases that log progress.
UNOBSERVED_PHASE_SECONDS = 3600.0


@dataclass(frozen=True)
class PhaseBudget:
    """How long a phase whose progress the node does not log may run (seconds, from when the gate
    saw it begin), and where that figure comes from, in the operator's words."""

    phase: Phase
    seconds: float
    source: str

    def text(self) -> str:
        return (f"{self.phase}'s progress is not logged at the shipped severities: "
                f"budgeted {fmt_duration(self.seconds)} by time ({self.source})")  # fmt: skip


def phase_budget(
    start: StartupProgress, policy: GatePolicy, history: StartupProgress | None, last_start_seconds: float | None
) -> PhaseBudget | None:
    """The time budget of the phase `start` is in, when the node logs no progress for it; None for a
    phase that logs its progress (the stall rule judges those). The budget is TIMEOUT_START_MULTIPLE ×
    what the host's own log measured — the same phase in its last complete start (`history`), else its
    whole last start (`last_start_seconds`, which contains the phase) — never below stall_timeout;
    with no history, UNOBSERVED_PHASE_SECONDS."""
    if start.done or start.phase is not Phase.CHAIN_SELECTION or not start.unobserved:
        return None
    phase, multiple, floor = start.phase, TIMEOUT_START_MULTIPLE, policy.stall_timeout
    measured = history.phase_durations().get(str(phase)) if history is not None and history.done else None
    at_least = "at least stall_timeout"
    if measured is not None:
        source = f"{multiple:g} × its last {phase}, {fmt_duration(measured)} in its log, {at_least}"
        return PhaseBudget(phase, max(floor, multiple * measured), source)
    if last_start_seconds is not None:
        source = f"{multiple:g} × its last start, {fmt_duration(last_start_seconds)}, {at_least}"
        return PhaseBudget(phase, max(floor, multiple * last_start_seconds), source)
    source = "default: no start measured on this host; restarts up to 36 min reported, cardano-node#5884"
    return PhaseBudget(phase, max(floor, UNOBSERVED_PHASE_SECONDS), source)


def progress_step(start: StartupProgress | None) -> str | None:
    """The live view's step within a startup phase, "<phase>:<tens of percent>": tens of the work the
    phase has done since its first figure where the node's figure is absolute (new tracing's replay:
    slot over target, so a snapshot replay runs 99.96 → 100 % and the absolute tens never move), else
    of the node's own figure. None where the phase has no figure."""
    if start is None or start.percent is None:
        return None
    base = start.percent_start
    done = start.percent
    if base is not None and base > 0.0 and base < 100.0:
        done = 100.0 * max(0.0, start.percent - base) / (100.0 - base)
    return f"{start.phase}:{int(min(100.0, done) // 10)}"


@dataclass(frozen=True)
class GateResult:
    ok: bool
    reason: str  # the last failing check, or "in sync"
    samples: tuple[GateSample, ...] = field(default=())
    duration: float = 0.0
    startup: StartupProgress | None = None  # the newest start the gate saw in the node's log


_PHASE_NOUN: dict[Phase, str] = {
    Phase.OPENING: "startup",
    Phase.VALIDATING: "chunk validation",
    Phase.REPLAYING: "replay",
    Phase.CHAIN_SELECTION: "chain selection",
    Phase.SOCKET_UP: "startup",
}


def fmt_duration(seconds: float) -> str:
    """12s, 2m30s, 1h05m."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    minutes, sec = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{sec:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def describe(s: GateSample, max_slot_lag: int, unix_now: float | None = None) -> str:
    """What the host is doing, in the operator's words: "replaying ledger 63%, ~1m40s left",
    "syncing (lag 3400 slots)", "in sync"."""
    if not s.reachable:
        return "unreachable"
    if not s.active:
        return "service not active"
    lag = s.slot_lag
    if lag is None:
        start = s.starting
        if start is None:
            return s.replay_by_metric or "starting (socket not up, no startup progress in its log yet)"
        text = start.describe()
        eta = start.eta_seconds(unix_now if unix_now is not None else start.last_event_at)
        return text + (f", ~{fmt_duration(eta)} left" if eta is not None else "")
    return "in sync" if lag <= max_slot_lag else f"syncing (lag {lag} slots)"


class _Progress:
    """When the node last made progress of any kind: its tip moved, its startup moved on in its log
    (a later phase, a higher percentage), or its replay metric rose, so that a stall, not slowness,
    ends the wait."""

    def __init__(self, start: float) -> None:
        self.start = start
        self.last_move = start
        self.best_slot: int | None = None
        self.startup_mark: tuple[float, float] | None = None  # (started_at, progress_at) of the log
        self.last_startup: StartupProgress | None = None
        self.best_replay: float | None = None  # the replay metric's highest figure
        self.seen = False

    def note(self, sample: GateSample) -> None:
        if sample.tip_slot is not None and (self.best_slot is None or sample.tip_slot > self.best_slot):
            if self.seen:  # a tip that moves, or one that appears (the socket came up)
                self.last_move = sample.at
            self.best_slot = sample.tip_slot
        replay = sample.replay_progress
        if replay is not None and (self.best_replay is None or replay > self.best_replay):
            if self.seen:  # the metric rose, or appeared (the replay began)
                self.last_move = sample.at
            self.best_replay = replay
        self.seen = True
        st = sample.startup
        if st is not None:
            mark = (st.started_at, st.progress_at)
            if self.startup_mark is not None and mark > self.startup_mark:
                self.last_move = sample.at
            if self.startup_mark is None or mark > self.startup_mark:
                self.startup_mark = mark
            self.last_startup = st

    def stall_reason(self, last: GateSample | None, stalled_for: float, budget: PhaseBudget | None = None) -> str:
        """Why a stall ends the gate, naming the phase and the last progress (figures as precise as the
        node's: a 99.97 % replay is never "at 100%"); for a budgeted phase, that its budget ran out."""
        start = last.starting if last is not None else None
        if last is not None and last.tip_slot is None and start is not None:
            if budget is not None:
                return (f"{start.phase} not done after {fmt_duration(stalled_for)}: its progress is not logged at "
                        f"the shipped severities, and its time budget is {fmt_duration(budget.seconds)} "
                        f"({budget.source})")  # fmt: skip
            at = f" at {start.percent_text()}" if start.percent is not None else ""
            # the new tracing's figure is slot over target (absolute): its slots say what 99.97 % hides
            absolute = start.tracing is Tracing.NEW and start.phase is Phase.REPLAYING
            if absolute and start.replay_slot is not None and start.replay_goal is not None:
                at += f" (slot {start.replay_slot} of {start.replay_goal})"
            return f"no {_PHASE_NOUN[start.phase]} progress for {stalled_for:.0f} s{at} ({start.describe()})"
        if last is not None and last.tip_slot is None and last.replay_progress is not None and last.replay_progress < 100:
            return (f"no replay progress for {stalled_for:.0f} s at {percent_text(last.replay_progress, absolute=True)} "
                    "(blockReplayProgress metric; no startup lines in its log)")  # fmt: skip
        return ""


def run_gate(
    sample: Callable[[], GateSample],
    checks: Sequence[Check],
    policy: GatePolicy,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    on_sample: Callable[[GateSample, str | None], None] = lambda _s, _r: None,
    overall_timeout: float | None = None,
    last_start_seconds: float | None = None,
) -> GateResult:
    """Sample until every check passes; stop on a stall (no progress of any kind for
    policy.stall_timeout s; for a phase the node logs no progress for, its `phase_budget`, from the
    host's log or `last_start_seconds`) or the overall cap (`overall_timeout`, else the policy's, else
    the floor)."""
    cap = overall_timeout if overall_timeout is not None else policy.overall_timeout
    if cap is None:
        cap = overall_timeout_for(None)
    samples: list[GateSample] = []
    progress = _Progress(clock())
    budget: list[PhaseBudget | None] = [None]  # the latest sample's

    def attempt() -> str | None:
        s = sample()
        prev = samples[-1] if samples else None
        samples.append(s)
        progress.note(s)
        start = s.starting if s.tip_slot is None else None
        budget[0] = None if start is None else phase_budget(start, policy, s.last_completed, last_start_seconds)
        reason = next((r for c in checks if (r := c(s, prev)) is not None), None)
        if reason is not None and budget[0] is not None:
            reason = f"{reason}; {budget[0].text()}"
        on_sample(s, reason)
        return reason

    def stall_limit() -> float:
        return policy.stall_timeout if budget[0] is None else budget[0].seconds

    def should_stop(_state: RetryCallState) -> bool:
        now = clock()
        return now - progress.start >= cap or now - progress.last_move >= stall_limit()

    retrying = Retrying(
        stop=should_stop,
        wait=lambda _state: policy.interval,
        retry=retry_if_result(lambda reason: reason is not None),
        sleep=sleep,
        retry_error_callback=lambda state: state.outcome.result() if state.outcome else "gave up",
        reraise=True,
    )
    reason = retrying(attempt)
    now = clock()
    duration = now - progress.start
    if reason is None:
        return GateResult(True, "in sync", tuple(samples), duration, progress.last_startup)
    stalled_for = now - progress.last_move
    if stalled_for >= stall_limit():
        why = progress.stall_reason(samples[-1] if samples else None, stalled_for, budget[0])
        if why:
            return GateResult(False, why, tuple(samples), duration, progress.last_startup)
        return GateResult(False, f"tip stalled after {duration:.0f}s: {reason}", tuple(samples), duration,
                          progress.last_startup)  # fmt: skip
    return GateResult(False, f"overall timeout after {duration:.0f}s: {reason}", tuple(samples), duration,
                      progress.last_startup)  # fmt: skip


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


def soak_checks(target_version: str, policy: GatePolicy, producer_relays: Sequence[str] | None = None) -> list[Check]:
    """What must hold on every sample of the soak after the gate: the gate's checks (P2P), without
    `advancing` (one sample at a time; a stopped tip falls behind and fails max_slot_lag soon enough)."""
    checks = [service_active(), version_is(target_version), within_slot_lag(policy.max_slot_lag),
              has_hot_peer(policy.min_hot_peers)]  # fmt: skip
    if producer_relays is not None:
        checks.append(hot_peers_within(producer_relays))
    return checks
