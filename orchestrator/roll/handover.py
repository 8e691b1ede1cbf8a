"""The block producer handover: forging moves from a pool's active producer to its standby between
two leader slots, with never two forgers, and never none during a leader slot (issue 27).

The node's own mechanism (cardano-node 10.6.4, /work/shared/docs/cardano-runtime-signals-10x.md §4,
from Cardano/Node/Run.hs `updateBlockForging` L714-747 and Cardano/Node/Protocol/Shelley.hs
L176-205): on SIGHUP, once consensus runs, the node re-reads the credential files its *command
line* names (`--shelley-kes-key`, `--shelley-vrf-key`, `--shelley-operational-certificate`,
`--bulk-credentials-file`, the Byron pair): a missing file disables forging, valid files enable
it, any other error keeps the old state and logs `Startup.BlockForgingUpdateError` ("Block forging
is not reconfigured", Run.hs L725-731). The cardano-node wiki (dynamic-block-forging.md) says the
same: "move, rename, or delete the file … then send the SIGHUP signal". Nothing in the node stops
two producers forging at once: this machine does.

The steps, in order (`Step`): PRECHECK (both command lines name credentials; exactly the active
forges; the standby's credentials are renamed away, so no restart of it can forge) →
UPGRADE_STANDBY (the standby's own upgrade, with its gate) → GATE_STANDBY (in sync, not forging) →
CHOOSE_GAP (a window between leader slots wide enough for the whole gap: the restart window of
spec/window.py with the gap's budget as its downtime, the same schedule sources and KES guard) →
DISABLE_ACTIVE (rename its credential files away — rename(2), never an open — and SIGHUP) →
PROVE_STOPPED (forging metric 0, no leadership check for `quiet_seconds`, still in sync, no
BlockForgingUpdateError) → ENABLE_STANDBY (rename back, SIGHUP) → PROVE_FORGING (leadership checks
rising: the metric alone lies, it reads 1 during a replay) → UPGRADE_OLD_AS_STANDBY (its
credentials are away: it restarts non-producing) → END.

Any doubt goes to RECOVER, which ends with forging on exactly one host — the `preferred` one (the
original until the standby is proven forging, the standby after) where possible, else the other
when the preferred one is proven not to forge — or, when that cannot be proven, ends UNPROVEN,
loudly, naming what it could not prove. It never enables a host while the other is not proven stopped.

At every step both hosts are sampled (`ForgingSample`); both possibly forging is a violation at
any time, neither forging is one when a leader slot is at hand. Each step is journaled before it
acts (roll/handover_events.py), so `--resume` knows which steps may have acted; it first
establishes which host forges from fresh samples, then goes on, or recovers (`resume_entry`).

What the machine acts through is a Protocol (`HandoverRemote`); the SSH implementation and the
engine's wiring (roll/pool.py) are not part of this module.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

# the one home of these (cardano/forging.py, spec/handover.py); re-exported for the handover's users
from orchestrator.cardano.forging import DISABLED_SUFFIX as DISABLED_SUFFIX
from orchestrator.cardano.forging import Credentials, classify
from orchestrator.cardano.forging import Forging as Forging
from orchestrator.cardano.forging import ForgingSample as ForgingSample
from orchestrator.cardano.forging import credentials as credentials
from orchestrator.cardano.leader_schedule import KesVerdict, WindowVerdict
from orchestrator.model import Host, Phase
from orchestrator.roll.events import Event, Payload
from orchestrator.roll.handover_events import ForgersSeen, HandoverEnded, HandoverStepped
from orchestrator.roll.host_run import Record
from orchestrator.roll.remote import Done
from orchestrator.spec.handover import HandoverPolicy as HandoverPolicy
from orchestrator.spec.handover import Step as Step
from orchestrator.spec.window import LeaderGuard, utc_text


class Ending(StrEnum):
    """How a handover ended; `forger` in the result names the host that forges."""

    HANDED_OVER = "handed_over"  # the standby forges; the old producer is the idle standby (upgraded, if asked)
    HANDED_OVER_OLD_NOT_UPGRADED = "handed_over_old_not_upgraded"  # the standby forges; the old one is not upgraded
    REFUSED = "refused"  # a precondition failed: nothing was changed, the original forges
    STOPPED = "stopped"  # a doubt: recovered, the preferred host forges (the original before the handover)
    STOPPED_ON_OTHER = "stopped_on_other"  # recovered, but on the other host: the preferred one could not forge
    UNPROVEN = "unproven"  # exactly one forger could not be proven (`forger`: the one proven, if any): act now


# --start-as-non-producing-node is read from 10.5.1 (cardano-node Parsers.hs L431-439, runtime-signals
# doc §4): a standby on an older release cannot be started so that it does not forge.
NON_PRODUCING_SINCE = (10, 5, 1)


def release_problem(standby: str, node_version: str | None) -> str | None:
    """Why the release the standby runs when it takes over cannot start non-producing (None: it can):
    the rule of the handover command and of upgrade-node's handover mode alike."""
    m = re.match(r"(\d+)\.(\d+)\.(\d+)", node_version or "")
    if m is None:
        return f"the standby {standby}'s release could not be read ({node_version or 'no version'})"
    if tuple(int(x) for x in m.groups()) < NON_PRODUCING_SINCE:
        return (f"the standby {standby} runs {node_version}, which cannot start non-producing "
                f"(--start-as-non-producing-node is read from 10.5.1): upgrade it first")  # fmt: skip
    return None


class HandoverRemote(Protocol):
    """What the handover does on hosts; nothing else touches them. None of it opens a credential file."""

    def sample(self, host: Host) -> ForgingSample:
        """One look at the producer's forging (ForgingSample), at the machine's clock."""
        ...

    def command_line(self, host: Host) -> tuple[str, ...] | str:
        """The running node's argv, or why it could not be read."""
        ...

    def set_credentials(self, host: Host, paths: Sequence[str], present: bool) -> Done:
        """Rename each path to/from `path + DISABLED_SUFFIX` (one rename(2) each, never an open): present
        → the node's own names, absent → the suffixed ones. Idempotent: a file already as wanted is
        left; a path present under neither name (or under both) is an error, and nothing is renamed."""
        ...

    def sighup(self, host: Host) -> Done:
        """Send SIGHUP to the node's main process (its unit's MainPID)."""
        ...


@dataclass(frozen=True)
class Means:
    """What a Handover acts through: the hosts, the journal, a host's upgrade (the engine's one-host
    machine with its gate; ok: in sync on the target), and time (`clock`/`sleep` monotonic seconds
    for the proofs, `wall` unix seconds for leader slots)."""

    remote: HandoverRemote
    record: Record
    upgrade: Callable[[Host], Done]
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    wall: Callable[[], float] = time.time
    # A stop asked for (the command's first SIGINT/SIGTERM/SIGHUP): its signal name, else None. The
    # handover then treats it as a doubt: it recovers (one forger, the preferred host) and ends.
    stop: Callable[[], str | None] = lambda: None


@dataclass
class HandoverResult:
    """One pool's handover: how it ended, who forges (None: nobody proven), and why."""

    original: str
    standby: str
    ending: Ending | None = None
    forger: str | None = None
    detail: str = ""
    gap_seconds: float | None = None
    steps: list[str] = field(default_factory=list)


@dataclass
class HandoverState:
    """What the steps share and a resume needs, rebuilt from the journal."""

    step: Step | None = None  # the last step entered (None: none yet)
    preferred: str | None = None
    active_paths: tuple[str, ...] = ()
    standby_paths: tuple[str, ...] = ()
    ended: bool = False

    @classmethod
    def from_journal(cls, events: Sequence[Event], original: str) -> HandoverState:
        state = cls()
        for e in events:
            if e.host != original:
                continue
            if e.phase is Phase.HANDOVER_STEP:
                s = HandoverStepped.of(e)
                state.step = Step(s.step)
                state.preferred = s.preferred
                state.active_paths = s.active_paths or state.active_paths
                state.standby_paths = s.standby_paths or state.standby_paths
                state.ended = False
            elif e.phase is Phase.HANDOVER_ENDED:
                state.ended = True
        return state


BEFORE_GAP = (Step.PRECHECK, Step.UPGRADE_STANDBY, Step.GATE_STANDBY, Step.CHOOSE_GAP)


def resume_entry(state: HandoverState, active: Forging, standby: Forging) -> Step:
    """Where `--resume` takes a handover up, from its last step entered and what fresh samples show:
    go on only where the forging is exactly what that step expects; else recover."""
    step = state.step
    if state.ended:
        return Step.END
    if step is None:
        return Step.PRECHECK
    if step in BEFORE_GAP:
        return step if active.may_forge and standby is Forging.OFF else Step.RECOVER
    if step in (Step.ENABLE_STANDBY, Step.PROVE_FORGING):
        return Step.PROVE_FORGING if standby is Forging.ON and active is Forging.OFF else Step.RECOVER
    if step is Step.UPGRADE_OLD_AS_STANDBY:
        return step if standby.may_forge and not active.may_forge else Step.RECOVER
    return Step.RECOVER  # DISABLE_ACTIVE, PROVE_STOPPED, RECOVER: the original back, as a fresh doubt would


class Handover:
    """One pool's handover from `active` to `standby`. `guard`: the active producer's leader guard
    (its schedule, KES; None or not configured: no schedule, the gap may cost a block)."""

    def __init__(self, active: Host, standby: Host, means: Means, guard: LeaderGuard | None = None,
                 policy: HandoverPolicy | None = None, state: HandoverState | None = None,
                 resumed: bool = False) -> None:  # fmt: skip
        self.active, self.standby = active, standby
        self.means = means
        self.guard = guard
        self.policy = policy or HandoverPolicy()
        self.state = state or HandoverState()
        if self.state.preferred is None:
            self.state.preferred = active.name
        self.resumed = resumed
        self.result = HandoverResult(active.name, standby.name)
        self.failure: str | None = None
        self._last: dict[str, ForgingSample] = {}
        self._seen: dict[str, Forging] = {}
        # Hosts an enabling SIGHUP of ours may have reached (files present): only those can have started
        # forging (a node's forging changes on a SIGHUP or a restart, and the standby restarts with its
        # files away). A resume cannot know: past ENABLE_STANDBY the standby counts as reached.
        self._hupped_on: set[str] = set()
        if resumed and self.state.step not in (*BEFORE_GAP, Step.DISABLE_ACTIVE, Step.PROVE_STOPPED, None):
            self._hupped_on.add(standby.name)
        self._warnings: list[str] = []
        self._disabled_at: float | None = None  # wall time of the active producer's SIGHUP
        self._before_hup: dict[str, ForgingSample] = {}  # each host's last sample before our SIGHUP
        self._steps: dict[Step, Callable[[], Step]] = {
            Step.PRECHECK: self._precheck, Step.UPGRADE_STANDBY: self._upgrade_standby,
            Step.GATE_STANDBY: self._gate_standby, Step.CHOOSE_GAP: self._choose_gap,
            Step.DISABLE_ACTIVE: self._disable_active, Step.PROVE_STOPPED: self._prove_stopped,
            Step.ENABLE_STANDBY: self._enable_standby, Step.PROVE_FORGING: self._prove_forging,
            Step.UPGRADE_OLD_AS_STANDBY: self._upgrade_old, Step.RECOVER: self._recover,
        }  # fmt: skip

    # ------------------------------------------------------------------ driving
    def run(self, entry: Step = Step.PRECHECK) -> HandoverResult:
        step = entry
        while step is not Step.END:
            sig = self._stop_asked()
            if sig is not None and step is not Step.RECOVER:
                step = self._fail(f"interrupted by {sig}")
            step = self._steps[step]()
        return self.result

    def _stop_asked(self) -> str | None:
        """The signal of a stop asked for, outside the recovery (which always runs to its end)."""
        return None if self.state.step is Step.RECOVER else self.means.stop()

    def resume(self) -> HandoverResult:
        """`--resume`: first establish which host forges (fresh samples of both), then go on from the
        journal's step where that is what it expects, else recover."""
        for host in self._hosts():  # killed before the precheck journaled them: read them again
            if not self._paths(host):
                argv = self.means.remote.command_line(host)
                found = credentials(argv).paths if not isinstance(argv, str) else ()
                if host is self.active:
                    self.state.active_paths = found
                else:
                    self.state.standby_paths = found
        active, standby = self.establish("resume")
        entry = resume_entry(self.state, active, standby)
        return self.run(entry)

    def establish(self, during: str) -> tuple[Forging, Forging]:
        """Two samples of each host `quiet_seconds` apart: what each one's forging is."""
        self._sample_both(during)
        self.means.sleep(self.policy.quiet_seconds)
        return self._sample_both(during)

    # ------------------------------------------------------------------ helpers
    def _hosts(self) -> tuple[Host, Host]:
        return self.active, self.standby

    def _other(self, name: str) -> Host:
        return self.standby if name == self.active.name else self.active

    def _paths(self, host: Host) -> tuple[str, ...]:
        return self.state.active_paths if host is self.active else self.state.standby_paths

    def _note(self, payload: Payload) -> None:
        data = payload.data()
        if self.resumed:
            data["resumed"] = True
        self.means.record(self.active.name, payload.phase, **data)

    def _enter(self, step: Step, detail: str | None = None, **paths: tuple[str, ...]) -> None:
        self.state.step = step
        self.result.steps.append(step.value)
        preferred = self.state.preferred or self.active.name
        self._note(HandoverStepped(step.value, self.active.name, self.standby.name, preferred, detail,
                                   paths.get("active_paths"), paths.get("standby_paths")))  # fmt: skip

    def _end(self, ending: Ending, forger: str | None, reason: str) -> Step:
        r = self.result
        r.ending, r.forger = ending, forger
        r.detail = "; ".join([reason, *self._warnings])
        self.state.ended = True
        self._note(HandoverEnded(ending.value, forger, r.detail, r.gap_seconds))
        return Step.END

    def _fail(self, why: str) -> Step:
        self.failure = why
        return Step.RECOVER

    def _sample(self, host: Host) -> tuple[ForgingSample, Forging]:
        """Sample one host; an unreachable one keeps its last known forging (a lost connection changes
        nothing on the node: only our renames and SIGHUPs do, and those reset what is known)."""
        cur = self.means.remote.sample(host)
        prev = self._last.get(host.name)
        now = classify(prev, cur)
        if cur.reachable:
            self._last[host.name] = cur
            self._seen[host.name] = now
        else:
            now = self._seen.get(host.name, Forging.UNKNOWN)
        return cur, now

    def _forget(self, host: Host) -> None:
        """What we knew of `host`'s forging is void: we just renamed its files or sent it a SIGHUP (the
        next proof of forging needs two samples taken after it)."""
        self._seen.pop(host.name, None)
        self._last.pop(host.name, None)

    def _sample_both(self, during: str) -> tuple[Forging, Forging]:
        before = (self._seen.get(self.active.name), self._seen.get(self.standby.name))
        _a, fa = self._sample(self.active)
        _s, fs = self._sample(self.standby)
        if (fa, fs) != before:
            self._note(ForgersSeen(during, self.active.name, fa.value, self.standby.name, fs.value))
        return fa, fs

    def leader_at_hand(self, now: float) -> bool:
        """A leader slot is at hand: one within the margin ahead, or one that passed less than the
        settle time ago (spec/window.py's terms). False without a schedule: nothing is known."""
        g = self.guard
        if g is None or not g.configured:
            return False
        s = g.settings
        return any(now - s.settle_seconds < slot.at <= now + s.margin_seconds for slot in g.slots)

    def _invariant(self, during: str) -> str | None:
        """Sample both; why the forging is not allowed now (both may forge; neither at a leader slot)."""
        fa, fs = self._sample_both(during)
        if fa.may_forge and fs.may_forge:
            return f"both producers may forge ({self.active.name} {fa}, {self.standby.name} {fs})"
        if not fa.may_forge and not fs.may_forge and self.leader_at_hand(self.means.wall()):
            return "neither producer forges and a leader slot is at hand"
        return None

    def _poll(self, attempt: Callable[[], str | bool | None], timeout: float) -> str | bool | None:
        """Call `attempt` every sample_interval until it returns True (proven) or a str (why not),
        or `timeout` seconds pass (None)."""
        start = self.means.clock()
        while True:
            got = attempt()
            if got is not None:
                return got
            sig = self._stop_asked()
            if sig is not None:
                return f"interrupted by {sig}"
            if self.means.clock() - start >= timeout:
                return None
            self.means.sleep(self.policy.sample_interval)

    # ------------------------------------------------------------------ before the gap
    def _precheck(self) -> Step:
        self._enter(Step.PRECHECK)
        found: dict[str, Credentials] = {}
        for host in self._hosts():
            argv = self.means.remote.command_line(host)
            creds = credentials(argv) if not isinstance(argv, str) else Credentials(error=f"command line unreadable: {argv}")
            if creds.error is not None:
                return self._end(Ending.REFUSED, self.active.name, f"{host.name}: {creds.error}; nothing was changed")
            found[host.name] = creds
        g = self.guard
        if g is not None and g.kes.verdict is KesVerdict.EXPIRING:  # the standby signs with the same opcert
            return self._end(Ending.REFUSED, self.active.name, f"refused: {g.kes.reason}; nothing was changed")
        self.state.active_paths = found[self.active.name].paths
        self.state.standby_paths = found[self.standby.name].paths
        fa, fs = self.establish(Step.PRECHECK.value)
        if fa.may_forge and fs.may_forge:
            return self._fail(f"both producers may forge before the handover ({self.active.name} {fa}, "
                              f"{self.standby.name} {fs})")  # fmt: skip
        if fa is not Forging.ON:
            return self._end(Ending.REFUSED, None if fs is not Forging.ON else self.standby.name,
                             f"{self.active.name} is not proven forging ({fa}): nothing to hand over; "
                             "nothing was changed")  # fmt: skip
        # The standby's files go away before anything restarts it: whatever flags it starts with, it cannot forge.
        self._enter(Step.PRECHECK, "standby credentials renamed away", active_paths=self.state.active_paths,
                    standby_paths=self.state.standby_paths)  # fmt: skip
        put = self.means.remote.set_credentials(self.standby, self.state.standby_paths, present=False)
        if not put.ok:
            return self._end(Ending.REFUSED, self.active.name,
                             f"{self.standby.name}: its credential files could not be renamed away: {put.detail}")  # fmt: skip
        return Step.UPGRADE_STANDBY

    def _upgrade_standby(self) -> Step:
        self._enter(Step.UPGRADE_STANDBY)
        done = self.means.upgrade(self.standby)
        if not done.ok:
            return self._fail(f"the standby's upgrade failed: {done.detail}")
        return Step.GATE_STANDBY

    def _gate_standby(self) -> Step:
        """The standby in sync and not forging, the active still forging (two looks quiet_seconds apart)."""
        self._enter(Step.GATE_STANDBY)
        fa, fs = self.establish(Step.GATE_STANDBY.value)
        lag = self._last.get(self.standby.name)
        if fs is not Forging.OFF:
            return self._fail(f"the standby {self.standby.name} is not proven idle ({fs})")
        if lag is None or lag.slot_lag is None or lag.slot_lag > self.policy.max_slot_lag:
            return self._fail(f"the standby {self.standby.name} is not in sync "
                              f"(slot lag {lag.slot_lag if lag else None}, at most {self.policy.max_slot_lag})")  # fmt: skip
        if fa is not Forging.ON:
            return self._fail(f"the active producer {self.active.name} is not proven forging ({fa})")
        return Step.CHOOSE_GAP

    def _choose_gap(self) -> Step:
        """Wait for a window between leader slots that holds the whole gap (the policy's budget),
        with the producers' window settings and KES guard; none within the wait limit: stop."""
        budget = self.policy.gap_budget
        g = self.guard
        if g is None or not g.configured:
            self._enter(Step.CHOOSE_GAP, f"no leader schedule: the gap (at most {budget:.0f} s) may cost a block")
            return Step.DISABLE_ACTIVE
        gap_guard = dataclasses.replace(g, downtime_seconds=budget)
        wall = self.means.wall
        deadline = wall() + g.settings.max_wait_seconds
        while True:
            now = wall()
            w = gap_guard.window(now, deadline - now)
            if w.verdict is WindowVerdict.OPEN:
                self._enter(Step.CHOOSE_GAP, f"{w.reason}; the gap needs {budget:.0f} s clear")
                return Step.DISABLE_ACTIVE
            if w.verdict is WindowVerdict.DEFERRED or w.start is None:
                self._enter(Step.CHOOSE_GAP, w.reason)
                return self._end(Ending.REFUSED, self.active.name,
                                 f"no gap between leader slots: {w.reason}; the standby is upgraded and idle")  # fmt: skip
            self._enter(Step.CHOOSE_GAP, f"waiting until {utc_text(w.start)}: {w.reason}")
            sig = self._stop_asked()
            why = f"interrupted by {sig}" if sig is not None else self._invariant(Step.CHOOSE_GAP.value)
            if why is not None:
                return self._fail(why)
            self.means.sleep(max(0.0, w.start - wall()))

    # ------------------------------------------------------------------ the gap
    def _disable_active(self) -> Step:
        self._enter(Step.DISABLE_ACTIVE)
        why = self._invariant(Step.DISABLE_ACTIVE.value)
        if why is not None:
            return self._fail(why)
        self._disabled_at = self.means.wall()
        done = self._hup(self.active, present=False)
        if not done.ok:
            return self._fail(f"{self.active.name}: {done.detail}")
        return Step.PROVE_STOPPED

    def _prove(self, host: Host, stop: bool, timeout: float, baseline: ForgingSample | None) -> str | bool | None:
        """Prove `host` stopped (`stop`: metric 0, no leadership check for quiet_seconds, in sync) or
        forging (checks rising), sampling both hosts each time; a BlockForgingUpdateError since
        `baseline` or an invariant violation is a str (why not); None: the timeout passed."""
        during = Step.PROVE_STOPPED.value if stop else Step.PROVE_FORGING.value
        check = self._neither_at_slot if stop else self._invariant
        judge = self._judge(host, stop, baseline)

        def attempt() -> str | bool | None:
            why = check(during)
            return why if why is not None else judge()

        return self._poll(attempt, timeout)

    def _judge(self, host: Host, stop: bool, baseline: ForgingSample | None) -> Callable[[], str | bool | None]:
        """Judge `host`'s latest sample: proven stopped (metric 0, in sync, the leadership-check count
        unchanged for quiet_seconds) or forging (checks rose between two samples after the SIGHUP); a
        str when it answered the SIGHUP with BlockForgingUpdateError (more than `baseline` shows)."""
        quiet: list[ForgingSample] = []
        base_errors = baseline.update_errors if baseline is not None else None

        def judge() -> str | bool | None:
            cur = self._last.get(host.name)
            if cur is None or not cur.reachable:
                return None
            if base_errors is not None and cur.update_errors is not None and cur.update_errors > base_errors:
                return (f"{host.name} answered the SIGHUP with BlockForgingUpdateError (block forging is not "
                        "reconfigured: the node keeps its old state)")  # fmt: skip
            if not stop:
                return True if self._seen.get(host.name) is Forging.ON else None
            if cur.forging_metric is not False or cur.slot_lag is None or cur.slot_lag > self.policy.max_slot_lag:
                quiet.clear()
                return None
            if not quiet or quiet[0].leadership_checks != cur.leadership_checks:
                quiet[:] = [cur]
                return None
            return True if cur.at - quiet[0].at >= self.policy.quiet_seconds else None

        return judge

    def _neither_at_slot(self, during: str) -> str | None:
        """While the active producer is being stopped both are sampled; only 'neither at a leader slot'
        counts there (the active one may still forge: that is what is being proven)."""
        fa, fs = self._sample_both(during)
        if fs.may_forge:
            return f"the standby {self.standby.name} may forge ({fs}) while {self.active.name} is being stopped"
        if not fa.may_forge and self.leader_at_hand(self.means.wall()):
            return "neither producer forges and a leader slot is at hand"
        return None

    def _prove_stopped(self) -> Step:
        self._enter(Step.PROVE_STOPPED)
        got = self._prove(self.active, True, self.policy.stop_timeout, self._baseline(self.active))
        if got is True:
            return Step.ENABLE_STANDBY
        if isinstance(got, str):
            return self._fail(got)
        return self._fail(f"{self.active.name} not proven stopped within {self.policy.stop_timeout:.0f} s "
                          "(forging metric 0, no leadership check, in sync)")  # fmt: skip

    def _baseline(self, host: Host) -> ForgingSample | None:
        """The last reachable sample of `host` before our SIGHUP (its count of update errors)."""
        return self._before_hup.get(host.name)

    def _hup(self, host: Host, present: bool) -> Done:
        """Rename `host`'s credentials (present or away), then SIGHUP it; its last sample is kept as the
        baseline of the proof that follows."""
        cur = self.means.remote.sample(host)
        if cur.reachable:
            self._before_hup[host.name] = cur
        moved = self.means.remote.set_credentials(host, self._paths(host), present=present)
        self._forget(host)
        if not moved.ok:
            return Done(False, f"renaming its credentials {'back' if present else 'away'} failed: {moved.detail}")
        if present:
            self._hupped_on.add(host.name)  # from here on it may forge, whatever the command answers
        hup = self.means.remote.sighup(host)
        return hup if hup.ok else Done(False, f"SIGHUP failed: {hup.detail}")

    def _enable_standby(self) -> Step:
        self._enter(Step.ENABLE_STANDBY)
        done = self._hup(self.standby, present=True)
        if not done.ok:
            return self._fail(f"{self.standby.name}: {done.detail}")
        return Step.PROVE_FORGING

    def _prove_forging(self) -> Step:
        self._enter(Step.PROVE_FORGING)
        got = self._prove(self.standby, False, self.policy.forging_timeout, self._baseline(self.standby))
        if got is True:
            if self._disabled_at is not None:
                self.result.gap_seconds = round(self.means.wall() - self._disabled_at, 1)
            self.state.preferred = self.standby.name
            return Step.UPGRADE_OLD_AS_STANDBY
        if isinstance(got, str):
            return self._fail(got)
        return self._fail(f"{self.standby.name} not proven forging within {self.policy.forging_timeout:.0f} s "
                          "(no leadership check seen rising)")  # fmt: skip

    # ------------------------------------------------------------------ after the gap
    def _upgrade_old(self) -> Step:
        self.state.preferred = self.standby.name
        self._enter(Step.UPGRADE_OLD_AS_STANDBY)
        # Its files are away (renamed at DISABLE_ACTIVE): make sure, then it restarts non-producing.
        away = self.means.remote.set_credentials(self.active, self.state.active_paths, present=False)
        if not away.ok:
            return self._fail(f"{self.active.name}: its credentials could not be kept away: {away.detail}")
        done = self.means.upgrade(self.active)
        fa, fs = self.establish(Step.UPGRADE_OLD_AS_STANDBY.value)
        if fa.may_forge or fs is not Forging.ON:
            return self._fail(f"after the old producer's upgrade: {self.active.name} {fa}, {self.standby.name} {fs}")
        if not done.ok:
            return self._end(Ending.HANDED_OVER_OLD_NOT_UPGRADED, self.standby.name,
                             f"{self.standby.name} forges; the old producer {self.active.name} is idle, not "
                             f"upgraded: {done.detail}")  # fmt: skip
        return self._end(Ending.HANDED_OVER, self.standby.name,
                         f"{self.standby.name} forges; {self.active.name} is the idle standby ({done.detail})")  # fmt: skip

    # ------------------------------------------------------------------ any doubt
    def _recover(self) -> Step:
        """Exactly one forger, the preferred host where possible: the other is disabled and proven
        stopped first (never both), then the preferred one enabled (if it is not forging) and proven
        forging. If the preferred one cannot be, and it is proven not to forge, the other is enabled."""
        preferred = self.active if self.state.preferred == self.active.name else self.standby
        other = self._other(preferred.name)
        why = self.failure or "resumed mid-way"
        self._enter(Step.RECOVER, why)
        other_stop = self._stop_host(other)
        if other_stop is not None:
            forger = preferred.name if self._look(preferred) is Forging.ON else None
            return self._end(Ending.UNPROVEN, forger,
                             f"{why}; {other.name} could not be proven stopped ({other_stop}), so {preferred.name} was "
                             f"not enabled ({'it forges' if forger else 'it is not proven forging'}): "
                             "CHECK BOTH PRODUCERS NOW")  # fmt: skip
        on = self._start_host(preferred)
        if on is None:
            return self._end(Ending.STOPPED, preferred.name, f"{why}; {preferred.name} forges, {other.name} does not")
        # The preferred host cannot be proven forging: the other only if the preferred one is proven stopped.
        if self._stop_host(preferred) is None and self._start_host(other) is None:
            return self._end(Ending.STOPPED_ON_OTHER, other.name,
                             f"{why}; {preferred.name} could not forge ({on}); {other.name} forges instead")  # fmt: skip
        return self._end(Ending.UNPROVEN, None,
                         f"{why}; {preferred.name} could not be proven forging ({on}) and {other.name} could not take "
                         "over: NO PRODUCER IS PROVEN FORGING, act now")  # fmt: skip

    def _stop_host(self, host: Host) -> str | None:
        """Disable `host` and prove it stopped; None when proven, else why not. A host seen idle only
        has its files renamed away; so has an unreachable standby no enabling SIGHUP of ours can have
        reached (it was proven idle and its files were away when it last restarted): its node cannot
        have started forging. Anything else gets its files away, a SIGHUP, and the proof."""
        seen = self._look(host)
        untouched = host is self.standby and host.name not in self._hupped_on
        if seen is Forging.OFF or (seen is Forging.UNKNOWN and untouched):
            put = self.means.remote.set_credentials(host, self._paths(host), present=False)
            if not put.ok:
                self._warnings.append(f"{host.name}'s credential files may still be present ({put.detail}): rename "
                                      "them away before its node restarts or gets a SIGHUP")  # fmt: skip
            return None
        done = self._hup(host, present=False)
        if not done.ok:
            return done.detail
        got = self._prove_alone(host, stop=True)
        return None if got is True else (got if isinstance(got, str) else "no proof within the timeout")

    def _start_host(self, host: Host) -> str | None:
        """Enable `host` (files back; SIGHUP unless already proven forging) and prove it forges."""
        if self._look(host) is Forging.ON:
            put = self.means.remote.set_credentials(host, self._paths(host), present=True)
            return None if put.ok else put.detail
        done = self._hup(host, present=True)
        if not done.ok:
            return done.detail
        got = self._prove_alone(host, stop=False)
        return None if got is True else (got if isinstance(got, str) else "no proof within the timeout")

    def _look(self, host: Host) -> Forging:
        """Two fresh samples of `host`, quiet_seconds apart: its forging now (not judged against an
        older sample, which may predate our last SIGHUP)."""
        self._forget(host)
        self._sample(host)
        self.means.sleep(self.policy.quiet_seconds)
        return self._sample(host)[1]

    def _prove_alone(self, host: Host, stop: bool) -> str | bool | None:
        """A proof during the recovery: no invariant check (the recovery itself orders the two hosts,
        the other one proven stopped before this one is enabled)."""
        timeout = self.policy.stop_timeout if stop else self.policy.forging_timeout
        judge = self._judge(host, stop, self._baseline(host))

        def attempt() -> str | bool | None:
            self._sample(host)
            return judge()

        return self._poll(attempt, timeout)

