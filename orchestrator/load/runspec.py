"""Playbook + inventory → RunSpec: what the planner and the rollout engine need, decided before any SSH.

The playbook says *which* built-in actions run, on which hosts, in which batches; this module
renders each step's arguments per host (with the documented variable precedence) and lets the
step's action (orchestrator/actions/) parse them into a typed operation: each host gets its
program. Run-wide rules live here (the release pinned by sha256 unless allowed, and catalogued; the
batches of each stage) or, where they are a step's own, in its action (Operation.check_run: one
release per run, a hook's delegate_to an inventory host). Anything wrong is a PlaybookError naming
the step's file and line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from orchestrator.actions.base import Action, ArgError, RunDraft, RunRuleError
from orchestrator.actions.registry import ACTIONS
from orchestrator.cardano.targets import UnknownRelease, known_versions, provisional_note, require_known
from orchestrator.load.inventory import did_you_mean, limited
from orchestrator.load.playbook import PlaybookError, render_step, serial_batches, step_vars
from orchestrator.model import ROLE_GROUPS, Host, Inventory, Playbook, ReleasePin, Role, Stage, Step
from orchestrator.patterns.host_patterns import HostPatternError
from orchestrator.plan import PlannedStep
from orchestrator.spec.gate import GatePolicy


@dataclass(frozen=True)
class RolloutStage:
    name: str
    batches: tuple[tuple[str, ...], ...]
    max_fail_percentage: float
    min_healthy_relays: int
    has_producers: bool
    min_healthy: tuple[tuple[str, int, tuple[str, ...]], ...] = ()  # (group, count, every member of the inventory)


@dataclass(frozen=True)
class RunSpec:
    release: ReleasePin | None  # what stage_release pins (one run installs one release)
    hosts: tuple[Host, ...]  # every host some stage acts on, in inventory order
    programs: Mapping[str, tuple[PlannedStep, ...]]  # host → its actions, typed, in playbook order
    gate: GatePolicy  # the gate of hosts outside any program (pre-batch health checks, resume)
    stages: tuple[RolloutStage, ...]
    warnings: tuple[str, ...] = ()

    @property
    def batches(self) -> tuple[tuple[str, ...], ...]:
        return tuple(b for s in self.stages for b in s.batches)


def _stage_hosts(stage: Stage, inventory: Inventory, limited: tuple[Host, ...], playbook: Playbook) -> list[Host]:
    try:
        chosen = {h.name for h in inventory.select(stage.hosts)}
    except HostPatternError as exc:
        raise PlaybookError(playbook.source, 0, 0, f"stage {stage.name!r}: hosts: {exc}") from None
    chosen &= {h.name for h in limited}
    return [h for h in inventory.hosts if h.name in chosen]


def _bind(step: Step, variables: dict[str, Any], actions: Mapping[str, Action]) -> PlannedStep:
    """Render one step for one host and parse it into its action's typed operation."""
    action = actions[step.action]
    if action.prepare_vars is not None:
        action.prepare_vars(variables)
    rendered = render_step(step, variables)
    try:
        operation = action.parse(rendered.args)
    except ArgError as exc:
        raise PlaybookError(step.path, step.line, step.column, f"{step.action}: {exc}") from None
    return PlannedStep(action.slot, operation, step.source)


def compile_run(
    playbook: Playbook,
    inventory: Inventory,
    *,
    limit: str | None = None,
    extra_vars: Mapping[str, Any] | None = None,
    allow_unpinned: bool = False,
    actions: Mapping[str, Action] = ACTIONS,
) -> RunSpec:
    """Render every step for every host it applies to, as each host's program of typed operations."""
    release_step: Step | None = None
    programs: dict[str, list[PlannedStep]] = {}
    gate: GatePolicy | None = None
    stages: list[RolloutStage] = []
    # a deprecated setting's name is read as its new one, and said at every run and plan
    warnings: list[str] = [*(w for w in inventory.warnings if " is deprecated: it is now " in w), *playbook.warnings]
    run = RunDraft(frozenset(h.name for h in (*inventory.hosts, *inventory.helpers)))
    in_limit = limited(inventory, limit)  # a --limit that keeps no host is an error, as in every command
    for stage in playbook.stages:
        hosts = _stage_hosts(stage, inventory, in_limit, playbook)
        for role in stage.roles:
            for step in role.steps:
                for host in hosts:
                    planned = _bind(step, step_vars(playbook, stage, role, host, extra_vars), actions)
                    programs.setdefault(host.name, []).append(planned)
                    op = planned.operation
                    try:  # run-wide rules are the action's own (Operation.check_run)
                        op.check_run(run, host)
                    except RunRuleError as exc:
                        raise PlaybookError(step.path, step.line, step.column, str(exc)) from None
                    if run.release is not None and release_step is None:
                        release_step = step  # the step that pinned it: the release's errors point at it
                    gate = gate or op.gate_policy()  # the run's gate: its first sync_gate step's
        if stage.parallel:
            continue  # staging only: it runs on every host at once before the first batch
        batches = tuple(tuple(h.name for h in b) for b in serial_batches(hosts, stage.serial))
        floors = []
        for floor in stage.min_healthy:
            members = tuple(h.name for h in inventory.select(floor.group))
            if floor.group not in inventory.groups and floor.group not in ROLE_GROUPS:
                hint = did_you_mean(floor.group, sorted(inventory.groups))
                raise PlaybookError(*floor.loc, f"min_healthy: no group '{floor.group}' in the inventory"
                                    + (f" — did you mean '{hint}'?" if hint else ""))  # fmt: skip
            floors.append((floor.group, floor.count, members))
        stages.append(RolloutStage(stage.name, batches, stage.max_fail_percentage, stage.min_healthy_relays,
                                   any(h.role is Role.BLOCK_PRODUCER for h in hosts), tuple(floors)))  # fmt: skip
    release = run.release
    if release is not None:
        assert release_step is not None
        try:  # a release the catalogue does not know is never guessed at
            require_known(release.version)
        except UnknownRelease:
            raise PlaybookError(release_step.path, release_step.line, release_step.column,
                                f"node_release.version {release.version} is not a release this tool knows "
                                f"(known: {', '.join(known_versions())})") from None  # fmt: skip
        note = provisional_note(release.version)
        if note is not None:
            warnings.append(note)
    if release is not None and release.sha256 is None:
        if not allow_unpinned:
            assert release_step is not None
            raise PlaybookError(
                release_step.path, release_step.line, release_step.column,
                f"release {release.version} has no pinned sha256: set node_release.sha256 in the inventory to the "
                "digest you verified (or pass --allow-unpinned-release to accept an unverified download)",
            )  # fmt: skip
        warnings.append(f"WARNING: release {release.version} is NOT pinned by sha256: the download is not verified")
    return RunSpec(
        release=release,
        hosts=tuple(h for h in inventory.hosts if h.name in programs),
        programs=MappingProxyType({name: tuple(p) for name, p in programs.items()}),
        gate=gate or GatePolicy(),
        stages=tuple(stages),
        warnings=tuple(warnings),
    )
