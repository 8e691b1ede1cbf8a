"""install_peer_snapshot: the target release's own peer snapshot beside the topology that names it.

The topology and its peer snapshot are one versioned pair (issue 26). From 10.5 a relay's
topology.json may name a `peerSnapshotFile`; the node reads it at start and a release reads only
its own formats (catalogue `peer_snapshot_formats`; boundaries doc §b). From 10.7 a file in an older
format is fatal when ledger peers are on: 11.0.1 stops with "Unsupported legacy peer snapshot
version." (cardano-node RUN @11.0.1 L813-838; node_rules.check_peer_snapshot). A host switched to
such a release keeps the file its old release shipped unless someone writes the new one, so a
10.6.4 → 11.0.1 relay with the shipped topology would not start (seen in the lab: issue 25c's note).

So, when the host switches to a release whose snapshot formats differ from its running release's
and its topology (as this run leaves it) names a peer snapshot, the plan writes the target
release's shipped snapshot for the host's network there — a whole file, backed up and rolled back
like every file of the run, its diff shown. A block producer is left alone (it has no ledger peers
and no snapshot). Where the catalogue has no shipped snapshot for that release and network, the host
is refused with what to copy, rather than started into a fatal error.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.actions.base import (
    Action,
    FileChange,
    HostDraft,
    HostPlanError,
    Operation,
    PlanContext,
    Slot,
    args_spec,
    parse_args,
)
from orchestrator.cardano import node_rules, releases
from orchestrator.cardano.config import shipped_file
from orchestrator.cardano.diffs import FileDiff
from orchestrator.model import Role

# The shipped file's name per network in orchestrator/cardano/data/<version>/<network>/ (the node
# repository's configuration/cardano/ names it `mainnet-peer-snapshot.json`, the others plainly).
_SHIPPED = {"mainnet": "mainnet-peer-snapshot.json"}


def snapshot_path(topology_path: str, name: str) -> str:
    """Where the node reads a peerSnapshotFile: relative names from the topology's directory (TOP @10.5.3 L234)."""
    return name if posixpath.isabs(name) else posixpath.join(posixpath.dirname(topology_path), name)


def shipped_snapshot_name(network: str) -> str:
    """The shipped peer snapshot's file name for `network` (what a topology names when it has none)."""
    return _SHIPPED.get(network, "peer-snapshot.json")


def shipped_peer_snapshot(version: str, network: str) -> bytes | None:
    """The release's own peer snapshot for the network (the real public file), or None."""
    try:
        return shipped_file(version, network, shipped_snapshot_name(network))
    except (FileNotFoundError, OSError):
        return None


@dataclass(frozen=True)
class PeerSnapshotArgs:
    """install_peer_snapshot takes no arguments: what to write is the target release's shipped file."""


@dataclass(frozen=True)
class InstallPeerSnapshot(Operation):
    def plan(self, ctx: PlanContext, draft: HostDraft) -> None:
        facts, host = ctx.facts, ctx.host
        target, source = draft.version_after, facts.node_version
        if host.role is Role.BLOCK_PRODUCER or not draft.switch_binary or target is None or source is None:
            return
        if not (releases.is_catalogued(target) and releases.is_catalogued(source)):
            return  # the planner refuses an unknown release before this matters
        new, old = releases.lookup(target), releases.lookup(source)
        if not new.peer_snapshot_file or set(new.peer_snapshot_formats) <= set(old.peer_snapshot_formats):
            return  # the target reads no snapshot, or reads what the running release shipped
        topology_path = host.layout.topology_path
        text = next((c.content.decode() for c in draft.files if c.path == topology_path), facts.topology_text)
        try:
            topology: Any = json.loads(text) if text else {}
        except ValueError:
            return  # convert_topology refuses an unreadable topology with its line
        name = topology.get("peerSnapshotFile") if isinstance(topology, dict) else None
        if not isinstance(name, str) or not name:
            return
        path = snapshot_path(topology_path, name)
        content = shipped_peer_snapshot(new.version, host.network)
        wanted = " / ".join(f.value for f in new.peer_snapshot_formats)
        if content is None:
            raise HostPlanError(f"{new.version} reads only its own peer snapshot format ({wanted}) and the topology "
                                f"names {path}, which {source} shipped; the catalogue has no {new.version} peer "
                                f"snapshot for {host.network}: copy the release's share/{host.network}/ "
                                "peer-snapshot.json there first")  # fmt: skip
        _, slot, _ = node_rules.peer_snapshot_format(json.loads(content))
        use = topology.get("useLedgerAfterSlot")
        ledger_on = isinstance(use, int) and not isinstance(use, bool) and use >= 0
        if new.snapshot_older_than_use_ledger_fatal and ledger_on and slot is not None and slot < use:
            raise HostPlanError(f"{new.version}'s {host.network} peer snapshot (slot {slot}) is older than the "
                                f"topology's useLedgerAfterSlot {use}: {new.version} would stop at start "
                                "(LedgerPeerSnapshotTooOld, RUN @11.0.1 L839-848); lower use_ledger_after_slot")  # fmt: skip
        reason = (f"{path}: {new.version}'s shipped peer snapshot ({wanted}; {source}'s is not read by "
                  f"{new.version}, fatal from 10.7 with ledger peers on)")  # fmt: skip
        shown = f"(the whole file: {new.version}'s {host.network} peer snapshot, {len(content)} bytes)\n"
        draft.files.append(FileChange(path, content, FileDiff(path, shown, reason)))
        draft.reasons.append(reason)


def parse(args: Mapping[str, Any]) -> InstallPeerSnapshot:
    parse_args(PeerSnapshotArgs, args)
    return InstallPeerSnapshot()


ACTION = Action(
    args_spec(PeerSnapshotArgs, "install_peer_snapshot",
              doc="on a relay or passive node switching to a release that reads another peer-snapshot format: "
                  "write that release's shipped peer snapshot where the topology's peerSnapshotFile points"),
    Slot.FILES,
    parse,
)  # fmt: skip
