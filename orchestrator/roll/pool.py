"""upgrade-node's handover mode: a pool whose producer has a standby (`standby_for`) is upgraded with
no forging gap beyond the handover's own (issue 27).

Without it the producer restarts like any host, down for its whole restart. With it (roll/engine.py
calls `Pool.upgrade` for both hosts of the pool): the host that forges now is found from two samples
of each (`forgers`); the idle one is upgraded with the normal one-host procedure (roll/host_run.py,
its gate in full) with its credential files renamed away, so it restarts non-producing; the
`Handover` state machine (roll/handover.py) moves forging to it in a gap between leader slots with
all its proofs; then the old forger is upgraded the same way, as the new standby. A pool whose forger
is already on the target has nothing to hand over: only its idle host is upgraded (files away).

A standby is never restarted with its credential files in place (27a's risk: a standby started
without the non-producing flag would forge beside the producer after its restart): before any
restart of an idle producer its files are renamed away by the node's own mechanism (the paths its
command line names, `rename(2)`, never an open: roll/handover_remote.py); an idle host that is seen
forging is refused, with the reason.

The mode needs the release rule of the handover command (`release_problem`: the release the standby
runs when it takes over, the target, and the forger's release that gets the disabling SIGHUP, from
10.5.1); otherwise, or with `run --no-handover`, producers restart as before (the standby still with
its files away). `run --resume` of a run killed inside a pool's handover calls `Handover.resume()`
(`resume_pools`), after the hosts' own procedures were finished or rolled back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from orchestrator.cardano.forging import Forging, classify, credentials
from orchestrator.model import Host, HostStatus, Phase
from orchestrator.roll.events import Event
from orchestrator.roll.handover import (
    Ending,
    Handover,
    HandoverPolicy,
    HandoverRemote,
    HandoverResult,
    HandoverState,
    Means,
    release_problem,
)
from orchestrator.roll.handover_events import HandoverStepped
from orchestrator.roll.host_run import HostOutcome, Record
from orchestrator.roll.remote import Done
from orchestrator.spec.window import LeaderGuard

__all__ = ["Pool", "PoolSettings", "forgers", "keep_idle", "pool_members", "resume_pools", "unfinished_pools"]


@dataclass(frozen=True)
class PoolSettings:
    """How a run treats pools with a standby. `remote`: the handover's operations on hosts (None: the
    run cannot rename credentials, so a standby is refused rather than restarted); `handover` False:
    `run --no-handover`, producers restart as before."""

    remote: HandoverRemote | None
    handover: bool = True
    policy: HandoverPolicy = field(default_factory=HandoverPolicy)


def pool_members(host: Host, hosts: Mapping[str, Host]) -> tuple[Host, Host] | None:
    """(producer, standby) of the pool `host` belongs to, or None: a relay, a passive node, or a
    producer without a standby in the inventory."""
    if host.is_standby:
        bp = hosts.get(host.standby_for or "")
        return (bp, host) if bp is not None else None
    if not host.is_producer:
        return None
    standby = next((h for h in hosts.values() if h.standby_for == host.name), None)
    return (host, standby) if standby is not None else None


def forgers(remote: HandoverRemote, hosts: Sequence[Host], quiet_seconds: float,
            sleep: Callable[[float], None]) -> dict[str, Forging]:  # fmt: skip
    """Each host's forging from two samples `quiet_seconds` apart (roll/handover.py classify)."""
    first = {h.name: remote.sample(h) for h in hosts}
    sleep(quiet_seconds)
    return {h.name: classify(first[h.name], remote.sample(h)) for h in hosts}


def keep_idle(remote: HandoverRemote, host: Host) -> str | None:
    """Before an idle producer restarts: its credential files renamed away (the paths its running
    node's command line names; never opened), so it restarts non-producing whatever its flags. None:
    done (or nothing to rename: started non-producing without credential flags); else why it must not
    be restarted."""
    argv = remote.command_line(host)
    if isinstance(argv, str):
        return f"its command line could not be read ({argv}), so its credential files cannot be kept away"
    creds = credentials(argv)
    if not creds.paths and creds.kes_agent is None and creds.non_producing:
        return None  # no credentials named at all: it cannot forge after a restart
    if creds.error is not None:
        return creds.error
    put = remote.set_credentials(host, creds.paths, present=False)
    return None if put.ok else f"its credential files could not be renamed away: {put.detail}"


# One member's upgrade (the engine's HostRun on its plan, re-checked; no leader wait: it does not
# forge when it restarts): Done(ok, the outcome's detail).
Upgrade = Callable[[Host], Done]


class Pool:
    """One pool's turn in a run: both hosts end with exactly one forger. The engine gives it the
    members' plans (`changed`: the plan still has something to do on it), their outcomes, the
    upgrade of one member, the normal upgrade of a producer (`restart`: as without a standby), the
    journal (`record`, never interrupted) and time."""

    def __init__(self, producer: Host, standby: Host, settings: PoolSettings, *, changed: Mapping[str, bool],
                 versions: Mapping[str, tuple[str | None, str | None]], outcomes: Mapping[str, HostOutcome],
                 upgrade: Upgrade, restart: Callable[[Host], bool], record: Record,
                 guard: LeaderGuard | None, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, wall: Callable[[], float] = time.time,
                 stop: Callable[[], str | None] = lambda: None) -> None:  # fmt: skip
        """`versions`: name → (current, target) release of each member in the plan."""
        self.producer, self.standby = producer, standby
        self.settings = settings
        self.changed, self.versions, self.outcomes = changed, versions, outcomes
        self.upgrade_one, self.restart = upgrade, restart
        self.record, self.guard = record, guard
        self.clock, self.sleep, self.wall, self.stop = clock, sleep, wall, stop
        self.handover: HandoverResult | None = None

    def _refuse(self, host: Host, why: str, status: HostStatus = HostStatus.REFUSED) -> bool:
        out = self.outcomes[host.name]
        out.status, out.detail = status, why
        self.record(host.name, Phase.LEFT_UNTOUCHED, reason=why)
        return False

    def _idle_upgrade(self, host: Host) -> bool:
        """An idle producer's upgrade: files away first (`keep_idle`), then its own procedure."""
        remote = self.settings.remote
        if remote is None:
            return self._refuse(host, f"refused: {host.name} is a standby producer and this run cannot rename its "
                                      "credential files away before its restart; nothing was changed")  # fmt: skip
        why = keep_idle(remote, host)
        if why is not None:
            return self._refuse(host, f"refused: {host.name} is not restarted: {why}; nothing was changed")
        return self.upgrade_one(host).ok

    def alone(self, host: Host) -> bool:
        """One member in the run's scope (--limit), the other not: a forger restarts as without a
        standby, an idle one with its files away; one that cannot be seen is refused."""
        remote = self.settings.remote
        if remote is None:
            return self._idle_upgrade(host) if host.is_standby else self.restart(host)
        seen = forgers(remote, (host,), self.settings.policy.quiet_seconds, self.sleep)[host.name]
        if seen is Forging.UNKNOWN:
            return self._refuse(host, f"refused: {host.name}'s forging could not be read, so it is not restarted "
                                      "(a restart could make it forge beside its pool's other producer)",
                                HostStatus.FAILED)  # fmt: skip
        return self.restart(host) if seen.may_forge else self._idle_upgrade(host)

    def upgrade(self) -> dict[str, bool]:
        """Both members' turn: name → not a failed upgrade (as the engine counts it)."""
        bp, sb = self.producer, self.standby
        result = {bp.name: True, sb.name: True}
        remote = self.settings.remote
        if remote is None:  # as without a standby, and the standby refused
            for h in (sb, bp):
                if self.changed.get(h.name):
                    result[h.name] = self._idle_upgrade(h) if h is sb else self.restart(h)
            return result
        seen = forgers(remote, (bp, sb), self.settings.policy.quiet_seconds, self.sleep)
        on = [h for h in (bp, sb) if seen[h.name] is Forging.ON]
        maybe = [h for h in (bp, sb) if seen[h.name].may_forge]
        if len(on) != 1 or len(maybe) != 1:
            why = (f"refused: the pool's forging is not on exactly one producer ({bp.name} {seen[bp.name]}, "
                   f"{sb.name} {seen[sb.name]}): nothing was changed; check both producers")  # fmt: skip
            for h in (bp, sb):
                if self.changed.get(h.name):
                    result[h.name] = self._refuse(h, why, HostStatus.FAILED)
            return result
        forger = on[0]
        idle = sb if forger is bp else bp
        current, target = self.versions.get(forger.name, (None, None))
        no_handover = (None if self.changed.get(forger.name) else "the forger is already as wanted") or (
            None if self.settings.handover else "run --no-handover") or (
            release_problem(idle.name, target) or release_problem(forger.name, current))
        if no_handover is None:
            return self._hand_over(forger, idle, remote, result)
        # as without a standby: the idle one upgraded with its files away, the forger restarted
        if self.changed.get(idle.name):
            result[idle.name] = self._idle_upgrade(idle)
        if self.changed.get(forger.name):
            result[forger.name] = self.restart(forger)
            out = self.outcomes[forger.name]
            out.detail = f"{out.detail}; no handover: {no_handover}".lstrip("; ")
        return result

    def _hand_over(self, forger: Host, idle: Host, remote: HandoverRemote, result: dict[str, bool]) -> dict[str, bool]:
        def upgrade(h: Host) -> Done:
            return self.upgrade_one(h) if self.changed.get(h.name) else Done(True, "already on the target")

        means = Means(remote, self.record, upgrade, self.clock, self.sleep, self.wall, self.stop)
        machine = Handover(forger, idle, means, self.guard, self.settings.policy)
        res = machine.run()
        self.handover = res
        describe_handover(res, self.outcomes, forger.name, idle.name)
        ok = (HostStatus.UPGRADED, HostStatus.UNCHANGED, HostStatus.SKIPPED)
        left = (HostStatus.DEFERRED, HostStatus.REFUSED, HostStatus.UNTOUCHED)
        for h in (forger, idle):
            status = self.outcomes[h.name].status
            result[h.name] = status in ok or (status in left and res.ending is Ending.REFUSED)
        return result


def describe_handover(res: HandoverResult, outcomes: Mapping[str, HostOutcome], forger: str, idle: str) -> None:
    """Each member's outcome after the handover, in the report's words: who forges, and why a
    member was not upgraded (the old forger is upgraded only once the standby is proven forging)."""
    f, i = outcomes[forger], outcomes[idle]
    said = f"handover {res.ending}: " + (f"{res.forger} forges" if res.forger else "NO PRODUCER IS PROVEN FORGING")
    gap = f" (forging gap {res.gap_seconds} s)" if res.gap_seconds is not None else ""
    if res.ending is Ending.HANDED_OVER:
        f.detail = f"{f.detail}; {said}{gap}; {forger} is the upgraded standby".lstrip("; ")
        i.detail = f"{i.detail}; {said}{gap}".lstrip("; ")
        return
    if res.ending is Ending.HANDED_OVER_OLD_NOT_UPGRADED:
        f.detail = f"{f.detail}; {said}{gap}; {forger} is the idle standby, NOT upgraded".lstrip("; ")
        i.detail = f"{i.detail}; {said}{gap}".lstrip("; ")
        return
    # not handed over: the old forger was not touched (or forges again after the recovery)
    status = HostStatus.REFUSED if res.ending is Ending.REFUSED else HostStatus.FAILED
    f.status, f.detail = status, f"not upgraded: {said}; {res.detail}"
    if i.status is HostStatus.UNTOUCHED:
        i.status, i.detail = status, f"not upgraded: {said}; {res.detail}"
    else:
        i.detail = f"{i.detail}; {said}".lstrip("; ")


def unfinished_pools(events: Sequence[Event]) -> dict[str, str]:
    """Each pool handover the journal leaves without its end: original producer → standby."""
    open_: dict[str, str] = {}
    for e in events:
        if e.phase is Phase.HANDOVER_STEP:
            open_[e.host] = HandoverStepped.of(e).standby
        elif e.phase is Phase.HANDOVER_ENDED:
            open_.pop(e.host, None)
    return open_


def resumed_upgrade(events: Sequence[Event], verdicts: Mapping[str, tuple[Phase, str | None]]) -> Upgrade:
    """A resumed handover's `upgrade`: what the killed run (and the resume just before) made of the
    host's own procedure — never a new upgrade (the run that follows plans again and upgrades what is
    left). Done: its procedure ended with `done` (before the kill, or finished by the resume)."""
    from orchestrator.roll.resume import Resumed

    def upgrade(host: Host) -> Done:
        verdict = verdicts.get(host.name, (None, None))[1]
        if verdict is not None:
            ok = verdict.startswith(Resumed.COMPLETED.value)
            return Done(ok, f"finished by the resume: {verdict}")
        done = any(e.host == host.name and e.phase is Phase.DONE for e in events)
        return Done(True, "upgraded before the kill") if done else Done(
            False, "not upgraded before the kill: the run that follows plans it again")

    return upgrade


def resume_pools(events: Sequence[Event], hosts: Mapping[str, Host], remote: HandoverRemote, record: Record,
                 upgrade: Upgrade, guard_of: Callable[[Host], LeaderGuard | None],
                 policy: HandoverPolicy | None = None, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time) -> dict[str, HandoverResult | str]:  # fmt: skip
    """`run --resume`: each pool handover the killed run left unfinished, taken up by
    `Handover.resume()` (fresh samples of both hosts first, then on or recover). Original producer →
    its result, or why it could not be taken up (a host no longer in the inventory)."""
    out: dict[str, HandoverResult | str] = {}
    for original, standby in unfinished_pools(events).items():
        a, s = hosts.get(original), hosts.get(standby)
        if a is None or s is None:
            out[original] = f"the handover {original} → {standby} names a host not in the inventory: left as it is"
            continue
        state = HandoverState.from_journal(list(events), original)
        means = Means(remote, record, upgrade, clock, sleep, wall)
        out[original] = Handover(a, s, means, guard_of(a), policy, state=state, resumed=True).resume()
    return out
