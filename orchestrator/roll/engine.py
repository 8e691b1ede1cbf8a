"""Execute a plan: stage everywhere in parallel, then roll batches, gate each host, roll back failures.

The run's order is fixed here and each host's in roll/host_run.py (the one state machine a fresh run
and `--resume` share); actions (orchestrator/actions/) only decide, per host, what goes into each
part of it: lock every changing host → stage the release on every host at once → per batch (block
producers only after the relays, each batch only with min_healthy_relays healthy relays outside it):
the host's procedure (leader wait → drain hook → backup → file writes → binary switch → restart or
reload → gate → soak → return hook; on failure, rollback byte for byte, restart and re-gate) → stop
when failures exceed max_fail_percentage. A failing return stops the rollout whatever
max_fail_percentage says, since the host then runs but gets no work. Every transition is journaled
before the next step starts, so a killed run can be resumed. The core never prints: it emits Events
to a callback (the console renders them). It reaches hosts only through a roll.remote.Remote, and
time only through `clock`, `sleep` and `wall`.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from orchestrator.actions import seed_db
from orchestrator.actions.seed_db import DbSeed, db_seed_of
from orchestrator.cardano.releases import sums
from orchestrator.load.runspec import RolloutStage
from orchestrator.model import Host, HostStatus, Phase, ReleasePin, Role
from orchestrator.plan import HostPlan, Plan
from orchestrator.roll.events import Paused, Payload, Replanned, RunEnded
from orchestrator.roll.gates import GateSample
from orchestrator.roll.host_run import (
    Emit,
    HostOutcome,
    HostProgram,
    HostRun,
    HostState,
    Means,
    ReconnectPolicy,
    Step,
)
from orchestrator.roll.interrupt import RunEnd, StopFlag, signal_name_of
from orchestrator.roll.journal import FINAL, NOTHING_CHANGED, OBSERVATIONS, Journal
from orchestrator.roll.pool import Pool, PoolSettings, pool_members
from orchestrator.roll.remote import Done, Remote
from orchestrator.spec.gate import GatePolicy

__all__ = ["HostOutcome", "ReconnectPolicy", "Recheck", "Rollout", "RolloutResult", "RolloutSettings"]


# Each file's newest backups (`<file>.bak-<run id>`) kept after a successful run (`run --keep-backups`).
DEFAULT_KEEP_BACKUPS = 3
# Seconds an interrupted run waits for the steps already on the wire to finish before it journals its end.
INTERRUPT_GRACE_SECONDS = 120.0

# Asked between the canary batch and the rest (`run --step`): the text of the question; True goes on.
Approve = Callable[[str], bool]


@dataclass(frozen=True)
class RolloutSettings:
    gate: GatePolicy = field(default_factory=GatePolicy)
    reconnect: ReconnectPolicy = field(default_factory=ReconnectPolicy)
    keep_backups: int = DEFAULT_KEEP_BACKUPS  # 0: keep every backup


@dataclass(frozen=True)
class Recheck:
    """A host probed again just before its turn: its plan from the fresh facts, and the sha256 its
    files have now (path → digest; None: the file does not exist)."""

    plan: HostPlan
    digests: Mapping[str, str | None]


# Probe one host again and plan it from what it holds now (one round trip).
Replan = Callable[[HostPlan], Recheck]


@dataclass
class RolloutResult:
    run_id: str
    outcomes: dict[str, HostOutcome]
    stopped_reason: str | None = None
    interrupted: str | None = None  # the signal that stopped the run (SIGINT, SIGTERM, SIGHUP)
    mid_way: list[str] = field(default_factory=list)  # hosts an interrupt left between two ends
    drained: list[str] = field(default_factory=list)  # hosts an interrupt left out of rotation
    pruned: dict[str, list[str]] = field(default_factory=dict)  # host → old backups removed

    @property
    def ok(self) -> bool:
        done = (HostStatus.UPGRADED, HostStatus.UNCHANGED)
        return self.stopped_reason is None and all(o.status in done for o in self.outcomes.values())


def fetch_release(release: ReleasePin, opener: Callable[[str], Any] = urllib.request.urlopen) -> bytes:
    """For `source: push`: the control machine downloads once and checks the pin before any upload."""
    with opener(release.url) as response:
        data: bytes = response.read()
    if release.sha256 and hashlib.sha256(data).hexdigest() != release.sha256:
        raise ValueError(f"sha256 mismatch for {release.url}: got {hashlib.sha256(data).hexdigest()}, pinned {release.sha256}")
    return data


def fetch_sums(release: ReleasePin, data: bytes, opener: Callable[[str], Any] | None = None) -> sums.SumsCheck:
    """For `source: push`: the release's published sums file, fetched by the control machine from
    beside the tarball's url, against the downloaded tarball (releases/sums.py: MISMATCH refuses)."""
    opener = opener or urllib.request.urlopen
    name = sums.published_name(release.version)
    text, why = None, ""
    if name is not None:
        try:
            with opener(sums.sums_url(release.url, name)) as response:
                text = response.read().decode("utf-8", "replace")
        except (OSError, ValueError) as e:
            why = f"not fetched ({e})"
    check = sums.expected_for(release.version, release.filename, text, why)
    return sums.against(check, release.filename, hashlib.sha256(data).hexdigest())


class Rollout:
    """One run of a plan against a fleet; `sample` gives gate samples for a host."""

    def __init__(
        self,
        plan: Plan,
        remote: Remote,
        journal: Journal,
        settings: RolloutSettings,
        sample: Callable[[Host], GateSample],
        emit: Emit = lambda _e: None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        relays: Sequence[Host] | None = None,
        wall: Callable[[], float] = time.time,
        hosts: Sequence[Host] | None = None,
        replan: Replan | None = None,
        stop: StopFlag | None = None,
        approve: Approve | None = None,
        pools: PoolSettings | None = None,
    ) -> None:
        """`clock`/`sleep`: monotonic seconds for gates; `wall`: unix seconds, for leader slot times.
        `stop`: set by a stop signal (roll/interrupt.py); no step starts after it. `approve`: asked after
        the first batch that changed hosts (`run --step`); None: no pause. `pools`: how pools with a
        standby producer are upgraded (roll/pool.py; None: a standby is refused, never restarted)."""
        self.plan = plan
        self.pools = pools
        self._pool_lock = threading.Lock()
        self._pool_results: dict[str, dict[str, bool]] = {}  # producer → each member's result
        self.stop = stop if stop is not None else StopFlag()
        self.approve = approve
        self._steps: dict[str, Phase] = {}  # each host's last rollout step in this run
        self._drained: set[str] = set()  # hosts drained and not returned yet
        self._active = 0  # workers inside a host's steps
        self._idle = threading.Condition()
        self.replan = replan  # None: hosts are written as planned, no re-check before their turn
        # Every relay of the inventory counts for min_healthy_relays, also those outside --limit.
        self.relays = (
            list(relays)
            if relays is not None
            else [hp.host for hp in plan.hosts if hp.host.role is Role.RELAY and hp.error is None]
        )
        # Every host of the inventory, for min_healthy's groups (also those outside --limit).
        self.all_hosts = {h.name: h for h in (hosts if hosts is not None else [hp.host for hp in plan.hosts])}
        self.remote = remote
        self.journal = journal
        self.settings = settings
        self.sample = sample
        self.emit = emit
        self.clock = clock
        self._sleep = sleep
        self.wall = wall
        self.return_failed: list[str] = []  # hosts whose return hook failed: the rollout stops
        self._shielded: set[int] = set()  # worker threads in a shielded rollback (`shield`)
        self.outcomes: dict[str, HostOutcome] = {
            hp.host.name: HostOutcome(hp.host.name, hp.host.role.value, batch=hp.batch) for hp in plan.hosts
        }

    def sleep(self, seconds: float) -> None:
        """Every wait of the rollout (gate, soak, window): a stop signal ends it at once (not within a
        shielded rollback: `shield`)."""
        shielded = threading.get_ident() in self._shielded
        if not shielded:
            self.stop.check()
        self._sleep(seconds)
        if not shielded:
            self.stop.check()

    @contextlib.contextmanager
    def shield(self) -> Iterator[None]:
        """Within it, this worker's records and sleeps ignore a stop signal: the rollback of a host an
        interrupt caught before its new release started runs to its end (HostRun.run), within the
        grace the interrupt gives the steps on the wire (INTERRUPT_GRACE_SECONDS)."""
        me = threading.get_ident()
        self._shielded.add(me)
        try:
            yield
        finally:
            self._shielded.discard(me)

    def _record(self, host: str, phase: Phase, **data: Any) -> None:
        """Journal a step; after a stop signal a worker goes no further than the step it just finished."""
        self.emit(self.journal.record(host, phase, **data))
        if host != "*" and phase not in OBSERVATIONS:
            self._steps[host] = phase
            if phase is Phase.DRAINED:
                self._drained.add(host)
            elif phase in (Phase.RETURNED, Phase.RETURN_FAILED):
                self._drained.discard(host)
        if threading.current_thread() is not threading.main_thread() and threading.get_ident() not in self._shielded:
            self.stop.check()

    def _note(self, payload: Payload, host: str = "*") -> None:
        """Journal a typed payload (roll/events.py): the run's own (host "*") unless a host is named."""
        self._record(host, payload.phase, **payload.data())

    def _tracked(self, fn: Callable[[Host], Any]) -> Callable[[Host], Any]:
        """fn counted as a worker, so an interrupted run waits for the steps on the wire to end."""

        def run(host: Host) -> Any:
            with self._idle:
                self._active += 1
            try:
                self.stop.check()
                return fn(host)
            finally:
                with self._idle:
                    self._active -= 1
                    self._idle.notify_all()

        run.__name__ = getattr(fn, "__name__", "run")
        return run

    def _wait_for_workers(self) -> None:
        """Real time, not the injected clock, by necessity: the workers are real threads and
        Condition.wait blocks on the real clock (a fake clock would never reach the deadline)."""
        deadline = time.monotonic() + INTERRUPT_GRACE_SECONDS
        with self._idle:
            while self._active > 0 and (left := deadline - time.monotonic()) > 0:
                try:
                    self._idle.wait(min(left, 0.5))
                except KeyboardInterrupt:
                    continue  # a second Ctrl-C: the end must still be journaled (SIGKILL ends it)

    def _mid_way(self) -> list[str]:
        return sorted(h for h, p in self._steps.items() if p not in FINAL | NOTHING_CHANGED)

    # ------------------------------------------------------------------ top level
    def execute(self, stages: Sequence[RolloutStage]) -> RolloutResult:
        run_id = self.remote.run_id
        pending = [hp for hp in self.plan.hosts if hp.changed]
        for hp in self.plan.hosts:
            if hp.error:
                self.outcomes[hp.host.name].status = HostStatus.SKIPPED
                self.outcomes[hp.host.name].detail = hp.error
            elif not hp.changed:
                self.outcomes[hp.host.name].status = HostStatus.UNCHANGED
                self.outcomes[hp.host.name].detail = "; ".join(hp.reasons)
        result = RolloutResult(run_id, self.outcomes)
        try:  # from the first record on: a signal at any point is journaled as an interrupt
            self._record("*", Phase.RUN_STARTED, hosts=[hp.host.name for hp in pending])
            if not pending:
                self._note(RunEnded(RunEnd.NOTHING_TO_DO, "nothing to do"))
                return result
            held = self._lock_all([hp.host for hp in pending])
            if held:
                result.stopped_reason = held
                self._note(RunEnded(RunEnd.FAILED, held))
                return result
            result.stopped_reason = self._stage_all(pending)
            if result.stopped_reason is None:
                result.stopped_reason = self._roll(stages)
        except BaseException as exc:  # a stop signal, or an error of the tool itself: hosts may be mid-way
            self._end_abruptly(result, exc)
            raise
        if result.ok:
            self._prune_backups(pending, result)  # still under the hosts' locks
        for hp in pending:
            self.remote.unlock(hp.host)
        end = RunEnd.COMPLETED if result.ok else RunEnd.FAILED
        self._note(RunEnded(end, result.stopped_reason or end.value))
        return result

    def _end_abruptly(self, result: RolloutResult, exc: BaseException) -> None:
        """Journal an interrupt (or the tool's own error) as what it was, once every worker stopped.
        The hosts' locks stay held by this run id: `run --resume` takes them over, another run refuses."""
        interrupted = isinstance(exc, KeyboardInterrupt)
        self.stop.set(signal_name_of(exc) if interrupted else "error")
        self._wait_for_workers()
        result.mid_way, result.drained = self._mid_way(), sorted(self._drained)
        if interrupted:
            result.interrupted = self.stop.signal_name or signal_name_of(exc)
            result.stopped_reason = f"interrupted by {result.interrupted}"
            self._note(RunEnded(RunEnd.INTERRUPTED, result.stopped_reason, result.interrupted, tuple(result.mid_way),
                                tuple(result.drained)))  # fmt: skip
        else:
            result.stopped_reason = f"error: {type(exc).__name__}: {exc}"
            self._note(RunEnded(RunEnd.ABORTED, result.stopped_reason, None, tuple(result.mid_way),
                                tuple(result.drained)))  # fmt: skip

    def _prune_backups(self, pending: Sequence[HostPlan], result: RolloutResult) -> None:
        """After a successful run only: each changed file keeps its `keep_backups` newest backups."""
        keep = self.settings.keep_backups
        if keep <= 0:
            return
        changed = [hp for hp in pending if hp.files and self.outcomes[hp.host.name].status is HostStatus.UPGRADED]
        pruned = self.remote.map([hp.host for hp in changed],
                                 lambda h: self.remote.prune_backups(h, [c.path for c in self.plan.host(h.name).files],
                                                                     keep))  # fmt: skip
        # a ledger backup (gigabytes) is kept until the next successful run: earlier runs' go now
        crossed = [hp.host for hp in changed if hp.backs_up_ledger]
        for name, gone in self.remote.map(crossed, self.remote.prune_ledger_backups).items():
            pruned[name] = [*pruned.get(name, []), *gone]
        result.pruned = {name: gone for name, gone in pruned.items() if gone}
        for name, gone in result.pruned.items():
            self._record(name, Phase.BACKUPS_PRUNED, removed=gone, kept=keep)

    def _lock_all(self, hosts: Sequence[Host]) -> str | None:
        holders = self.remote.map(hosts, self.remote.lock)
        refused = {h: who for h, who in holders.items() if who is not None}
        if not refused:
            return None
        for h in hosts:
            if h.name not in refused:
                self.remote.unlock(h)
        first = next(iter(refused.items()))
        return f"another run holds the lock on {first[0]}: run {first[1]} (hosts: {', '.join(sorted(refused))})"

    def _stage_all(self, pending: Sequence[HostPlan]) -> str | None:
        release = self.plan.release
        to_stage = [hp for hp in pending if hp.stage_release]
        if not to_stage or release is None:
            return None
        tarball, published = None, None
        if release.source == "push":
            try:
                tarball = fetch_release(release)
            except (OSError, ValueError) as e:
                self._record("*", Phase.STAGE_FAILED, detail=str(e))
                return f"release not pushed: {e}; nothing was changed on any host"
            published = fetch_sums(release, tarball)
            if published.outcome is sums.SumsOutcome.MISMATCH:
                self._record("*", Phase.STAGE_FAILED, detail=published.why)
                return f"release not pushed: {published.why}; nothing was changed on any host"
        results = self.remote.map([hp.host for hp in to_stage],
                                  self._tracked(lambda h: self.remote.stage(h, release, tarball, published)))  # fmt: skip
        failed = {name: why for name, (ok, why) in results.items() if not ok}
        for name, (ok, why) in results.items():
            self._record(name, Phase.STAGED if ok else Phase.STAGE_FAILED, detail=why)
        if failed:
            for name, why in failed.items():
                self.outcomes[name].status = HostStatus.FAILED
                self.outcomes[name].detail = f"staging failed: {why}"
            return "staging failed on " + ", ".join(sorted(failed)) + ": nothing running was changed"
        return None

    def _healthy_relays_outside(self, batch: Sequence[str]) -> list[str]:
        """Fresh samples of every relay not in the batch: up, and within the gate's slot lag."""
        return self._healthy([h for h in self.relays if h.name not in batch])

    def _healthy(self, hosts: Sequence[Host]) -> list[str]:
        samples = self.remote.map(hosts, self.sample)
        limit = self.settings.gate.max_slot_lag
        return [n for n, s in samples.items() if s.reachable and s.active and s.slot_lag is not None
                and s.slot_lag <= limit]  # fmt: skip

    def _below_floor(self, stage: RolloutStage, batch: Sequence[str]) -> str | None:
        """min_healthy: each group's members outside the batch, sampled now; why it pauses, or None."""
        for group, need, members in stage.min_healthy:
            outside = [self.all_hosts[n] for n in members if n not in batch and n in self.all_hosts]
            healthy = self._healthy(outside)
            if len(healthy) < need:
                return (f"paused before {', '.join(batch)}: {len(healthy)} healthy host(s) of group {group} outside "
                        f"the batch ({', '.join(healthy) or 'none'}), min_healthy for {group} is {need}")  # fmt: skip
        return None

    def _canary_approved(self, done: Sequence[str], rest: int) -> str | None:
        """`run --step`: after the first batch that changed hosts, ask before the rest; why not, or None."""
        if self.approve is None or rest == 0:
            return None
        question = f"Canary batch done ({', '.join(done)}); go on with the remaining {rest} host(s)?"
        self._note(Paused(f"waiting for approval after the canary batch ({', '.join(done)})"))
        if self.approve(question):
            self._record("*", Phase.APPROVED, after=list(done))
            return None
        why = f"not approved after the canary batch ({', '.join(done)}): the remaining {rest} host(s) left untouched"
        self._note(Paused(why))
        return why

    def _roll(self, stages: Sequence[RolloutStage]) -> str | None:
        failures_so_far = 0
        canary_done = False
        for stage in stages:
            in_scope = [n for b in stage.batches for n in b if self.plan.host(n).changed]
            failures = 0
            for batch in stage.batches:
                todo = [n for n in batch if self.plan.host(n).changed]
                if not todo:
                    continue
                producers = [n for n in todo if self.plan.host(n).host.role is Role.BLOCK_PRODUCER]
                if producers and failures_so_far:
                    return f"{', '.join(producers)} not touched: a relay failed its upgrade in this run"
                need = max(stage.min_healthy_relays, 1 if producers else 0)
                healthy = self._healthy_relays_outside(todo)
                if len(healthy) < need:
                    why = (f"paused before {', '.join(todo)}: {len(healthy)} healthy relay(s) outside the batch "
                           f"({', '.join(healthy) or 'none'}), min_healthy_relays is {need}")  # fmt: skip
                    self._note(Paused(why))
                    return why
                floor = self._below_floor(stage, todo)
                if floor is not None:
                    self._note(Paused(floor))
                    return floor
                results: dict[str, bool] = {}
                for wave in self._seed_waves(todo):  # db_seed: a role's first host alone, then those seeded from it
                    results |= self.remote.map([self.plan.host(n).host for n in wave], self._tracked(self._upgrade_host))
                # a producer left untouched (deferred, refused) did not fail an upgrade
                failed_now = sum(1 for n, ok in results.items() if not ok and self.outcomes[n].status not in _LEFT_ALONE)
                failures += failed_now
                failures_so_far += failed_now
                if self.return_failed:
                    names = ", ".join(self.return_failed)
                    return (f"stopped in stage {stage.name}: the return hook failed on {names}; "
                            "out of rotation until the operator puts it back")  # fmt: skip
                if failures and failures * 100.0 / len(in_scope) > stage.max_fail_percentage:
                    return (f"stopped in stage {stage.name}: {failures} of {len(in_scope)} host(s) failed "
                            f"(max_fail_percentage {stage.max_fail_percentage:g})")  # fmt: skip
                if not canary_done:
                    canary_done = True
                    rest = sum(1 for hp in self.plan.hosts if hp.changed and self.outcomes[hp.host.name].status
                               is HostStatus.UNTOUCHED and hp.host.name not in todo)  # fmt: skip
                    refused = self._canary_approved(todo, rest)
                    if refused is not None:
                        return refused
        return None

    # ------------------------------------------------------------------ one host
    def _recheck(self, hp: HostPlan) -> HostPlan | None:
        """The plan to apply now: the same, or a new one when a file changed on the host since the plan
        (journaled with the new diff). None: the host is left as it is (outcome set, reason journaled)."""
        if self.replan is None:
            return hp
        host, out = hp.host, self.outcomes[hp.host.name]
        fresh = self.replan(hp)
        moved = {c.path: (c.base_sha256, fresh.digests.get(c.path)) for c in hp.files
                 if c.base_sha256 is not None and c.path in fresh.digests
                 and fresh.digests[c.path] != c.base_sha256}  # fmt: skip
        if not moved:
            return hp  # as planned (a host unreachable now fails at its backup, as before)
        what = ", ".join(f"{p} (sha256 {old[:12]}… → {(new or 'deleted')[:12]}…)" for p, (old, new) in moved.items())
        new_plan = replace(fresh.plan, batch=hp.batch)
        if new_plan.error is not None:
            out.status = HostStatus.SKIPPED
            out.detail = f"left untouched: {what} changed since the plan, and cannot be planned now: {new_plan.error}"
            self._record(host.name, Phase.LEFT_UNTOUCHED, reason=out.detail, files=list(moved))
            return None
        self._note(Replanned(f"{what} changed since the plan: planned again from the new bytes",
                             tuple(c.path for c in new_plan.files), str(new_plan.action),
                             {c.path: c.diff.diff for c in new_plan.files}), host.name)  # fmt: skip
        if not new_plan.changed:
            out.status = HostStatus.UNCHANGED
            out.detail = f"{what} changed since the plan; now nothing to do: " + "; ".join(new_plan.reasons)
            self._record(host.name, Phase.LEFT_UNTOUCHED, reason=out.detail, files=list(moved))
            return None
        return new_plan

    def _upgrade_host(self, host: Host, plain: bool = False) -> bool:
        """One host's procedure (roll/host_run.py) on the plan as re-checked just before its turn; a
        member of a pool with a standby producer goes through its pool's turn (`plain`: not again)."""
        if not plain and pool_members(host, self.all_hosts) is not None:
            return self._pool_turn(host)
        hp = self._recheck(self.plan.host(host.name))
        if hp is None:
            return True  # nothing was changed on it, and nothing went down: not a failed upgrade
        run = HostRun(host, self._program(hp), self._means(), HostState.from_plan(hp), self.outcomes[host.name], hp)
        ok = run.run(Step.LEADER_WAIT)
        if run.return_error is not None:
            self.return_failed.append(host.name)
        return ok

    # ------------------------------------------------------------------ a pool with a standby (roll/pool.py)
    def _pool_turn(self, host: Host) -> bool:
        """Both members of `host`'s pool at once, on the first one's turn; the second reads its result."""
        members = pool_members(host, self.all_hosts)
        assert members is not None
        bp, sb = members
        with self._pool_lock:
            done = self._pool_results.get(bp.name)
            if done is None:
                done = self._pool_results[bp.name] = self._run_pool(bp, sb, host)
        return done.get(host.name, True)

    def _run_pool(self, bp: Host, sb: Host, host: Host) -> dict[str, bool]:
        in_plan = {hp.host.name: hp for hp in self.plan.hosts if hp.host.name in (bp.name, sb.name)}
        settings = self.pools or PoolSettings(None)
        pool = Pool(bp, sb, settings,
                    changed={n: hp.changed and hp.error is None for n, hp in in_plan.items()},
                    versions={n: (hp.current_version, hp.target_version) for n, hp in in_plan.items()},
                    outcomes=self.outcomes, upgrade=self._member_upgrade,
                    restart=lambda h: self._upgrade_host(h, plain=True), record=self._pool_record,
                    guard=next((hp.leader for hp in in_plan.values() if hp.leader is not None), None),
                    clock=self.clock, sleep=self._sleep, wall=self.wall,
                    stop=lambda: self.stop.signal_name)  # fmt: skip
        if len(in_plan) < 2:
            return {host.name: pool.alone(host)}
        return pool.upgrade()

    def _pool_record(self, host: str, phase: Phase, **data: Any) -> None:
        """The pool's journal: never cut short by a stop signal (a handover recovers to one forger first)."""
        self.emit(self.journal.record(host, phase, **data))

    def _member_upgrade(self, host: Host) -> Done:
        """A pool member's own procedure while it does not forge (no leader wait); ok: on the target."""
        hp = self._recheck(self.plan.host(host.name))
        out = self.outcomes[host.name]
        if hp is None or not hp.changed:
            return Done(out.status is HostStatus.UNCHANGED, out.detail or "nothing to do")
        run = HostRun(host, self._program(hp), self._means(), HostState.from_plan(hp), out, replace(hp, leader=None))
        run.run(Step.LEADER_WAIT)
        if run.return_error is not None:
            self.return_failed.append(host.name)
        return Done(out.status is HostStatus.UPGRADED, out.detail)

    def _program(self, hp: HostPlan) -> HostProgram:
        """The host's gate (its sync_gate, else the run's), last start, the start a replaying crossing
        is expected to take (plan.HostPlan.start_seconds: the gate's cap), return hook and, for a producer,
        every relay of the inventory (also those --limit leaves out)."""
        relays = tuple(h.peer_address for h in self.relays) if hp.host.role is Role.BLOCK_PRODUCER else ()
        return HostProgram(hp.gate or self.settings.gate, hp.last_start_seconds, hp.return_hook, relays,
                           hp.start_seconds if hp.replays else None, self._seed_source(hp))  # fmt: skip

    # ------------------------------------------------------------------ db_seed (actions/seed_db.py)
    def _seedable(self, hp: HostPlan) -> bool:
        return hp.replays and hp.switch_binary and db_seed_of(hp.host) is DbSeed.FROM_UPGRADED

    def _seed_source(self, hp: HostPlan) -> Host | None:
        """The host of `hp`'s role that crossed to the same target in this run and passed its gate
        and soak (UPGRADED), whose db `hp`'s host receives; None: it replays itself."""
        if not self._seedable(hp):
            return None
        for other in self.plan.hosts:
            if (other.host.name != hp.host.name and other.host.role is hp.host.role and other.replays
                    and other.target_version == hp.target_version
                    and self.outcomes[other.host.name].status is HostStatus.UPGRADED):  # fmt: skip
                return other.host
        return None

    def _seed_waves(self, todo: Sequence[str]) -> list[list[str]]:
        """The batch as it runs: where a db_seed host's role has no upgraded source yet, its first
        such host goes alone (its own replay), then the rest, seeded from it once it passed its gate."""
        plans = [self.plan.host(n) for n in todo]
        first = next((hp for hp in plans if self._seedable(hp) and self._seed_source(hp) is None
                      and any(o is not hp and o.host.role is hp.host.role and self._seedable(o)
                              for o in plans)), None)  # fmt: skip
        if first is None:
            return [list(todo)]
        return [[first.host.name], [n for n in todo if n != first.host.name]]

    def _means(self) -> Means:
        return Means(self.remote, self._record, self.sample, self.clock, self.sleep, self.wall, self.emit,
                     self.settings.reconnect, self.shield, seed_db.over(self.remote))  # fmt: skip


_LEFT_ALONE = (HostStatus.DEFERRED, HostStatus.REFUSED)
