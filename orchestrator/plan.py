"""Pure: (inventory, playbook settings, facts) → Plan. No I/O, so `plan` and `--check` are safe.

Every host gets a HostPlan: which files change (with unified diffs), whether the binary switches,
and whether the node restarts, reloads (SIGHUP: topology only, P2P already on), or is left alone —
an empty plan always says why.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from orchestrator.cardano.config import TARGET_VERSION, migrate_config, render_like
from orchestrator.cardano.diffs import FileDiff, unified_diff
from orchestrator.cardano.errors import FileFormatError
from orchestrator.cardano.networks import AccessPoint, network
from orchestrator.cardano.topology import desired_topology
from orchestrator.model import Host, Inventory, Role


class FactsLike(Protocol):
    """The facts the planner reads (orchestrator.facts.probe.HostFacts provides them)."""

    @property
    def reachable(self) -> bool: ...
    @property
    def error(self) -> str | None: ...
    @property
    def node_version(self) -> str | None: ...
    @property
    def config_text(self) -> str | None: ...
    @property
    def topology_text(self) -> str | None: ...
    @property
    def releases(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class ReleasePin:
    version: str
    url: str
    sha256: str | None
    source: str = "download"  # download: each host fetches; push: the control machine uploads

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1] or f"cardano-node-{self.version}-linux.tar.gz"


@dataclass(frozen=True)
class FileChange:
    path: str
    content: bytes
    diff: FileDiff


@dataclass(frozen=True)
class HostPlan:
    host: Host
    current_version: str | None
    target_version: str | None  # None: no binary change wanted (enable-p2p)
    stage_release: bool  # the release directory is missing on the host
    switch_binary: bool
    files: tuple[FileChange, ...]
    unchanged: tuple[FileDiff, ...]  # files that need nothing, each with its reason
    action: str  # restart | reload | none
    reasons: tuple[str, ...]  # why it changes, or why not
    error: str | None = None  # the host cannot be planned (unreachable, unusable files)
    batch: int = 0

    @property
    def changed(self) -> bool:
        return self.error is None and (self.switch_binary or bool(self.files) or self.stage_release)


@dataclass(frozen=True)
class Plan:
    hosts: tuple[HostPlan, ...]
    release: ReleasePin | None
    batches: tuple[tuple[str, ...], ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def pending(self) -> tuple[HostPlan, ...]:
        return tuple(h for h in self.hosts if h.changed)

    @property
    def errors(self) -> tuple[HostPlan, ...]:
        return tuple(h for h in self.hosts if h.error)

    def host(self, name: str) -> HostPlan:
        return next(h for h in self.hosts if h.host.name == name)


def own_peers(host: Host, inventory: Inventory) -> list[AccessPoint]:
    """Who a host's local roots should list: a BP its relays; a relay its BPs and sibling relays."""
    same_net = [h for h in inventory.hosts if h.network == host.network and h.name != host.name]
    if host.role is Role.BLOCK_PRODUCER:
        chosen = [h for h in same_net if h.role is Role.RELAY]
    else:
        chosen = [h for h in same_net if h.role is Role.BLOCK_PRODUCER] + [h for h in same_net if h.role is Role.RELAY]
    return [AccessPoint(h.peer_address, h.peer_port) for h in chosen]


def _p2p_enabled(config_text: str | None) -> bool:
    try:
        data = json.loads(config_text or "")
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("EnableP2P") is True


def plan_host(
    host: Host,
    inventory: Inventory,
    facts: FactsLike,
    release: ReleasePin | None,
    *,
    rewrite_config: bool = True,
    rewrite_topology: bool = True,
) -> HostPlan:
    target = release.version if release else None
    if not facts.reachable:
        return HostPlan(host, None, target, False, False, (), (), "none", (), error=f"unreachable: {facts.error}")
    if facts.config_text is None and facts.topology_text is None and facts.error:
        # the probe itself failed (sudo refused, say): that is the reason, not "files missing"
        return HostPlan(host, facts.node_version, target, False, False, (), (), "none", (), error=facts.error)
    if facts.config_text is None or facts.topology_text is None:
        missing = "config.json" if facts.config_text is None else "topology.json"
        path = host.layout.config_path if facts.config_text is None else host.layout.topology_path
        return HostPlan(host, facts.node_version, target, False, False, (), (), "none", (),
                        error=f"{path}: {missing} missing or unreadable on the host")  # fmt: skip
    for text, path, rewritten in ((facts.config_text, host.layout.config_path, rewrite_config),
                                  (facts.topology_text, host.layout.topology_path, rewrite_topology)):  # fmt: skip
        if rewritten and "\ufffd" in text:
            # The facts decode with errors="replace": a byte that is not UTF-8 arrives as U+FFFD, and
            # rewriting the file would silently change it (a peer's host name, say). Refuse instead.
            line = text.count("\n", 0, text.index("\ufffd")) + 1
            return HostPlan(host, facts.node_version, target, False, False, (), (), "none", (),
                            error=f"{path}:{line}: not UTF-8 text (cardano-node reads its files as UTF-8); "
                                  "fix the file by hand, it is not rewritten")  # fmt: skip
    if target is None and rewrite_config and facts.node_version != TARGET_VERSION:
        return HostPlan(host, facts.node_version, target, False, False, (), (), "none", (),
                        error=f"runs {facts.node_version or 'an unknown version'}: the P2P config this playbook writes "
                              f"is for {TARGET_VERSION} (PeerSharing changed type); use the upgrade playbook")  # fmt: skip
    changes: list[FileChange] = []
    unchanged: list[FileDiff] = []
    reasons: list[str] = []
    reading = host.layout.config_path
    try:
        if rewrite_config:
            migration = migrate_config(
                facts.config_text, host.role, host.network, path=host.layout.config_path,
            )  # fmt: skip
            for write in migration.writes:
                if write.path == host.layout.config_path:
                    diff = unified_diff(write.path, facts.config_text, write.content.decode("utf-8", "replace"),
                                        change_reason=write.reason)  # fmt: skip
                else:  # a genesis file: the facts carry its hash, not its bytes
                    diff = FileDiff(write.path, f"# {write.path}: replaced whole by {write.reason}\n", write.reason)
                changes.append(FileChange(write.path, write.content, diff))
            if not migration.changed:
                unchanged.append(FileDiff(host.layout.config_path, "", "config.json already set for 8.9.0 P2P"))
        if rewrite_topology:
            topo_path = reading = host.layout.topology_path
            try:
                current = json.loads(facts.topology_text)
            except ValueError as e:
                raise FileFormatError(topo_path, f"not JSON: {e}") from None
            desired = desired_topology(
                current, host.role, own_peers(host, inventory), network(host.network),
                {h.peer_address for h in inventory.hosts},
            )  # fmt: skip
            new_text = render_like(desired, facts.topology_text)
            if json.loads(new_text) == current and new_text != facts.topology_text:
                new_text = facts.topology_text  # same data, different spacing: not worth a write
            diff = unified_diff(topo_path, facts.topology_text, new_text,
                                change_reason="P2P topology for the host's role and peers",
                                unchanged_reason="already P2P with the desired local roots")  # fmt: skip
            if diff.changed:
                changes.append(FileChange(topo_path, new_text.encode(), diff))
            else:
                unchanged.append(diff)
    except FileFormatError as e:
        return HostPlan(host, facts.node_version, target, False, False, (), (), "none", (), error=str(e))
    except (TypeError, ValueError, KeyError, AttributeError, IndexError, RecursionError) as e:
        # A shape the file logic did not foresee stops this host only, never the whole plan or run.
        return HostPlan(host, facts.node_version, target, False, False, (), (), "none", (),
                        error=f"{reading}: cannot be used as it is ({type(e).__name__}: {e})")  # fmt: skip

    switch = target is not None and facts.node_version != target
    stage = target is not None and switch and target not in facts.releases
    config_changes = [c for c in changes if c.path != host.layout.topology_path]
    topology_only = bool(changes) and not config_changes
    if switch:
        reasons.append(f"binary {facts.node_version or 'unknown'} → {target}")
    reasons += [c.diff.reason for c in changes]
    if switch or config_changes:
        action = "restart"
    elif topology_only and _p2p_enabled(facts.config_text):
        action = "reload"
        reasons.append("topology only, P2P already on: SIGHUP, no restart")
    elif topology_only:
        action = "restart"
    else:
        action = "none"
        reasons.append(f"nothing to do: node is {facts.node_version}, " + "; ".join(d.reason for d in unchanged))
    return HostPlan(host, facts.node_version, target, stage, switch, tuple(changes), tuple(unchanged), action,
                    tuple(reasons))  # fmt: skip


def make_plan(
    inventory: Inventory,
    hosts: Sequence[Host],
    facts: Mapping[str, FactsLike],
    release: ReleasePin | None,
    batches: Sequence[Sequence[str]],
    *,
    rewrite_config: bool = True,
    rewrite_topology: bool = True,
) -> Plan:
    """Plan every selected host; batch numbers follow the rollout order given."""
    batch_of = {name: i + 1 for i, batch in enumerate(batches) for name in batch}
    plans = []
    for host in hosts:
        hp = plan_host(host, inventory, facts[host.name], release,
                       rewrite_config=rewrite_config, rewrite_topology=rewrite_topology)  # fmt: skip
        plans.append(replace(hp, batch=batch_of.get(host.name, 0)))
    return Plan(tuple(plans), release, tuple(tuple(b) for b in batches))


def plan_as_json(plan: Plan) -> dict[str, Any]:
    """A stable, documented shape for `plan --json`."""
    return {
        "release": None if plan.release is None else {"version": plan.release.version, "url": plan.release.url,
                                                       "sha256": plan.release.sha256, "source": plan.release.source},
        "pending": len(plan.pending),
        "hosts": [
            {
                "host": hp.host.name, "role": hp.host.role.value, "batch": hp.batch,
                "current_version": hp.current_version, "target_version": hp.target_version,
                "switch_binary": hp.switch_binary, "stage_release": hp.stage_release, "action": hp.action,
                "files": [{"path": c.path, "reason": c.diff.reason, "diff": c.diff.diff} for c in hp.files],
                "unchanged": [{"path": d.path, "reason": d.reason} for d in hp.unchanged],
                "reasons": list(hp.reasons), "error": hp.error,
            }
            for hp in plan.hosts
        ],
    }  # fmt: skip
