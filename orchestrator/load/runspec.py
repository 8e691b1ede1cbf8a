"""Playbook + inventory → RunSpec: what the rollout engine needs, decided before any SSH.

The playbook says *which* built-in actions run, on which hosts, in which batches; this module
renders their arguments per host and turns them into plain settings (the release pin, which
files to rewrite, the gate policy, the batches of each stage). Anything wrong is a PlaybookError
naming the step's file and line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.load.playbook import PlaybookError, render_step, serial_batches, step_vars
from orchestrator.model import Host, Inventory, Playbook, Role, Stage, Step
from orchestrator.plan import ReleasePin
from orchestrator.roll.gates import STALL_SECONDS, TIMEOUT_FLOOR_SECONDS, GatePolicy


@dataclass(frozen=True)
class RolloutStage:
    name: str
    batches: tuple[tuple[str, ...], ...]
    max_fail_percentage: float
    min_healthy_relays: int
    has_producers: bool


@dataclass(frozen=True)
class RunSpec:
    release: ReleasePin | None
    hosts: tuple[Host, ...]  # every host some stage acts on, in inventory order
    switch_binary: frozenset[str]
    rewrite_config: frozenset[str]
    rewrite_topology: frozenset[str]
    gate: GatePolicy
    stages: tuple[RolloutStage, ...]
    warnings: tuple[str, ...] = ()

    @property
    def batches(self) -> tuple[tuple[str, ...], ...]:
        return tuple(b for s in self.stages for b in s.batches)


def _release_from(args: Mapping[str, Any], step: Step, allow_unpinned: bool) -> ReleasePin:
    sha = args.get("sha256")
    sha = sha.strip().lower() if isinstance(sha, str) and sha.strip() else None
    if sha is None and not allow_unpinned:
        raise PlaybookError(
            step.path, step.line, step.column,
            f"release {args.get('version')} has no pinned sha256: set node_release.sha256 in the inventory to the "
            "digest you verified (or pass --allow-unpinned-release to accept an unverified download)",
        )  # fmt: skip
    if sha is not None and (len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha)):
        raise PlaybookError(
            step.path, step.line, step.column,
            f"sha256 {sha!r} is not 64 hex digits",
        )  # fmt: skip
    source = str(args.get("source") or "download")
    if source not in ("download", "push"):
        raise PlaybookError(
            step.path, step.line, step.column,
            f"source must be download or push, not {source!r}",
        )  # fmt: skip
    return ReleasePin(str(args["version"]), str(args.get("url") or ""), sha, source)


def _stage_hosts(stage: Stage, inventory: Inventory, limit: str | None) -> list[Host]:
    chosen = {h.name for h in inventory.select(stage.hosts)}
    if limit:
        chosen &= {h.name for h in inventory.select(limit)}
    return [h for h in inventory.hosts if h.name in chosen]


def compile_run(
    playbook: Playbook,
    inventory: Inventory,
    *,
    limit: str | None = None,
    extra_vars: Mapping[str, Any] | None = None,
    allow_unpinned: bool = False,
) -> RunSpec:
    """Render every step for every host it applies to and fold them into one RunSpec."""
    release: ReleasePin | None = None
    switch: set[str] = set()
    config: set[str] = set()
    topology: set[str] = set()
    gate_args: dict[str, Any] = {}
    gate_step: Step | None = None
    stages: list[RolloutStage] = []
    involved: set[str] = set()
    warnings: list[str] = []
    for stage in playbook.stages:
        hosts = _stage_hosts(stage, inventory, limit)
        involved.update(h.name for h in hosts)
        for role in stage.roles:
            for step in role.steps:
                for host in hosts:
                    variables = step_vars(playbook, stage, role, host, extra_vars)
                    pinned = variables.get("node_release")
                    if step.action == "stage_release" and isinstance(pinned, Mapping):
                        # An inventory's node_release replaces the role default whole; the keys the
                        # inventory may leave out get their documented meaning, not "undefined variable".
                        filled = {"sha256": "", "source": "download", **pinned}  # no sha256: refused below
                        if filled != pinned:
                            variables["node_release"] = filled
                    rendered = render_step(step, variables)
                    args = dict(rendered.args)
                    if step.action == "stage_release":
                        pin = _release_from(args, step, allow_unpinned)
                        if release is not None and pin != release:
                            raise PlaybookError(step.path, step.line, step.column,
                                                f"{host.name} pins release {pin} but others pin {release}; "
                                                "one run installs one release")  # fmt: skip
                        release = pin
                    elif step.action == "install_release":
                        switch.add(host.name)
                    elif step.action == "migrate_config":
                        config.add(host.name)
                    elif step.action == "convert_topology":
                        topology.add(host.name)
                    elif step.action == "sync_gate":
                        gate_args = args
                        gate_step = step
        if stage.parallel:
            continue  # staging only: it runs on every host at once before the first batch
        batches = tuple(tuple(h.name for h in b) for b in serial_batches(hosts, stage.serial))
        stages.append(RolloutStage(stage.name, batches, stage.max_fail_percentage, stage.min_healthy_relays,
                                   any(h.role is Role.BLOCK_PRODUCER for h in hosts)))  # fmt: skip
    if release is None and switch:
        raise PlaybookError(playbook.source, 1, 1, "install_release without a stage_release step: no release to install")
    if release is not None and release.sha256 is None:
        warnings.append(f"WARNING: release {release.version} is NOT pinned by sha256: the download is not verified")

    def number(key: str, default: float, kind: type[int] | type[float]) -> Any:
        value = gate_args.get(key, default)
        try:
            result = kind(value)
            if isinstance(value, bool) or result < 0 or result != result:
                raise ValueError
        except (TypeError, ValueError, OverflowError):
            where = gate_step or Step("sync_gate", path=str(playbook.source), line=1, column=1)
            raise PlaybookError(where.path, where.line, where.column,
                                f"sync_gate: {key} must be a {'whole ' if kind is int else ''}number ≥ 0, "
                                f"not {value!r}") from None  # fmt: skip
        return result

    # "auto" (the role's default): each host's cap follows from its last measured start (roll.gates)
    auto = str(gate_args.get("timeout_seconds", "auto")).strip().lower() in ("auto", "", "none")
    timeout = None if auto else number("timeout_seconds", TIMEOUT_FLOOR_SECONDS, float)
    stall = number("stall_seconds", STALL_SECONDS, float)
    gate = GatePolicy(
        max_slot_lag=number("max_slot_lag", 20, int),
        interval=number("poll_seconds", 1.0, float),
        overall_timeout=timeout,
        stall_timeout=stall if timeout is None else min(timeout, stall),
    )
    return RunSpec(
        release=release,
        hosts=tuple(h for h in inventory.hosts if h.name in involved),
        switch_binary=frozenset(switch),
        rewrite_config=frozenset(config),
        rewrite_topology=frozenset(topology),
        gate=gate,
        stages=tuple(stages),
        warnings=tuple(warnings),
    )
