"""The gate on a node that runs the new tracing system (10.6+ shipped config, 11.x), on the injected
clock, with real HostFacts built from the real-shaped lines and metric pages of
tests/fixtures/new-tracing/ (each file's header names the node code it was rendered from).

A `TracedHost` replays a fixture's start against the fake clock: the log holds the lines whose
(retimed) stamp has passed, the metrics page is the replaying one until the socket is up, then the
synced one, and `cardano-cli query tip` answers once the socket is up. Retiming stretches the gap
before a namespace's line, so that one real-shaped start can be slow in the phase a test is about.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import pytest

from orchestrator.cardano import health, startup, trace_forms
from orchestrator.cardano.health import Tip
from orchestrator.cardano.layouts import IOG
from orchestrator.cardano.startup import Phase
from orchestrator.model import Host, Role
from orchestrator.model import Phase as Journaled
from orchestrator.roll.events import Event, GateSeen, NodePhaseSeen
from orchestrator.roll.gates import (
    UNOBSERVED_PHASE_SECONDS,
    GateResult,
    GateSample,
    describe,
    phase_budget,
    progress_step,
    sample_from_facts,
    version_is,
)
from orchestrator.roll.host_gate import HostGate
from orchestrator.roll.host_run import HostOutcome, HostProgram, HostRun, HostState, Means
from orchestrator.roll.remote import Remote
from orchestrator.spec.gate import STALL_SECONDS, GatePolicy
from tests.unit.facts_builder import host_facts
from tests.unit.fake_fleet import FakeClock

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "new-tracing"
SOCKET = startup.NS_SOCKET
CHAIN_SEL = startup.NS_CHAIN_SEL
CHAIN_SELECTED = startup.NS_CHAIN_SELECTED
LEDGER_REPLAY = startup.NS_LEDGER_REPLAY

# The 11.0.1 fixture stops in initial chain selection; the rest of its start, rows 13, 14 and 16 of
# /work/shared/docs/cardano-runtime-signals-10x.md §1.3 in the same uncoloured human form
# (LocalSocketUp has no human text: `{"data":…}`, trace-dispatcher Types.hs L157-163).
REST_OF_11_0_1 = (
    "[2026-05-12 10:16:09.25Z][bp1:ChainDB.InitChainSelEvent.InitialChainSelected](Info,6) Initial chain selected",
    "[2026-05-12 10:16:09.2501Z][bp1:ChainDB.OpenEvent.OpenedDB](Info,6) Opened db with immutable tip at "
    "5f20df933584822601f9e3f8c024eb5eb252fe8cefb24d1317dc3d432e940ebb at slot 171700000 and tip "
    "9a1f3e2c47d0b8e6a51c4f02d7e93b68c1a0f5e4d3c2b1a09f8e7d6c5b4a3921 at slot 171759990",
    '[2026-05-12 10:16:09.4Z][bp1:Startup.DiffusionInit.LocalSocketUp](Info,49) {"data":{"kind":"LocalSocketUp",'
    '"path":"LocalAddress \\"/opt/cardano/cnode/sockets/node.socket\\"","socket":"FileDescriptor 23"}}',
)

_JSON_AT = re.compile(r'"at":"[^"]+"')
_HUMAN_AT = re.compile(r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?Z\]")


def _stamp(unix: float, human: bool) -> str:
    whole = int(unix)
    frac = f"{unix - whole:.4f}"[1:]
    day = time.strftime("%Y-%m-%d", time.gmtime(whole))
    clock = time.strftime("%H:%M:%S", time.gmtime(whole))
    return f"[{day} {clock}{frac}Z]" if human else f'"at":"{day}T{clock}{frac}Z"'


def fixture_lines(name: str) -> list[str]:
    return [ln for ln in (FIXTURES / name).read_text().splitlines() if ln and not ln.startswith("#")]


def retimed(lines: Sequence[str], gaps: Mapping[str, float] = {}, shift: float = 0.0) -> list[tuple[float, str]]:
    """(unix stamp, line) per new-tracing line, its stamp rewritten: the gap before each line of a
    namespace in `gaps` becomes that many seconds (later lines move with it), every stamp `shift`
    seconds later."""
    out: list[tuple[float, str]] = []
    moved, prev = shift, None
    for line in lines:
        t = trace_forms.parse(line)
        assert t is not None, line
        if t.ns in gaps and prev is not None:
            moved += gaps[t.ns] - (t.at - prev)
        prev = t.at
        at = t.at + moved
        human = not trace_forms.strip_ansi(line).startswith("{")
        pattern = _HUMAN_AT if human else _JSON_AT
        out.append((at, pattern.sub(lambda _m, a=at, h=human: _stamp(a, h), line, count=1)))
    return out


def prom(name: str) -> dict[str, float]:
    return health.parse_prometheus((FIXTURES / name).read_text())


@dataclass
class TracedHost:
    """A restarted node following its (retimed) log against the fake clock. `stop_after`: the log
    stops growing after that many lines (a node that hangs). `earlier`: lines of a previous start."""

    clock: FakeClock
    lines: list[tuple[float, str]]
    version: str
    starting_metrics: dict[str, float]
    synced_metrics: dict[str, float]
    earlier: list[str] = field(default_factory=list)
    stop_after: int | None = None
    lag_at_socket: int = 600  # slots behind when the socket comes up; 50 slots/s caught up after
    log_readable: bool = True  # False: the gate reads no log (sent to cardano-tracer only), the metric only
    samples: list[tuple[GateSample, str | None]] = field(default_factory=list)
    t0: float = field(init=False)
    log_t0: float = field(init=False)

    def __post_init__(self) -> None:
        self.t0, self.log_t0 = self.clock.now, self.lines[0][0]

    def log_now(self) -> float:
        return self.log_t0 + (self.clock.now - self.t0)

    def __call__(self) -> GateSample:
        now = self.log_now()
        shown = [ln for at, ln in self.lines[: self.stop_after] if at <= now]
        startups = startup.summarise([*self.earlier, *shown])
        current = startups.current
        up = current is not None and current.socket_up_at is not None
        expected = 171_300_000 + int(self.clock.now - self.t0)
        tip = None
        if up and current is not None and current.socket_up_at is not None:
            caught = int((now - current.socket_up_at) * 50)
            slot = min(expected, expected - self.lag_at_socket + caught)
            tip = Tip(slot, None, None, "Conway", None, None, None, None)
        metrics = self.synced_metrics if up else self.starting_metrics
        if not self.log_readable:  # the metric follows the replay the log would have shown
            metrics = {k: v for k, v in metrics.items() if "blockReplayProgress" not in k}
            past = current is not None and startup.PHASE_ORDER.index(current.phase) > 2
            percent = 100.0 if past else current.percent if current is not None and current.phase is Phase.REPLAYING else None
            if percent is not None:  # absent until the first replay figure
                metrics["cardano_node_metrics_blockReplayProgress_real"] = percent
        facts = host_facts(
            node_version=self.version, releases=(self.version,), service_active="active",
            startups=startups if self.log_readable else None, metrics=metrics, tip=tip,
            tip_error=None if up else "cardano-cli: Network.Socket.connect: <socket: 11>: does not exist",
        )  # fmt: skip
        return sample_from_facts(facts, self.clock.now, expected)

    def gate(self, policy: GatePolicy | None = None, last_start_seconds: float | None = None) -> GateResult:
        policy = policy if policy is not None else GatePolicy()

        def on_sample(s: GateSample, reason: str | None) -> None:
            self.samples.append((s, reason))

        hg = HostGate(policy, last_start_seconds, self, self.clock, self.clock.sleep, on_gate_sample=on_sample)
        return hg.gate(self.version, p2p=True)

    def states(self) -> list[str]:
        return [describe(s, GatePolicy().max_slot_lag, None) for s, _ in self.samples]


def relay_10_6_4(gaps: Mapping[str, float] = {}, **kw: object) -> TracedHost:
    lines = retimed(fixture_lines("10.6.4-relay-restart-snapshot.json.log"), gaps)
    return TracedHost(FakeClock(5000.0), lines, "10.6.4", prom("metrics-10.6.4-relay-replaying.prom"),
                      prom("metrics-10.6.4-relay-synced.prom"), **kw)  # type: ignore[arg-type]  # fmt: skip


def bp_11_0_1(gaps: Mapping[str, float] = {}) -> TracedHost:
    lines = retimed([*fixture_lines("11.0.1-bp-restart-chain-selection.human.log"), *REST_OF_11_0_1], gaps)
    # no metrics page at all while it starts (endpoint not up yet, or not configured): not ready, no error
    return TracedHost(FakeClock(5000.0), lines, "11.0.1", {}, prom("metrics-11.0.1-bp-synced.prom"))


# ------------------------------------------------------------------------------- followed through


def test_a_10_6_4_restart_is_followed_through_its_phases_with_replay_progress() -> None:
    host = relay_10_6_4()  # as rendered: replay lines ~9.5 s apart, sampled every 10 s
    result = host.gate()
    assert result.ok, result.reason
    states = host.states()
    phases = list(dict.fromkeys(s.split(" ")[0] for s in states))
    assert phases == ["opening", "validating", "replaying", "initial", "syncing", "in"], states
    replaying = [s for s in states if s.startswith("replaying ledger")]
    assert replaying and not any("100%" in s or "100.00%" in s for s in replaying), replaying
    assert any("99.97%" in s for s in replaying) and all("slot over target" in s for s in replaying)
    # the live view's step moves during a replay that runs 99.96 → 100 %
    steps = [progress_step(s.starting) for s, _ in host.samples if s.starting and s.starting.phase is Phase.REPLAYING]
    assert len(set(steps)) >= 3, steps
    # until the socket is up, missing tip and metrics are "not ready", never an error
    for s, reason in host.samples:
        if s.tip_slot is None:
            assert s.reachable and reason is not None and reason.startswith("node starting: "), reason
    assert result.startup is not None and result.startup.done


def test_a_slow_chain_selection_longer_than_stall_timeout_is_budgeted_by_time_and_waited_for() -> None:
    host = relay_10_6_4({CHAIN_SELECTED: 20 * 60.0})  # initial chain selection takes 20 min
    result = host.gate()
    assert result.ok, result.reason
    assert result.duration > 20 * 60 > STALL_SECONDS
    waiting = [r for s, r in host.samples if s.starting is not None and s.starting.phase is Phase.CHAIN_SELECTION]
    assert waiting and all(r is not None and "progress is not logged at the shipped severities" in r for r in waiting)
    assert all(r is not None and "budgeted 1h00m by time (default" in r and "cardano-node#5884" in r for r in waiting)
    assert all("progress not logged" in describe(s, 20) for s, _ in host.samples
               if s.starting is not None and s.starting.phase is Phase.CHAIN_SELECTION)  # fmt: skip


@pytest.mark.parametrize(
    ("host", "replay_gap"), [(relay_10_6_4, 20.0), (bp_11_0_1, 40.0)], ids=["10.6.4", "11.0.1"]
)
def test_a_slow_150_s_start_is_waited_for_with_default_settings(host: Callable[..., TracedHost], replay_gap: float) -> None:
    host = host({LEDGER_REPLAY: replay_gap, CHAIN_SEL: 5.0, CHAIN_SELECTED: 35.0})
    first, socket = host.lines[0][0], next(at for at, ln in host.lines if SOCKET in ln)
    assert 145 <= socket - first < 160, socket - first
    result = host.gate(GatePolicy())
    assert result.ok, result.reason
    for s, reason in host.samples:  # 11.0.1: no metrics page at all while it starts — not ready, no error
        if s.tip_slot is None:
            assert reason is not None and reason.startswith("node starting: "), reason
    assert result.startup is not None and result.startup.duration is not None
    assert result.startup.duration == pytest.approx(socket - first, abs=0.01)
    assert result.duration >= socket - first


# ------------------------------------------------------------------------------- budgets and stalls


@pytest.mark.parametrize(
    ("earlier_chain_sel", "ok", "words"),
    [
        (7.4, False, "3 × its last initial chain selection, 8s in its log"),  # 3 × 8 s < 300: the floor
        (600.0, True, None),  # it took 10 min last time: 30 min now
    ],
)
def test_the_budget_comes_from_the_hosts_last_chain_selection(earlier_chain_sel: float, ok: bool, words: str | None) -> None:
    earlier = [ln for _, ln in retimed(fixture_lines("10.6.4-relay-restart-snapshot.json.log"),
                                       {CHAIN_SELECTED: earlier_chain_sel}, shift=-86_400.0)]  # fmt: skip
    host = relay_10_6_4({CHAIN_SELECTED: 20 * 60.0}, earlier=earlier)
    result = host.gate()
    assert result.ok is ok, result.reason
    if words is not None:
        assert result.reason.startswith("initial chain selection not done after 5m"), result.reason
        assert "its time budget is 5m00s" in result.reason and words in result.reason


def test_without_any_history_the_last_start_bounds_the_budget() -> None:
    host = relay_10_6_4({CHAIN_SELECTED: 20 * 60.0})
    result = host.gate(last_start_seconds=200.0)  # 3 × 200 s = 10 min < 20 min
    assert not result.ok
    assert "not done after 10m" in result.reason and "time budget is 10m00s (3 × its last start, 3m20s" in result.reason


def test_a_stalled_replay_fails_naming_the_phase_with_figures_never_rounded_to_100() -> None:
    lines = retimed(fixture_lines("10.6.4-relay-restart-snapshot.human.log"))
    host = TracedHost(FakeClock(5000.0), lines, "10.6.4", prom("metrics-10.6.4-relay-replaying.prom"),
                      prom("metrics-10.6.4-relay-synced.prom"), stop_after=12)  # fmt: skip
    assert lines[11][1].endswith("Progress: 99.98%")  # hangs after the 2nd replay line
    result = host.gate()
    assert not result.ok
    assert result.reason.startswith("no replay progress for 3"), result.reason
    assert "at 99.97% (slot 171202124 of 171240000)" in result.reason  # 99.978 %: cut, the node rounds
    assert "100%" not in result.reason
    last_move = lines[11][0] - lines[0][0]
    assert STALL_SECONDS <= host.clock.now - 5000.0 - last_move < STALL_SECONDS + GatePolicy().interval + 1


def test_a_stalled_json_replay_at_99_99_is_not_at_100() -> None:
    host = relay_10_6_4(stop_after=14)  # the last replay line, 99.9978…%, then nothing
    result = host.gate()
    assert not result.ok and result.reason.startswith("no replay progress for "), result.reason
    assert " at 99.99% " in result.reason and "100%" not in result.reason


def test_an_observed_phase_is_never_budgeted() -> None:
    start = startup.summarise(ln for _, ln in retimed(fixture_lines("10.6.4-relay-restart-snapshot.json.log"))[:12])
    assert start.current is not None and start.current.phase is Phase.REPLAYING
    assert phase_budget(start.current, GatePolicy(), None, None) is None
    legacy_sel = replace(start.current, phase=Phase.CHAIN_SELECTION, unobserved=())
    assert phase_budget(legacy_sel, GatePolicy(), None, None) is None  # legacy logs "Pushing ledger state"
    budget = phase_budget(replace(legacy_sel, unobserved=("x",)), GatePolicy(stall_timeout=7200.0), None, None)
    assert budget is not None and budget.seconds == 7200.0 > UNOBSERVED_PHASE_SECONDS  # never below stall_timeout


def test_with_no_readable_log_the_replay_metric_is_progress() -> None:
    host = relay_10_6_4({LEDGER_REPLAY: 120.0}, log_readable=False)  # an 8-minute replay, metric only
    result = host.gate()
    assert result.ok, result.reason
    assert result.duration > 4 * 120 > STALL_SECONDS
    states = host.states()
    assert any(s.startswith("replaying ledger 99.97% (blockReplayProgress metric") for s in states), states
    assert not any("100%" in s for s in states if s.startswith("replaying"))


def test_with_no_readable_log_a_replay_metric_that_stops_is_a_stall_naming_the_replay() -> None:
    host = relay_10_6_4(log_readable=False, stop_after=12)
    result = host.gate()
    assert not result.ok
    assert result.reason.startswith("no replay progress for 3"), result.reason
    assert "at 99.97% (blockReplayProgress metric" in result.reason


# ------------------------------------------------------------------------------- live view, version


def test_progress_step_counts_the_replays_own_work_and_keeps_legacy_figures() -> None:
    new = startup.summarise(ln for _, ln in retimed(fixture_lines("10.6.4-relay-restart-snapshot.json.log"))[:13])
    assert new.current is not None
    assert progress_step(new.current) == "replaying ledger:6"  # 99.968 → 99.988 of 100: 62 % of its work
    legacy = startup.StartupProgress(started_at=0.0, phase=Phase.REPLAYING, percent=63.0, last_event_at=1.0,
                                     progress_at=1.0)  # fmt: skip
    assert progress_step(legacy) == "replaying ledger:6"
    assert progress_step(replace(legacy, percent=None)) is None


def test_the_live_view_steps_through_a_snapshot_replay_and_the_journal_names_each_phase() -> None:
    """HostRun's own per-sample callback (roll/host_run.py host_gate): the live view's step advances
    while a 10.6.4 replay runs 99.96 → 100 %, and each phase change is journaled once (node_phase)."""
    traced = relay_10_6_4()
    seen: list[GateSeen] = []
    journal: list[tuple[Journaled, dict[str, Any]]] = []

    def emit(e: Event) -> None:
        if e.phase == Journaled.GATE_SAMPLE:
            seen.append(GateSeen.of(e))

    means = Means(remote=cast(Remote, None), record=lambda _h, phase, **data: journal.append((phase, data)),
                  sample=lambda _h: traced(), clock=traced.clock, sleep=traced.clock.sleep,
                  wall=lambda: traced.log_now(), emit=emit)  # fmt: skip
    run = HostRun(Host("relay1", Role.RELAY, "203.0.113.11", IOG), HostProgram(GatePolicy()), means, HostState(),
                  HostOutcome("relay1", "relay"))  # fmt: skip
    assert run.host_gate().gate("10.6.4", p2p=True).ok
    steps = [g.progress_step for g in seen if g.progress_step and g.progress_step.startswith("replaying")]
    assert steps == sorted(steps) and len(set(steps)) >= 3, steps
    phases = [NodePhaseSeen.of(Event(0.0, "relay1", p, d)).now for p, d in journal if p == Journaled.NODE_PHASE]
    assert phases == ["opening chain db", "validating chunks", "replaying ledger", "initial chain selection",
                      "syncing", "in sync"], phases  # fmt: skip


def test_version_is_prefers_the_running_process_when_it_exports_one() -> None:
    check = version_is("10.6.4")
    running = prom("metrics-10.6.4-relay-synced.prom")
    old_process = {k.replace('version="10.6.4"', 'version="10.5.3"'): v for k, v in running.items()}

    def sample(metrics: dict[str, float], disk: str) -> GateSample:
        return sample_from_facts(host_facts(node_version=disk, releases=(disk,), metrics=metrics), 0.0, None)

    assert check(sample(running, "10.6.4"), None) is None
    # the binary on disk is new, the process still the old one (it was never restarted)
    assert check(sample(old_process, "10.6.4"), None) == (
        "running node reports 10.5.3 (the binary on disk reports 10.6.4), want 10.6.4"
    )
    assert check(sample(running, "10.5.3"), None) is None  # the process is what runs
    assert check(sample({}, "10.6.4"), None) is None  # not exported: the binary on disk
    assert check(sample({}, "10.5.3"), None) == "binary reports 10.5.3, want 10.6.4"


def test_a_legacy_8_9_0_replay_stall_reads_as_before() -> None:
    """The legacy text forms (8.x: relative replay figures) keep their words: no slot figures, whole
    percent, the step from the node's own figure."""
    clock = FakeClock(100.0)

    def at(sec: int) -> str:
        return f"[r:cardano.node.ChainDB:Info:5] [2024-06-25 10:{sec // 60:02d}:{sec % 60:02d}.00 UTC] "

    lines = [at(0) + "Started opening Chain DB", at(1) + "Validating chunk no. 5000 out of 5000. Progress: 99.98%",
             at(10) + "Replaying ledger from snapshot at 34 at slot 100",
             at(20) + "Replayed block: slot 137 out of 200. Progress: 37.00%"]  # fmt: skip
    start = startup.summarise(lines)

    def sample() -> GateSample:
        facts = host_facts(node_version="8.9.0", releases=("8.9.0",), service_active="active", startups=start)
        return sample_from_facts(facts, clock.now, 5_000_000)

    result = HostGate(GatePolicy(), None, sample, clock, clock.sleep).gate("8.9.0", p2p=True)
    assert result.reason == "no replay progress for 300 s at 37% (replaying ledger 37%)"
    assert progress_step(start.current) == "replaying ledger:3"
