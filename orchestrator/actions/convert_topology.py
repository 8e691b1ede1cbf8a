"""convert_topology: topology.json in the P2P form of the release the host runs once done, for its role.

The operator's own hosts become one trustable local-roots group (a block producer: its relays; a
relay: its block producers and sibling relays); peers the operator added by hand are kept as their
own group unless `keep_manual_peers: false`; `extra_local_roots` adds groups. A file already in the
P2P form 8.9.0+ reads keeps its bootstrapPeers, useLedgerAfterSlot and peerSnapshotFile (the
operator's); a file in an older shape takes those of the TARGET release's shipped topology for the
host's network (cardano/shipped_topology.py); explicit `bootstrap_peers` / `use_ledger_after_slot`
win (relays only: a block producer has neither). Every changed value is listed in the plan
(`topology: key: old -> new`), and the target's own rules judge the result. A passive node has
no own group: it keeps the peers its operator listed (any inventory host but a block producer: a
block producer talks only to its relays) and takes the form `passive_topology` names — ledger
(bootstrap + ledger peers) or private (local roots only, useLedgerAfterSlot -1); it advertises
nothing. Rules: docs/cardano-8.9.0-p2p.md §1, in cardano/topology.py.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.actions.base import (
    Action,
    ArgError,
    FileChange,
    HostDraft,
    HostPlanError,
    Operation,
    PlanContext,
    Slot,
    arg,
    args_spec,
    parse_args,
)
from orchestrator.actions.files import base_sha256, refuse_undecodable
from orchestrator.cardano import node_rules, releases
from orchestrator.cardano.config import render_like
from orchestrator.cardano.diffs import unified_diff
from orchestrator.cardano.errors import FileFormatError, parse_json_text
from orchestrator.cardano.networks import AccessPoint, Network, network
from orchestrator.cardano.shipped_topology import NoShippedTopology, release_network
from orchestrator.cardano.topology import (
    RootGroup,
    desired_topology,
    kept_values_note,
    parse_local_roots,
    parse_topology,
    topology_changes,
)
from orchestrator.model import Host, Inventory, PassiveTopology, Role


def own_peers(host: Host, inventory: Inventory) -> list[AccessPoint]:
    """Who a host's local roots should list: a BP its relays; a relay its BPs and sibling relays;
    a passive node nobody (its peers are the operator's choice). Passive nodes are in nobody's list."""
    same_net = [h for h in inventory.hosts if h.network == host.network and h.name != host.name]
    if host.role is Role.PASSIVE:
        return []
    if host.role is Role.BLOCK_PRODUCER:
        chosen = [h for h in same_net if h.role is Role.RELAY]
    else:
        chosen = [h for h in same_net if h.role is Role.BLOCK_PRODUCER] + [h for h in same_net if h.role is Role.RELAY]
    return [AccessPoint(h.peer_address, h.peer_port) for h in chosen]


def _local_roots(args: Mapping[str, Any], key: str, default: tuple[RootGroup, ...]) -> tuple[RootGroup, ...]:
    """extra_local_roots: groups in the P2P topology's own localRoots format (cardano/topology.py)."""
    extra = args.get(key) or []
    try:
        return parse_local_roots(list(extra) if isinstance(extra, tuple) else extra)
    except FileFormatError as e:
        raise ArgError(e.message) from None


def _access_points(args: Mapping[str, Any], key: str, default: tuple[AccessPoint, ...] | None,
                   ) -> tuple[AccessPoint, ...] | None:  # fmt: skip
    """bootstrap_peers as topology.json's bootstrapPeers reads them; null or "": the network's."""
    value = args.get(key, default)
    if value in (None, ""):
        return None
    try:
        parsed = parse_topology({"bootstrapPeers": value, "localRoots": [], "publicRoots": []}, key)
    except FileFormatError as e:
        raise ArgError(f"{key}: {e.message}") from None
    return tuple(AccessPoint(p.address, p.port) for p in parsed.bootstrap_peers or ())


@dataclass(frozen=True)
class ConvertTopology(Operation):
    """convert_topology's arguments, declared once (actions/base.py `arg`): the loader's spec, the
    parser and the role's defaults (tests/unit/test_action_args.py) follow from these fields."""

    keep_manual_peers: bool = arg(True, "keep peers the operator added by hand as their own localRoots group")
    extra_local_roots: tuple[RootGroup, ...] = arg((), "more localRoots groups, in the P2P topology format",
                                                   parse=_local_roots)
    bootstrap_peers: tuple[AccessPoint, ...] | None = arg(None, "a relay's bootstrapPeers (None: the network's)",
                                                          parse=_access_points)
    use_ledger_after_slot: int | None = arg(None, "a relay's useLedgerAfterSlot, -1: never (None: the network's)",
                                            minimum=-1)
    passive_topology: PassiveTopology = arg(PassiveTopology.LEDGER, "a passive node's form: ledger (bootstrap and "
                                            "ledger peers) or private (local roots only)")  # fmt: skip

    def network_for(self, host: Host, version: str | None) -> tuple[Network, ValueError | None]:
        """The network-wide values of the release the host runs once done (its shipped topology),
        and why they are not known when the catalogue has none (never a guess)."""
        if version is None or not releases.is_catalogued(version):
            return network(host.network), ValueError(f"the release {host.name} will run is not known")
        try:
            return release_network(version, host.network), None
        except NoShippedTopology as exc:
            return network(host.network), exc

    def reads(self, host: Host) -> str:
        return host.layout.topology_path

    def plan(self, ctx: PlanContext, draft: HostDraft) -> None:
        host, facts, inventory = ctx.host, ctx.facts, ctx.inventory
        path = host.layout.topology_path
        assert facts.topology_text is not None  # the planner refuses a host without its files first
        refuse_undecodable(facts.topology_text, path)
        current = parse_json_text(facts.topology_text, path)  # as the node reads it; duplicates refused
        notes: list[str] = []
        known = {h.peer_address for h in inventory.hosts}
        if host.role is Role.PASSIVE:
            # The operator's own relays (or other passive nodes) are hand-picked peers of a passive
            # node; its block producers are not (they talk only to their relays) and are dropped.
            known = {h.peer_address for h in inventory.hosts if h.role is Role.BLOCK_PRODUCER or h is host}
        version = draft.version_after
        net, missing = self.network_for(host, version)
        try:
            desired = desired_topology(
                current, host.role, own_peers(host, inventory), net, known,
                keep_handpicked=self.keep_manual_peers, extra_local_roots=self.extra_local_roots,
                path=path, notes=notes, passive=self.passive_topology, bootstrap_peers=self.bootstrap_peers,
                use_ledger_after_slot=self.use_ledger_after_slot, missing_values=missing,
            )  # fmt: skip
        except FileFormatError:
            raise
        except ValueError as exc:
            raise HostPlanError(f"{path} needs converting and {exc}; set bootstrap_peers and use_ledger_after_slot "
                                "(role p2p_topology) to the values of the release's shipped topology") from None
        private = host.role is Role.PASSIVE and self.passive_topology is PassiveTopology.PRIVATE
        if private and not any(g["accessPoints"] for g in desired["localRoots"]):
            raise HostPlanError(
                f"{path}: passive_topology private leaves no peer at all (no hand-picked peer to keep, no "
                "extra_local_roots): the node could never sync; list its peers in extra_local_roots or use "
                "passive_topology: ledger"
            )
        new_text = render_like(desired, facts.topology_text)
        if json.loads(new_text) == current and new_text != facts.topology_text:
            new_text = facts.topology_text  # same data, different spacing: not worth a write
        if version is not None and releases.is_catalogued(version):
            errors, _ = node_rules.check_topology(version, True, new_text)
            if errors:
                kept = "kept from the file as the operator's" if new_text == facts.topology_text else "in the result"
                raise HostPlanError(f"{path}: {version} would refuse the topology ({kept}): {'; '.join(errors)}")
        reason = "P2P topology for the host's role and peers"
        if host.role is Role.PASSIVE:
            reason = f"P2P topology for a passive node ({self.passive_topology.value}: " + (
                "local roots only, no ledger or bootstrap peers)" if private else "bootstrap and ledger peers)")
        if not self.keep_manual_peers:
            reason += " (keep_manual_peers: false drops hand-picked peers)"
        reason = "; ".join([reason, *notes])
        unchanged = f"already P2P in {version or 'its'} form for the host's role and peers: kept as it is"
        if (kept_note := kept_values_note(desired, net)) is not None and missing is None:
            unchanged += f" ({kept_note})"
        diff = unified_diff(path, facts.topology_text, new_text, change_reason=reason,
                            unchanged_reason=unchanged)  # fmt: skip
        if diff.changed:
            draft.files.append(FileChange(path, new_text.encode(), diff, base_sha256(facts, "topology", facts.topology_text)))
            draft.reasons.append(diff.reason)
            draft.reasons.extend(f"topology: {line}" for line in topology_changes(current, desired))
        else:
            draft.unchanged.append(diff)


def parse(args: Mapping[str, Any]) -> ConvertTopology:
    return parse_args(ConvertTopology, args)


ACTION = Action(
    args_spec(ConvertTopology, "convert_topology",
              doc="legacy → P2P topology for the host's role: own BP/relays as trustable localRoots; hand-picked "
                  "peers kept (keep_manual_peers), extra_local_roots added; an already-P2P file keeps its values, an "
                  "older one takes bootstrapPeers/useLedgerAfterSlot/peerSnapshotFile from the target release's "
                  "shipped topology unless given; passive_topology ledger|private: a passive node's form"),
    Slot.FILES,
    parse,
)  # fmt: skip
