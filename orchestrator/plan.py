"""Pure: (inventory, playbook settings, facts) → Plan. No I/O, so `plan` and `--check` are safe.

Every host gets a HostPlan: which files change (with unified diffs), whether the binary switches,
and whether the node restarts, reloads (SIGHUP: topology only, P2P already on), or is left alone —
an empty plan always says why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from orchestrator.actions import convert_snapshot
from orchestrator.actions.base import (
    FileChange,
    HostDraft,
    HostPlanError,
    Operation,
    PlanContext,
    Slot,
)
from orchestrator.actions.convert_snapshot import LedgerConversion
from orchestrator.actions.convert_topology import ConvertTopology, own_peers
from orchestrator.actions.install_peer_snapshot import InstallPeerSnapshot
from orchestrator.actions.install_release import InstallRelease
from orchestrator.actions.migrate_config import MigrateConfig
from orchestrator.actions.restart_node import RestartNode, p2p_enabled
from orchestrator.actions.stage_release import StageRelease
from orchestrator.actions.sync_gate import SyncGate
from orchestrator.cardano.crossing import Crossing, cross
from orchestrator.cardano.diffs import FileDiff
from orchestrator.cardano.errors import FileFormatError
from orchestrator.cardano.releases import LedgerCrossing
from orchestrator.cardano.targets import Standing, standing
from orchestrator.facts.clock import skew_refusal
from orchestrator.facts.model import HostFacts
from orchestrator.model import Hook, Host, Inventory, PassiveTopology, PlanAction, ReleasePin
from orchestrator.spec.gate import TIMEOUT_FLOOR_SECONDS, GatePolicy
from orchestrator.spec.handover import PLANNED_STEPS, HandoverPolicy, On
from orchestrator.spec.window import LeaderGuard

__all__ = ["FileChange", "HostPlan", "Plan", "PlannedHandover", "PlannedStep", "ReleasePin", "default_program",
           "make_plan", "host_crossing", "live_state", "own_peers", "plan_handovers", "plan_host"]  # fmt: skip


@dataclass(frozen=True)
class PlannedStep:
    """One action of a host's program: its slot and its operation with typed arguments."""

    slot: Slot
    operation: Operation
    source: str = ""  # the step's file:line:col, for messages


@dataclass(frozen=True)
class HostPlan:
    host: Host
    current_version: str | None
    target_version: str | None  # None: no binary change wanted (enable-p2p)
    stage_release: bool  # the release directory is missing on the host
    switch_binary: bool
    files: tuple[FileChange, ...]
    unchanged: tuple[FileDiff, ...]  # files that need nothing, each with its reason
    action: PlanAction
    reasons: tuple[str, ...]  # why it changes, or why not
    error: str | None = None  # the host cannot be planned (unreachable, unusable files)
    batch: int = 0
    gate: GatePolicy | None = None  # how the host is judged after its change (sync_gate)
    last_start_seconds: float | None = None  # its newest complete start (own log); None: unknown
    leader: LeaderGuard | None = None  # a block producer's restart guard: leader schedule, KES
    drain: Hook | None = None  # run before anything on the host is touched
    return_hook: Hook | None = None  # run after its gate passed, or after its rollback is back in sync
    clock_skew: float | None = None  # seconds its clock is ahead of the control machine's (facts/clock.py)
    live_state: str | None = None  # why it is not steady ("stopped", "failed", "starting", "locked by RUN"); see live_state()
    # What the binary switch costs (cardano/crossing.py): hops, replay, downtime, disk; None: no switch
    crossing: Crossing | None = None

    @property
    def refusal(self) -> str | None:
        """Why the run will refuse this host's restart though files change (a producer whose KES is at or
        below `kes_refuse_restart_periods`: a restart does not renew it); None when the run would go ahead. The
        plan shows such a host as refused with this reason, never as a plain `restart`."""
        if not self.changed or self.action != PlanAction.RESTART or self.leader is None:
            return None
        kes = self.leader.kes
        return f"refused: {kes.reason}" if kes.verdict == "expiring" else None
    # The node's P2P mode as its config says under the release it runs before and after the change
    # (the gate's peer checks and a rollback's gate read these, not a constant).
    p2p_before: bool = False
    p2p_after: bool = True

    @property
    def expected_downtime(self) -> float | None:
        """Seconds the node will not serve: a restart costs what its last start took (None when
        unknown), one that replays its ledger what the crossing estimates (cardano/crossing.py: the
        upper end of the reported range; None when no source reports one); a reload (SIGHUP) or no
        action costs nothing."""
        if not self.changed or self.action != PlanAction.RESTART:
            return 0.0
        if self.replays:
            assert self.crossing is not None
            return self.crossing.downtime.seconds
        return self.last_start_seconds

    @property
    def replays(self) -> bool:
        """The restart replays the ledger from genesis (a converted snapshot is a normal start)."""
        return self.crossing is not None and self.crossing.replays

    @property
    def converts(self) -> bool:
        """The run converts the kept Legacy snapshot with the target's snapshot-converter before the
        restart (actions/convert_snapshot.py; roll/host_run.py CONVERT)."""
        return self.crossing is not None and self.crossing.converts

    @property
    def backs_up_ledger(self) -> bool:
        """The switch crosses a ledger-snapshot boundary (the old release cannot read the new
        snapshots: cardano/crossing.py), so the run keeps db/ledger as it was before the restart and
        a rollback puts it back: the old node then starts from its own snapshot, not from genesis."""
        return self.crossing is not None and self.crossing.ledger not in (None, LedgerCrossing.NONE)

    @property
    def start_seconds(self) -> float | None:
        """What the gate's automatic cap is measured from (gates.overall_timeout_for): the crossing's
        replay estimate when the restart replays, else the host's last measured start. A replay of
        hours must not be cut by a cap sized for a start of minutes."""
        if self.crossing is None:
            return self.last_start_seconds
        return self.crossing.start_seconds(self.last_start_seconds)

    @property
    def changed(self) -> bool:
        return self.error is None and (self.switch_binary or bool(self.files) or self.stage_release)


@dataclass(frozen=True)
class PlannedHandover:
    """A pool's producer restart done as a handover to its standby (issue 27; roll/handover.py runs
    it): the steps in order as (step, host, what it does), and the forging gap. The gap is placed
    between two leader slots (CHOOSE_GAP), so a handover that goes well misses no leader slot:
    `expected_missed_leader_slots` 0 — None without a leader schedule, when the gap may fall on one.
    `gap_budget_seconds` is the longest the pool may be without a forger (HandoverPolicy.gap_budget:
    both proofs' timeouts and two SIGHUPs), what the gap between leader slots must hold. `notes`:
    what the plan knows against it (the standby left out of the plan, not steady, its release)."""

    producer: str
    standby: str
    steps: tuple[tuple[str, str, str], ...]
    gap_budget_seconds: float
    expected_missed_leader_slots: int | None
    schedule: str | None  # where the producer's leader schedule comes from; None: not configured
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    hosts: tuple[HostPlan, ...]
    release: ReleasePin | None
    batches: tuple[tuple[str, ...], ...] = ()
    notes: tuple[str, ...] = field(default=())
    handovers: tuple[PlannedHandover, ...] = ()  # pools whose producer restarts with a standby to take over

    @property
    def pending(self) -> tuple[HostPlan, ...]:
        return tuple(h for h in self.hosts if h.changed)

    @property
    def errors(self) -> tuple[HostPlan, ...]:
        return tuple(h for h in self.hosts if h.error)

    @property
    def unsteady(self) -> tuple[HostPlan, ...]:
        """Hosts whose node is stopped, failed, starting, … or locked by another run: a run refuses."""
        return tuple(h for h in self.hosts if h.live_state is not None)

    def host(self, name: str) -> HostPlan:
        return next(h for h in self.hosts if h.host.name == name)

    @property
    def estimated(self) -> bool:
        """Some pending host's downtime is a replay estimate, not its own measured start."""
        return any(h.replays for h in self.pending)

    @property
    def expected_duration(self) -> float | None:
        """Expected seconds of node restarts in the rollout: each batch waits for its slowest host,
        batches run one after another (block producers' come last). None when any restarting
        host's last start is unknown: an unknown is never shown as a figure."""
        total = 0.0
        for batch in self.batches:
            waits = [self.host(n).expected_downtime for n in batch if any(h.host.name == n for h in self.hosts)]
            if any(w is None for w in waits):
                return None
            total += max((w for w in waits if w is not None), default=0.0)
        return total


_FORMS = tuple(m.value for m in PassiveTopology)


def default_program(release: ReleasePin | None, host: Host | None = None) -> tuple[PlannedStep, ...]:
    """The upgrade's program with every setting at its default (enable-p2p's without a release):
    what `audit` compares a host against. A passive node's form is the inventory's `passive_topology`."""
    steps: list[PlannedStep] = []
    if release is not None:
        steps += [PlannedStep(Slot.RELEASE, StageRelease(release)), PlannedStep(Slot.BINARY, InstallRelease(release.version))]
    form = host.vars.get("passive_topology") if host is not None else None
    topology = ConvertTopology(passive_topology=PassiveTopology(form)) if form in _FORMS else ConvertTopology()
    steps += [PlannedStep(Slot.FILES, MigrateConfig()), PlannedStep(Slot.FILES, topology),
              PlannedStep(Slot.FILES, InstallPeerSnapshot()),
              PlannedStep(Slot.APPLY, RestartNode()), PlannedStep(Slot.GATE, SyncGate(GatePolicy()))]  # fmt: skip
    return tuple(steps)


def _refused(host: Host, facts: HostFacts, target: str | None, error: str, live: str | None = None,
             crossing: Crossing | None = None) -> HostPlan:  # fmt: skip
    return HostPlan(host, facts.node_version if facts.reachable else None, target, False, False, (), (),
                    PlanAction.NONE, (), error=error, live_state=live, crossing=crossing)  # fmt: skip


def _replay_cap_note(crossing: Crossing | None, gate: GatePolicy) -> str | None:
    """A line when the restart replays for a time no source reports and the gate's cap is automatic:
    the cap then falls back to its floor, which a replay may outlast (the gate would roll it back)."""
    if crossing is None or not crossing.replays or crossing.downtime.seconds is not None:
        return None
    if gate.overall_timeout is not None:
        return None
    return (f"the gate's automatic cap is its floor ({TIMEOUT_FLOOR_SECONDS / 3600:g} h) and this replay's time "
            f"is unknown ({crossing.downtime.basis}): set sync_timeout_seconds to the replay you expect")


def host_crossing(host: Host, facts: HostFacts, target: str, config_text: str | None = None) -> tuple[Crossing, str | None]:
    """What switching this host's binary to `target` costs, from its facts (cardano/crossing.py), and
    why it is not converted where the catalogue allows a conversion (None: converted, or no such hop).
    A run converts by default (`ledger_conversion`, actions/convert_snapshot.py); config_text: the
    config the target node will read (its LedgerDB backend picks the converter's output)."""

    def crossing(converts: bool) -> Crossing:
        return cross(facts.node_version, target, network=host.network, last_start_seconds=facts.last_start_seconds,
                     free_bytes=facts.disk_free_bytes, ledger_bytes=facts.ledger_bytes, converts=converts)  # fmt: skip

    plain = crossing(False)
    if plain.converter is None or plain.replay is None:
        return plain, None
    if convert_snapshot.chosen(host.vars) is LedgerConversion.REPLAY:
        return plain, f"ledger: not converted (ledger_conversion: replay): {host.name} replays from genesis"
    why = convert_snapshot.unconvertible(plain.converter, config_text)
    if why is not None:
        return plain, f"ledger: not converted: {why}; the node replays from genesis"
    return crossing(True), None


# systemd's ActiveState words (systemctl(1), org.freedesktop.systemd1(5)) for a node that is not
# steadily running, as the plan names them. "unknown" (no unit, no systemd) is not judged.
_NOT_STEADY = {"inactive": "stopped", "failed": "failed", "activating": "starting",
               "deactivating": "stopping", "reloading": "reloading"}  # fmt: skip


def live_state(host: Host, facts: HostFacts) -> tuple[str, str] | None:
    """(state, why) when the host is not steady enough to plan: its node stopped, failed, starting,
    stopping or reloading (the facts' `systemctl show` ActiveState), or its run lock held by another run.
    A plan never calls such a host "nothing to do", and a run refuses to start while one is in scope: a
    rolling upgrade assumes every node it does not touch is serving, and restarting a node someone
    stopped on purpose (or one another run is changing) would be a surprise. None: steady."""
    holder = facts.run_lock
    if holder:
        return (f"locked by {holder}", f"locked by run {holder}: another run is changing this host (or was killed "
                f"while it did); let it finish, or resume it (run --resume {holder})")  # fmt: skip
    active = facts.service_active
    state = _NOT_STEADY.get(active) if active is not None else None
    if state is None:
        return None
    unit = host.layout.service_name
    hint = {"stopped": f"start it (systemctl start {unit}) if it should run, or leave it out (--limit '!{host.name}')",
            "failed": f"see why (journalctl -u {unit}), fix and start it, or leave it out (--limit '!{host.name}')",
            }.get(state, "wait until it is active, then plan again")  # fmt: skip
    return state, f"node is {state} (systemd {unit}: {active}): not planned; {hint}"


# The traffic role's settings (orchestrator/bundled/roles/traffic): an inventory that sets them expects
# its hosts drained and returned around every restart.
_HOOK_SETTINGS = (("drain", "drain_command"), ("return", "return_command"))


def _hooks_not_run(host: Host, steps: Sequence[PlannedStep]) -> list[str]:
    """A line when the inventory defines a drain/return hook for the host and its program (the
    playbook) runs none: the node would restart in rotation, which must not happen without a word."""
    ran = {p.operation.hook_kind for p in steps}
    missing = [setting for kind, setting in _HOOK_SETTINGS if kind not in ran and host.vars.get(setting)]
    if not missing:
        return []
    return [f"inventory defines {' and '.join(missing)} for this host; this playbook does not run them "
            "(no role traffic): the node restarts without being drained or returned"]  # fmt: skip


def plan_host(
    host: Host,
    inventory: Inventory,
    facts: HostFacts,
    release: ReleasePin | None,
    program: Sequence[PlannedStep] | None = None,
    *,
    judge_live: bool = True,
) -> HostPlan:
    """Ask each action of the host's program, in slot order, what it needs from these facts.

    program: the host's actions from the playbook (load/runspec.py); None: default_program(release).
    A host that cannot be planned gets a HostPlan with `error` (never an exception): one bad host
    must not stop the plan of the others. judge_live: refuse a host that is not steady (live_state).
    """
    steps = sorted(program if program is not None else default_program(release, host), key=lambda p: p.slot)
    target = release.version if release is not None and any(p.slot is Slot.BINARY for p in steps) else None
    if not facts.reachable:
        return _refused(host, facts, target, f"unreachable: {facts.error}")
    if facts.config_text is None and facts.topology_text is None and facts.error:
        # the probe itself failed (sudo refused, say): that is the reason, not "files missing"
        return _refused(host, facts, target, facts.error)
    if facts.config_text is None or facts.topology_text is None:
        missing = "config.json" if facts.config_text is None else "topology.json"
        path = host.layout.config_path if facts.config_text is None else host.layout.topology_path
        return _refused(host, facts, target, f"{path}: {missing} missing or unreadable on the host")
    unsteady = live_state(host, facts) if judge_live else None  # audit's drift rule judges files only
    if unsteady is not None:
        return _refused(host, facts, target, unsteady[1], live=unsteady[0])
    installs = next((v for p in steps if (v := p.operation.installs()) is not None), None)
    if installs is not None:  # never a silent downgrade, never a guess at a release nobody catalogued
        verdict = standing(facts.node_version, installs)
        if verdict.standing is Standing.UNKNOWN:
            return _refused(host, facts, installs, verdict.reason)
        if verdict.standing is Standing.NEWER:
            return HostPlan(host, facts.node_version, installs, False, False, (), (), PlanAction.NONE,
                            (verdict.reason,))  # fmt: skip
    ctx = PlanContext(host, inventory, facts, release)
    draft = HostDraft(facts.node_version, target)
    reading = host.layout.config_path
    try:
        for step in steps:
            reading = step.operation.reads(host) or reading
            step.operation.plan(ctx, draft)
        if draft.action is None:
            RestartNode().plan(ctx, draft)  # a change is always applied; without restart_node, as "auto" would
    except HostPlanError as e:
        return _refused(host, facts, draft.target_version, str(e))
    except FileFormatError as e:
        return _refused(host, facts, draft.target_version, str(e))
    except (TypeError, ValueError, KeyError, AttributeError, IndexError, RecursionError) as e:
        # A shape the file logic did not foresee stops this host only, never the whole plan or run.
        return _refused(host, facts, draft.target_version,
                        f"{reading}: cannot be used as it is ({type(e).__name__}: {e})")  # fmt: skip
    action = draft.action or PlanAction.NONE
    skew = facts.clock_skew
    if skew is not None and (draft.changes_files_or_binary or draft.stage_release):
        why = skew_refusal(skew, (draft.gate or GatePolicy()).max_clock_skew)
        if why is not None:  # its gate would measure every lag against the wrong slot
            return _refused(host, facts, draft.target_version, why)
    new_config = next((c.content for c in draft.files if c.path == host.layout.config_path), None)
    after_text = facts.config_text if new_config is None else new_config.decode("utf-8", "replace")
    crossing, not_converted = (host_crossing(host, facts, draft.target_version, after_text)
                               if draft.switch_binary and draft.target_version else (None, None))  # fmt: skip
    if crossing is not None:  # a crossing it cannot make, or has no room for, keeps the host unchanged
        why = crossing.refusal or crossing.disk.shortfall
        if why is not None:
            return _refused(host, facts, draft.target_version, why, crossing=crossing)
    reasons = list(draft.reasons) + ([not_converted] if not_converted else [])
    cap_note = _replay_cap_note(crossing, draft.gate or GatePolicy())
    if cap_note is not None and action is PlanAction.RESTART:
        reasons.append(cap_note)
    if program is not None and action is not PlanAction.NONE:
        reasons.extend(_hooks_not_run(host, steps))
    if action is PlanAction.NONE and not draft.changes_files_or_binary:
        reasons.append(f"nothing to do: node is {facts.node_version}, " + "; ".join(d.reason for d in draft.unchanged))
    return HostPlan(host, facts.node_version, draft.target_version, draft.stage_release, draft.switch_binary,
                    tuple(draft.files), tuple(draft.unchanged), action, tuple(reasons), gate=draft.gate,
                    leader=draft.leader, drain=draft.drain, return_hook=draft.return_hook, crossing=crossing,
                    p2p_before=p2p_enabled(facts.config_text, facts.node_version),
                    p2p_after=p2p_enabled(after_text, draft.version_after))  # fmt: skip


def make_plan(
    inventory: Inventory,
    hosts: Sequence[Host],
    facts: Mapping[str, HostFacts],
    release: ReleasePin | None,
    batches: Sequence[Sequence[str]],
    programs: Mapping[str, Sequence[PlannedStep]] | None = None,
) -> Plan:
    """Plan every selected host with its program (default_program when none is given); batch numbers
    follow the rollout order given."""
    batch_of = {name: i + 1 for i, batch in enumerate(batches) for name in batch}
    plans = []
    for host in hosts:
        program = programs.get(host.name, ()) if programs is not None else None
        hp = plan_host(host, inventory, facts[host.name], release, program)
        last, skew = facts[host.name].last_start_seconds, facts[host.name].clock_skew
        plans.append(replace(hp, batch=batch_of.get(host.name, 0), last_start_seconds=last, clock_skew=skew))
    plan = Plan(tuple(plans), release, tuple(tuple(b) for b in batches))
    return replace(plan, handovers=plan_handovers(inventory, plan))


def plan_handovers(inventory: Inventory, plan: Plan, policy: HandoverPolicy | None = None) -> tuple[PlannedHandover, ...]:
    """The handover of each pool whose producer this plan restarts and which has a standby (its
    `standby_for`): the producer keeps forging until its standby, upgraded first, takes over in a gap
    between leader slots; then the old producer is upgraded as the new standby. Computed from the
    inventory and the plan's hosts only; nothing is asked of a host."""
    budget = (policy or HandoverPolicy()).gap_budget
    planned = {hp.host.name: hp for hp in plan.hosts}
    out = []
    for hp in plan.hosts:
        if hp.host.is_standby or not hp.host.is_producer or not hp.changed or hp.action is not PlanAction.RESTART:
            continue
        standby = next((h for h in inventory.hosts if h.standby_for == hp.host.name), None)
        if standby is None:
            continue
        who = {On.BOTH: f"{hp.host.name}, {standby.name}", On.PRODUCER: hp.host.name, On.STANDBY: standby.name}
        steps = tuple((step.value, who[on], does) for step, on, does in PLANNED_STEPS)
        notes = [hp.refusal] if hp.refusal else []
        theirs = planned.get(standby.name)
        if theirs is None:
            notes.append(f"{standby.name} is not among this plan's hosts (--limit?): the handover upgrades it first")
        elif theirs.error:
            notes.append(f"{standby.name} cannot be planned: {theirs.error}")
        elif theirs.target_version != hp.target_version:
            notes.append(f"{standby.name} would run {theirs.target_version or theirs.current_version}, "
                         f"{hp.host.name} {hp.target_version}")  # fmt: skip
        guard = hp.leader
        schedule = guard.source if guard is not None and guard.configured else None
        if schedule is None:
            notes.append(f"no leader_schedule for {hp.host.name}: the gap (at most {budget:.0f} s) may fall on a "
                         "leader slot and cost a block")  # fmt: skip
        out.append(PlannedHandover(hp.host.name, standby.name, steps, budget, 0 if schedule else None, schedule,
                                   tuple(notes)))  # fmt: skip
    return tuple(out)
