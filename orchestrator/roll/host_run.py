"""One host's procedure as one state machine: the same object runs a host in a fresh run
(roll/engine.py) and takes up a host a killed run left mid-way (`run --resume`, roll/resume.py), so
both judge it with its own gate, the same automatic cap, the same soak, the same skew-limited
sampler, and end it the same way.

The steps, in order (`Step`): LEADER_WAIT → DRAIN → BACKUP → WRITE → SWITCH → LEDGER_BACKUP (only
across a ledger-snapshot boundary) → CONVERT (only where the plan converts) → SEED (db_seed) →
APPLY (restart or reload) → GATE → SOAK → RETURN → END; a failure after the backup goes to ROLLBACK
(byte for byte, the ledger too where it was kept, re-gated), then RETURN when the host is back in
sync. Each step journals what it did before the
next one starts and returns the step that follows.

What the steps share (`HostState`: what the backup found, the versions, where the host was drained,
the node's P2P mode before and after) is written into the run's own events (`backed_up` holds all
of it), so `HostState.from_journal` rebuilds it after a kill and `resume_entry` says where the
machine takes the host up: at the GATE once the journal shows the node restarted, else at the
ROLLBACK (the node may run the old binary while the link and files are new: the only safe end is
the byte-for-byte rollback; the run that follows upgrades it properly).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import tenacity

from orchestrator.actions import convert_snapshot
from orchestrator.actions.seed_db import Seeded
from orchestrator.cardano.crossing import Replay
from orchestrator.cardano.leader_schedule import KesVerdict, WindowVerdict
from orchestrator.model import Hook, Host, HostStatus, Phase, PlanAction, Role
from orchestrator.plan import HostPlan
from orchestrator.roll.events import (
    ConnectionChanged,
    Countdown,
    Event,
    GateSeen,
    NodePhaseSeen,
    Payload,
    Reconnected,
)
from orchestrator.roll.gates import GateResult, GateSample, describe, progress_step
from orchestrator.roll.host_gate import HostGate
from orchestrator.roll.interrupt import signal_name_of
from orchestrator.roll.journal import OBSERVATIONS
from orchestrator.roll.poll import poll
from orchestrator.roll.remote import Remote, Written
from orchestrator.spec.gate import GatePolicy
from orchestrator.spec.window import LeaderGuard, utc_text

# Seconds between countdown updates while a block producer waits for its restart window.
COUNTDOWN_TICK = 1.0

Emit = Callable[[Event], None]
# Journal one step of a host: record(host, phase, **data) (roll/journal.py Journal.record, or the
# engine's wrapper that also tracks how far each host got).
Record = Callable[..., object]


class Step(Enum):
    """The host's procedure, in order. A fresh run enters at LEADER_WAIT, `--resume` at GATE or ROLLBACK."""

    LEADER_WAIT = "leader_wait"
    DRAIN = "drain"
    BACKUP = "backup"
    WRITE = "write"
    SWITCH = "switch"
    LEDGER_BACKUP = "ledger_backup"  # only across a ledger-snapshot boundary: stop, copy db/ledger
    CONVERT = "convert"  # only where the plan converts: the target's snapshot-converter on the kept copy
    SEED = "seed"  # db_seed: from_upgraded, a later host of its role: stopped, the db copied (actions/seed_db.py)
    APPLY = "apply"
    GATE = "gate"
    SOAK = "soak"
    RETURN = "return"
    ROLLBACK = "rollback"
    END = "end"


class Ending(Enum):
    """How the procedure left the host (the operator's text comes from the outcome's detail)."""

    UPGRADED = "upgraded"  # in sync on the target, the soak held
    UNTOUCHED = "untouched"  # deferred, refused, drain or backup failed, write conflict: nothing changed
    NOTHING_CHANGED = "nothing_changed"  # resume: the killed run had changed nothing yet
    ROLLED_BACK = "rolled_back"  # restored byte for byte and back in sync
    ROLLBACK_FAILED = "rollback_failed"  # the restore or the restart failed
    NOT_BACK_IN_SYNC = "not_back_in_sync"  # restored, but the old node's gate failed

    @property
    def may_serve(self) -> bool:
        """Whole and in sync: a drained host may return to rotation."""
        return self not in (Ending.ROLLBACK_FAILED, Ending.NOT_BACK_IN_SYNC)


# The journal's phases after which the node has been told of its new files and binary.
AFTER_RESTART = frozenset({Phase.RESTARTED, Phase.RELOADED, Phase.GATE_PASSED, Phase.SOAK_PASSED})


# A db seed under way or done (db_seed): `--resume` continues the copy (its staging is kept) and
# verifies it, then starts the node — or rolls back when the seed's source is not known.
SEEDING_PHASES = frozenset({Phase.SEEDING, Phase.SEEDED})


def resume_entry(last_phase: Phase) -> Step:
    """Where `--resume` takes a host up, from its last journaled step: the gate once its node was
    restarted (the gate judges the node it finds), the seed when a db seed was under way, else the
    rollback."""
    if last_phase in SEEDING_PHASES:
        return Step.SEED
    return Step.GATE if last_phase in AFTER_RESTART else Step.ROLLBACK


@dataclass(frozen=True)
class ReconnectPolicy:
    """How long a write waits for a host whose connection dropped (each attempt also reconnects, with
    the transport's own bounded retries and the same strict host-key check). Seconds; the waits
    double from `initial_wait` up to `max_wait`. The default rides out a blip of ~30 s."""

    attempts: int = 5
    initial_wait: float = 2.0
    max_wait: float = 10.0

    def retrying(self, sleep: Callable[[float], None]) -> tenacity.Retrying:
        return tenacity.Retrying(
            stop=tenacity.stop_after_attempt(max(1, self.attempts)),
            wait=tenacity.wait_exponential(multiplier=self.initial_wait, max=self.max_wait),
            retry=tenacity.retry_if_result(lambda w: isinstance(w, Written) and w.unreachable),
            sleep=sleep,
            retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
        )


@dataclass
class HostOutcome:
    host: str
    role: str
    status: HostStatus = HostStatus.UNTOUCHED
    detail: str = ""
    batch: int = 0
    downtime: float | None = None  # service stop → gate passed
    gate_seconds: float | None = None
    startup_seconds: float | None = None  # the node's own log: ChainDB opening → socket
    phases: dict[str, float] = field(default_factory=dict)  # seconds per startup phase (its log)


@dataclass
class HostState:
    """What the steps share, and all a resume needs: journaled with `backed_up` (same keys on disk)."""

    existed: dict[str, bool] | None = None  # path → it existed before the run; None: no backup yet
    old_link: str | None = None  # the bin link before the switch
    old_version: str | None = None
    target_version: str | None = None
    drained_on: str | None = None  # the host the drain hook ran on (None: not drained)
    p2p_before: bool = False  # the node's P2P mode under its old files (the rollback's gate)
    p2p_after: bool = True  # under its new files (the gate)
    touched_node: bool = False  # the node may have been told of its new files (restart or reload sent)
    ledger_backup: bool = False  # db/ledger was copied before the restart: a rollback puts it back
    seed_source: str | None = None  # db_seed: the host whose db this one was receiving (journal: seeding)

    def backed_up_data(self) -> dict[str, Any]:
        return {"existed": self.existed, "old_link": self.old_link, "old_version": self.old_version,
                "target_version": self.target_version, "p2p_before": self.p2p_before,
                "p2p_after": self.p2p_after}  # fmt: skip

    @classmethod
    def from_plan(cls, hp: HostPlan) -> HostState:
        return cls(old_version=hp.current_version, target_version=hp.target_version,
                   p2p_before=hp.p2p_before, p2p_after=hp.p2p_after)  # fmt: skip

    @classmethod
    def from_journal(cls, events: Sequence[Event], host: str) -> HostState:
        """The state a killed run left, from its events for `host` (later events override earlier keys).
        A journal written before the P2P modes were recorded gates as `--resume` always did: the new
        node in P2P mode, the rolled-back one without. The node counts as told of its new files: a kill
        between the restart command and its record leaves the journal one step short."""
        data: dict[str, Any] = {}
        for e in events:
            if e.host == host and e.phase not in OBSERVATIONS:
                data.update(e.data)
        existed = data.get("existed")
        return cls(
            existed={str(k): bool(v) for k, v in existed.items()} if isinstance(existed, dict) else None,
            old_link=_text_or_none(data.get("old_link")),
            old_version=_text_or_none(data.get("old_version")),
            target_version=_text_or_none(data.get("target_version")),
            drained_on=_text_or_none(data.get("drained_on")),
            p2p_before=data.get("p2p_before") is True,
            p2p_after=data.get("p2p_after") is not False,
            touched_node=True,
            ledger_backup=data.get("ledger_backup") is not None,
            seed_source=_text_or_none(data.get("source")),
        )


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


# The steps between a host's first change and the start of its new release: an interrupt there rolls
# the host back at once (HostRun.run).
_BEFORE_THE_NEW_RELEASE = frozenset({Step.BACKUP, Step.WRITE, Step.SWITCH, Step.LEDGER_BACKUP, Step.CONVERT,
                                     Step.SEED})


@dataclass(frozen=True)
class Means:
    """What a HostRun acts through: the hosts (`remote`), the journal (`record`), the live view
    (`emit`, never journaled), the host's health sampler (skew-limited, roll/host_gate.py), and time:
    `clock`/`sleep` monotonic seconds for gates, `wall` unix seconds for leader slots and stamps."""

    remote: Remote
    record: Record
    sample: Callable[[Host], GateSample]
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    wall: Callable[[], float] = time.time
    emit: Emit = lambda _e: None
    reconnect: ReconnectPolicy = field(default_factory=ReconnectPolicy)
    # Within it a stop signal does not cut this host's steps short (records and sleeps go on): the
    # rollback of a host interrupted before its new release started (HostRun.run).
    shield: Callable[[], contextlib.AbstractContextManager[None]] = contextlib.nullcontext
    seed: Callable[[Host, Host], Seeded] | None = None  # the db copy (actions/seed_db.py over); None: no SSH


@dataclass(frozen=True)
class HostProgram:
    """What the host's program asks of the steps that follow its change, for a fresh run and a
    resume alike: its gate (its sync_gate, else the run's), its last measured start (a phase's time
    budget, and the cap), what this start is expected to take when the crossing replays the ledger
    (the cap, then: cardano/crossing.py), its return hook, and for a block producer the addresses of
    its relays (its hot peers must be among them in P2P mode; all the inventory's relays, also those
    --limit leaves out)."""

    gate: GatePolicy
    last_start_seconds: float | None = None
    return_hook: Hook | None = None
    producer_relays: tuple[str, ...] = ()
    expected_start_seconds: float | None = None
    seed_from: Host | None = None  # db_seed: the upgraded host of its role whose db this host receives


class HostRun:
    """One host's procedure. `plan` is what a fresh run applies (None on resume: only the steps after
    the change run, from the journal's state). `outcome` is updated as the steps go."""

    def __init__(self, host: Host, program: HostProgram, means: Means, state: HostState,
                 outcome: HostOutcome, plan: HostPlan | None = None, resumed: bool = False) -> None:  # fmt: skip
        self.host = host
        self.program = program
        self.means = means
        self.state = state
        self.outcome = outcome
        self.plan = plan
        self.resumed = resumed
        self.ending: Ending | None = None
        self.failure: str | None = None  # why the host is being rolled back
        self.rollback_error: str | None = None  # why the rollback did not end in sync
        self.returned_on: str | None = None
        self.return_error: str | None = None  # the return hook failed: the run must stop
        self._new_release_ran = False  # the restart/reload onto the new files was sent (_apply)
        self._ledger_replaced = False  # the conversion began to replace db/ledger (_convert)
        self._converted: convert_snapshot.Converted | None = None
        self._seeding = False  # the db seed began (_seed): the ledger backup goes back on a rollback
        self._lost = False  # the last sample or write found the host unreachable
        self._gate: GateResult | None = None
        self._stop_at: float | None = None  # clock at the service command (downtime)
        self._in_sync_at: float | None = None
        self._restarted_wall = 0.0
        self._steps: Mapping[Step, Callable[[], Step]] = {
            Step.LEADER_WAIT: self._leader_wait, Step.DRAIN: self._drain, Step.BACKUP: self._backup,
            Step.WRITE: self._write, Step.SWITCH: self._switch,
            Step.LEDGER_BACKUP: self._ledger_backup, Step.CONVERT: self._convert, Step.SEED: self._seed,
            Step.APPLY: self._apply, Step.GATE: self._gate_step,
            Step.SOAK: self._soak, Step.RETURN: self._return, Step.ROLLBACK: self._rollback,
        }  # fmt: skip

    @property
    def ok(self) -> bool:
        """Not a failed upgrade: upgraded, or left as it was for a reason the run reports (a write
        conflict). Deferred and refused producers are not ok, and the engine does not count them."""
        return self.return_error is None and self.outcome.status in (
            HostStatus.UPGRADED, HostStatus.UNCHANGED, HostStatus.SKIPPED)  # fmt: skip

    def run(self, entry: Step) -> bool:
        """Drive the steps from `entry` to the end; returns `ok`.

        A stop signal (RunInterrupted, roll/interrupt.py) cuts the steps short, leaving the host for
        `run --resume` — except between its first change and the start of its new release (BACKUP to
        LEDGER_BACKUP): there the host's node is stopped or holds files it has not read, and nothing
        has run on the new release, so it is rolled back at once (its ledger untouched, its old
        release started and gated), shielded from the signal, before the interrupt goes on. An
        interrupt never leaves a node stopped that a rollback could start in a minute (operator trial:
        a producer left down until the resume misses its blocks)."""
        step = entry
        while step is not Step.END:
            try:
                step = self._steps[step]()
            except KeyboardInterrupt as exc:
                if step not in _BEFORE_THE_NEW_RELEASE or self.state.existed is None or self._new_release_ran:
                    raise
                self._roll_back_interrupted(exc)
                raise
        return self.ok

    def _roll_back_interrupted(self, exc: KeyboardInterrupt) -> None:
        name = signal_name_of(exc)
        target = self.state.target_version or "the new files"
        with self.means.shield():
            self._fail(f"interrupted by {name} before {target} started: rolled back at once")
            step = Step.ROLLBACK
            while step is not Step.END:
                step = self._steps[step]()

    # ------------------------------------------------------------------ helpers
    def _record(self, phase: Phase, **data: Any) -> None:
        if self.resumed:
            data["resumed"] = True
        self.means.record(self.host.name, phase, **data)

    def _note(self, payload: Payload) -> None:
        """Journal a typed payload (roll/events.py)."""
        self._record(payload.phase, **payload.data())

    def _fail(self, why: str) -> Step:
        self._record(Phase.FAILED, reason=why)
        self.failure = why
        return Step.ROLLBACK

    def _label(self, what: str) -> str:
        return f"{what} on resume" if self.resumed else what

    def _relays(self, p2p: bool) -> list[str] | None:
        if self.host.role is Role.BLOCK_PRODUCER and p2p:
            return list(self.program.producer_relays)
        return None

    def _need_plan(self) -> HostPlan:
        if self.plan is None:
            raise RuntimeError(f"{self.host.name}: a step that changes the host needs its plan")
        return self.plan

    # ------------------------------------------------------------------ before the change
    def _leader_wait(self) -> Step:
        hp = self._need_plan()
        if hp.leader is None or hp.action is not PlanAction.RESTART:
            return Step.DRAIN
        held = self._await_window(hp.leader)
        if held is None:
            return Step.DRAIN
        self.outcome.status, self.outcome.detail = held
        self.ending = Ending.UNTOUCHED
        self._record(Phase.DEFERRED, status=str(self.outcome.status), reason=self.outcome.detail)
        return Step.END

    def _await_window(self, guard: LeaderGuard) -> tuple[HostStatus, str] | None:
        """Before a block producer is touched: refuse it when its KES is about to expire; else wait
        (sleeping, with a countdown on the live view) until a restart fits between its leader
        slots, re-checking after each wait; defer it when no window opens within the limit.
        None: go ahead now. Journals the decision only (when, and why), never the schedule."""
        if guard.kes.verdict is KesVerdict.EXPIRING:
            return HostStatus.REFUSED, f"refused: {guard.kes.reason}"
        if not guard.configured:
            return None
        wall = self.means.wall
        deadline = wall() + guard.settings.max_wait_seconds
        while True:
            now = wall()
            w = guard.window(now, deadline - now)
            if w.verdict is WindowVerdict.OPEN:
                return None
            if w.verdict is WindowVerdict.DEFERRED or w.start is None:
                return HostStatus.DEFERRED, f"{w.reason}: left untouched (leader_max_wait_seconds)"
            self._record(Phase.LEADER_WAIT, until=utc_text(w.start), seconds=round(w.start - now, 1), reason=w.reason)
            self._count_down(w.start)

    def _count_down(self, until: float) -> None:
        """Sleep until the wall clock reads `until` (unix seconds), with a countdown on the live view
        every COUNTDOWN_TICK seconds (roll/poll.py; a stop signal ends the wait at once)."""
        wall = self.means.wall
        left = until - wall()

        def tick() -> bool | None:
            nonlocal left
            left = until - wall()
            if left <= 0:
                return True
            self.means.emit(Countdown(round(left, 1), utc_text(until)).event(wall(), self.host.name))
            return None

        poll(tick, lambda: min(left, COUNTDOWN_TICK), wall, self.means.sleep)

    def _drain(self) -> Step:
        hp = self._need_plan()
        if hp.drain is None:
            return Step.BACKUP
        drained = self.means.remote.hook(hp.drain)
        if not drained.ok:
            self.outcome.status = HostStatus.FAILED
            self.outcome.detail = f"drain failed, host untouched: {drained.detail}"
            self.ending = Ending.UNTOUCHED
            self._record(Phase.DRAIN_FAILED, reason=drained.detail, on=hp.drain.on.name)
            return Step.END
        self.state.drained_on = hp.drain.on.name
        self._record(Phase.DRAINED, drained_on=hp.drain.on.name)
        return Step.BACKUP

    def _backup(self) -> Step:
        hp = self._need_plan()
        backed = self.means.remote.backup(self.host, [c.path for c in hp.files])
        if isinstance(backed, str):
            self.outcome.status, self.outcome.detail = HostStatus.FAILED, f"backup failed: {backed}"
            self.ending = Ending.UNTOUCHED
            self._record(Phase.FAILED, reason=self.outcome.detail)
            return Step.RETURN  # nothing was changed: it may serve again
        self.state.existed, self.state.old_link = backed
        self._record(Phase.BACKED_UP, **self.state.backed_up_data())  # all a resume needs
        self._stop_at = self.means.clock()
        return Step.WRITE

    # ------------------------------------------------------------------ the change
    def _write(self) -> Step:
        """The plan's files, conditional on their planned-from bytes; a dropped connection is waited
        for (Means.reconnect) and the write resumed: it is idempotent, new bytes count as done."""
        hp = self._need_plan()
        host = self.host
        paths = [c.path for c in hp.files]
        # Genesis before config (its hash must match when the node reads the config), one round trip.
        ordered = sorted(hp.files, key=lambda c: c.path == host.layout.config_path)
        files = [(c.path, c.content, c.base_sha256) for c in ordered]

        def attempt() -> Written:
            written = self.means.remote.write_files(host, files)
            if written.unreachable:
                self._lost = True
                self._note(ConnectionChanged("write", written.detail))
            return written

        written: Written = self.means.reconnect.retrying(self.means.sleep)(attempt)
        if not written.unreachable and self._lost:
            self._lost = False
            self._note(Reconnected("write"))
        if written.conflict:
            # Nothing was written: the host is as the operator (or their config management) left it.
            self.means.remote.drop_backups(host, paths)
            self.outcome.status = HostStatus.SKIPPED
            self.outcome.detail = f"left untouched: {written.detail}; nothing was written"
            self.ending = Ending.UNTOUCHED
            self._record(Phase.LEFT_UNTOUCHED, reason=self.outcome.detail, files=paths)
            return Step.RETURN  # drained for nothing: back to rotation as it was
        if not written.ok:
            return self._fail(written.detail)
        self._record(Phase.FILES_WRITTEN, files=paths)
        return Step.SWITCH

    def _switch(self) -> Step:
        hp = self._need_plan()
        if not (hp.switch_binary and hp.target_version):
            return Step.APPLY
        switched = self.means.remote.switch_link(self.host, hp.target_version)
        if not switched.ok:
            return self._fail(f"switch binary: {switched.detail}")
        self._record(Phase.BINARY_SWITCHED, target=switched.detail)
        return Step.LEDGER_BACKUP

    def _ledger_backup(self) -> Step:
        """Across a ledger-snapshot boundary (HostPlan.backs_up_ledger; the plan checked the room for
        it): stop the node and copy db/ledger, so that a rollback can give the old release the
        snapshots it reads — without them it replays from genesis (hours on mainnet). Stopped first:
        the copy is then of snapshots the node is not writing. The downtime starts here."""
        hp = self._need_plan()
        if not hp.backs_up_ledger:
            return Step.SEED
        self._stop_at = self.means.clock()
        self.state.touched_node = True  # stopped: a rollback must start it again
        stopped = self.means.remote.service(self.host, "stop")
        if not stopped.ok:
            return self._fail(f"systemctl stop (before the ledger backup): {stopped.detail}")
        kept = self.means.remote.backup_ledger(self.host)
        if not kept.ok:
            return self._fail(f"ledger backup: {kept.detail}")
        db = self.host.layout.db_path.rstrip("/")
        if kept.detail == "absent":  # said, never journaled as a backup: a rollback would replay from genesis
            self._record(Phase.LEDGER_ABSENT, reason=f"no {db}/ledger on the host: nothing to keep, a rollback "
                                                     "would replay from genesis (is db_path right?)")  # fmt: skip
            return Step.SEED
        self.state.ledger_backup = True
        self._record(Phase.LEDGER_BACKED_UP, ledger_backup=f"{db}/ledger.bak-{self.means.remote.run_id}",
                     kib=int(kept.detail) if kept.detail.isdigit() else None)  # fmt: skip
        return Step.CONVERT

    def _convert(self) -> Step:
        """Where the plan converts (HostPlan.converts; actions/convert_snapshot.py): the staged target's
        snapshot-converter turns the kept Legacy snapshot into `db/ledger/<slot>`, so the new node
        starts from it instead of replaying from genesis. A failure rolls back, restoring the kept
        ledger (the converter replaced `db/ledger/`, or may have)."""
        hp = self._need_plan()
        if not (hp.converts and hp.target_version):
            return Step.SEED
        self._ledger_replaced = True  # from here db/ledger may differ from the kept copy
        done = self.means.remote.convert_ledger(self.host, hp.target_version)
        converted = convert_snapshot.parse_converted(done.detail) if done.ok else None
        if converted is None:
            why = done.detail if not done.ok else f"unexpected output: {done.detail[-300:]!r}"
            self._record(Phase.CONVERT_FAILED, reason=why)
            return self._fail(f"snapshot-converter ({hp.target_version}): {why}")
        self._record(Phase.CONVERTED, snapshot=converted.snapshot, seconds=converted.seconds)
        self._converted = converted
        return Step.SEED

    def _seed(self) -> Step:
        """db_seed: from_upgraded, for a host whose role already has an upgraded host this run
        (HostProgram.seed_from): the node stopped (it is after the ledger backup), the source's
        completed chunks and covered snapshot copied and verified (actions/seed_db.py), so the new
        node starts from that snapshot instead of replaying. A failed or unverified copy fails the
        host: the normal rollback (its own ledger back, its old release started)."""
        source = self.program.seed_from
        if source is None:
            return Step.APPLY
        if self.means.seed is None:
            return self._seed_failed(source, "no SSH connections to copy over")
        if not self.state.touched_node:  # no ledger backup stopped it
            self._stop_at = self.means.clock()
            self.state.touched_node = True
            stopped = self.means.remote.service(self.host, "stop")
            if not stopped.ok:
                return self._seed_failed(source, f"systemctl stop: {stopped.detail}")
        self._seeding = True  # the db changes from here: a rollback restores the ledger backup
        self._record(Phase.SEEDING, source=source.name)
        seeded = self.means.seed(source, self.host)
        if not seeded.ok:
            return self._seed_failed(source, seeded.detail)
        self._record(Phase.SEEDED, source=source.name, files=seeded.files, bytes=seeded.bytes,
                     seconds=round(seeded.seconds, 2), snapshot=seeded.snapshot, verified=seeded.verified)  # fmt: skip
        return Step.APPLY

    def _seed_failed(self, source: Host, why: str) -> Step:
        self._record(Phase.SEED_FAILED, source=source.name, reason=why)
        return self._fail(f"db seed from {source.name}: {why}")

    def _verb(self) -> str:
        return "reload" if self.plan is not None and self.plan.action is PlanAction.RELOAD else "restart"

    def _apply(self) -> Step:
        verb = self._verb()
        if not self.state.ledger_backup:  # else the node stopped for the ledger backup: downtime began there
            self._stop_at = self.means.clock()
        self._restarted_wall = self.means.wall()
        self.state.touched_node = True  # from here on the node may have been told, even if the command fails
        self._new_release_ran = True
        applied = self.means.remote.service(self.host, verb)
        if not applied.ok:
            return self._fail(f"systemctl {verb}: {applied.detail}")
        self._record(Phase.RESTARTED if verb == "restart" else Phase.RELOADED)
        return Step.GATE

    # ------------------------------------------------------------------ after the change
    def _version(self) -> str:
        return self.state.target_version or self.state.old_version or ""

    def _gate_step(self) -> Step:
        gate = self.host_gate().gate(self._version(), self.state.p2p_after, self._relays(self.state.p2p_after))
        if not gate.ok:
            return self._fail(f"{self._label('gate')}: {gate.reason}")
        self._gate, self._in_sync_at = gate, self.means.clock()
        self._record(Phase.GATE_PASSED, seconds=round(gate.duration, 2))
        return Step.SOAK

    def _soak(self) -> Step:
        gate = self._gate
        assert gate is not None  # the gate passed just before
        soaked = self.host_gate().soak(self._version(), gate, producer_relays=self._relays(True))
        if soaked.ran and soaked.ok:
            self._record(Phase.SOAK_PASSED, seconds=round(soaked.seconds, 2))
        if soaked.reason is not None:
            return self._fail(f"{self._label('soak')}: {soaked.reason}")
        self._upgraded(gate)
        return Step.RETURN

    def _upgraded(self, gate: GateResult) -> None:
        out, verb = self.outcome, self._verb()
        out.status, self.ending = HostStatus.UPGRADED, Ending.UPGRADED
        out.gate_seconds = gate.duration
        if self.plan is None:  # resumed: the killed run's stop time is not known
            out.detail = "completed: in sync on the target version"
            return
        hp = self.plan
        if self._stop_at is not None and self._in_sync_at is not None:
            out.downtime = self._in_sync_at - self._stop_at if verb == "restart" else 0.0
        start = gate.startup
        if verb == "restart" and start is not None and start.done and start.started_at >= self._restarted_wall - 5:
            out.startup_seconds = start.duration
            out.phases = start.phase_durations()
        what = f"{hp.current_version} → {hp.target_version}" if hp.switch_binary else "files rewritten"
        out.detail = f"{what}, {len(hp.files)} file(s), {verb}; in sync after {gate.duration:.0f}s"
        if self._converted is not None:  # the report says which happened: converted, not replayed
            out.detail += (f"; ledger snapshot {self._converted.snapshot} converted with {hp.target_version}'s "
                           f"snapshot-converter in {self._converted.seconds:g}s")  # fmt: skip
        if out.phases and start is not None:
            seeded = self.program.seed_from if self._seeding else None
            out.detail += _replay_against_plan(start.replay_from_slot, hp) if seeded is None else (
                f"; seeded from {seeded.name}: " + ("the ledger replayed from genesis, the copied snapshot NOT used"
                                                     if start.replay_from_slot == 0 else "started from its snapshot"))

    def _return(self) -> Step:
        """The host's return hook, if any, once it may serve; a failure is loud (status, detail,
        journal) and stops the run. Then `done` for an upgraded host."""
        hook = self.program.return_hook
        ending = self.ending
        if hook is not None and (ending is None or ending.may_serve):
            done = self.means.remote.hook(hook)
            if not done.ok:
                out = self.outcome
                state = {HostStatus.UPGRADED: "upgraded and in sync", HostStatus.ROLLED_BACK: "rolled back and in sync"}
                was = state.get(out.status, "not changed")
                out.status = HostStatus.FAILED
                out.detail = f"RETURN FAILED ({was}, but OUT OF ROTATION): {done.detail}" + (
                    f"; before: {out.detail}" if out.detail else ""
                )
                self.return_error = done.detail
                self._record(Phase.RETURN_FAILED, reason=done.detail, on=hook.on.name)
                return Step.END
            self.returned_on = hook.on.name
            self._record(Phase.RETURNED, on=hook.on.name)
        if ending is Ending.UPGRADED:
            self._record(Phase.DONE)
        return Step.END

    def _rollback(self) -> Step:
        """Files and link back byte for byte; the node restarted on them only when it had been told of
        the new ones (`touched_node`): a failure before the restart leaves the running node alone (it
        read its files at its start), then the gate confirms it is in sync."""
        out, state = self.outcome, self.state
        why = self.failure or "resumed before the node's restart"
        if state.existed is None:  # resume only: the killed run had backed up nothing
            out.status, out.detail, self.ending = HostStatus.ROLLED_BACK, "nothing had been changed", Ending.NOTHING_CHANGED
            self._record(Phase.ROLLED_BACK, note="nothing had been changed yet")
            return Step.RETURN
        restart = state.touched_node
        self._record(Phase.ROLLING_BACK, reason=why, restart=restart)
        ledger_note = ""
        if (state.ledger_backup and not self._new_release_ran and not self._ledger_replaced and not self._seeding
                and self.plan is not None):
            ledger_note = " (db/ledger untouched: the new release never ran)"  # no copy back: it is as it was
        elif state.ledger_backup:  # the old release's snapshots, so it does not replay from genesis
            stopped = self.means.remote.service(self.host, "stop")
            ledger = self.means.remote.restore_ledger(self.host) if stopped.ok else stopped
            if ledger.ok:
                self._record(Phase.LEDGER_RESTORED)
            else:  # the files still go back: an old node that replays beats a new one that cannot start
                ledger_note = f" (db/ledger NOT restored: {ledger.detail}; the old node replays from genesis)"
                self._record(Phase.LEDGER_NOT_RESTORED, reason=ledger.detail)
        res = self.means.remote.restore(self.host, state.existed, state.old_link)
        if res.ok and restart:
            res = self.means.remote.service(self.host, "restart")
        if not res.ok:
            return self._rollback_failed(Ending.ROLLBACK_FAILED, why, res.detail)
        p2p = state.p2p_before  # the mode its restored config selects
        gate = self.host_gate().gate(state.old_version or "", p2p, self._relays(p2p))
        if not gate.ok:
            return self._rollback_failed(Ending.NOT_BACK_IN_SYNC, why, gate.reason)
        how = "back in sync" if restart else "the node, never restarted, still in sync"
        out.status, out.detail = HostStatus.ROLLED_BACK, f"{why}; restored byte-for-byte and {how}{ledger_note}"
        self.ending = Ending.ROLLED_BACK
        self._record(Phase.ROLLED_BACK)
        return Step.RETURN

    def _rollback_failed(self, ending: Ending, why: str, detail: str) -> Step:
        self.outcome.status, self.outcome.detail = HostStatus.FAILED, f"{why}; ROLLBACK INCOMPLETE: {detail}"
        self.ending, self.rollback_error = ending, detail
        self._record(Phase.ROLLBACK_FAILED, reason=detail)
        return Step.END

    # ------------------------------------------------------------------ the gate's observations
    def _observe_connection(self, s: GateSample, during: str) -> None:
        """Journal a dropped connection once, and its return: the gate goes on sampling meanwhile (the
        transport reconnects on the next sample) and its stall rules, not the drop, judge the host."""
        if not s.reachable and not self._lost:
            self._lost = True
            self._note(ConnectionChanged(during, s.error))
        elif s.reachable and self._lost:
            self._lost = False
            self._note(Reconnected(during))

    def host_gate(self) -> HostGate:
        """The host's gate and soak (roll/host_gate.py), with its samples journaled (connection drops,
        node phases) and shown on the live view."""
        policy, wall, emit, name = self.program.gate, self.means.wall, self.means.emit, self.host.name
        seen: dict[str, str | None] = {"phase": None}

        def on_sample(s: GateSample, reason: str | None) -> None:
            self._observe_connection(s, "gate")
            state = describe(s, policy.max_slot_lag, wall())
            start = s.starting
            phase = str(start.phase) if start is not None else state.split(" (")[0]
            step = progress_step(start)
            emit(GateSeen(state, s.slot_lag, reason, step).event(wall(), name))
            if phase != seen["phase"]:
                seen["phase"] = phase
                percent = None if start is None else start.percent
                self._note(NodePhaseSeen(phase, percent, state))

        def on_soak_sample(s: GateSample, elapsed: float) -> None:
            self._observe_connection(s, "soak")
            state = f"soak {elapsed:.0f}/{policy.soak_seconds:g}s: " + describe(s, policy.max_slot_lag, wall())
            emit(GateSeen(state, s.slot_lag).event(wall(), name))

        return HostGate(policy, self.program.last_start_seconds, lambda: self.means.sample(self.host),
                        self.means.clock, self.means.sleep, on_sample, on_soak_sample,
                        self.program.expected_start_seconds)  # fmt: skip


def _replay_against_plan(from_slot: int | None, plan: HostPlan) -> str:
    """What the node's own log says its ledger replay started from, against what the plan said
    (cardano/crossing.py): a replay from genesis nobody planned is worth an operator's eye (a lost
    or unreadable snapshot), as is a planned one that did not happen. "" when the log did not say."""
    if from_slot is None:
        return ""
    planned = plan.crossing is not None and plan.crossing.replay is Replay.FROM_GENESIS
    if from_slot == 0:
        return ("; the ledger replayed from genesis, as planned" if planned else
                "; the ledger replayed from genesis, which the plan did not expect (no snapshot it could read)")
    return "; the ledger replayed from a snapshot, though the plan expected a replay from genesis" if planned else ""

