"""A release's network-wide topology values, read from the topology it ships for that network.

bootstrapPeers, useLedgerAfterSlot and peerSnapshotFile are not the operator's choice but the
network's, and they move with every release: the shipped mainnet topology names two bootstrap peers
at 8.9.0 and three from 10.1.4 (backbone.mainnet.cardanofoundation.org added), and its
useLedgerAfterSlot goes 116812831 (8.9.0) → 128908821 (10.1.4) → 157852837 (10.5.3) → 177724800
(10.6.4) → 182044807 (10.7.1) → 185500763 (11.0.1), each paired with that release's peer snapshot
(boundaries doc §b "Shipped mainnet pairs"). A conversion for release V therefore takes them from
V's own file — `orchestrator/cardano/data/<V>/<network>/` (the real public files, unchanged:
IntersectMBO/cardano-node `configuration/cardano/mainnet-topology.json` and
`configuration/cardano/preprod/topology.json` at the tag; the 8.x book environment files) — never
from a table frozen at one release. A release and network the catalogue holds no topology for is
said (NoShippedTopology), never guessed.
"""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cache

from orchestrator.cardano import releases
from orchestrator.cardano.config import shipped_file
from orchestrator.cardano.networks import AccessPoint, Network, network

# The node repository names mainnet's files `mainnet-*.json`; the book environments (8.x) and every
# other network's folder name them plainly.
_NAMES = ("mainnet-topology.json", "topology.json")


class NoShippedTopology(ValueError):
    """The catalogue holds no topology of this release for this network."""

    def __init__(self, version: str, network_name: str) -> None:
        super().__init__(
            f"the catalogue has no {version} topology for {network_name} (orchestrator/cardano/data/{version}/"
            f"{network_name}/): its bootstrapPeers and useLedgerAfterSlot are not known here"
        )
        self.version = version
        self.network_name = network_name


@cache
def release_network(version: str, network_name: str) -> Network:
    """`network(network_name)` with the bootstrap peers, useLedgerAfterSlot and (where the release
    reads one) peerSnapshotFile of `version`'s shipped topology; NoShippedTopology when absent."""
    base = network(network_name)
    for name in _NAMES:
        try:
            raw = shipped_file(version, network_name, name)
        except (FileNotFoundError, OSError):
            continue
        data = json.loads(raw)
        record = releases.lookup(version) if releases.is_catalogued(version) else None
        reads_bootstrap = record is None or record.bootstrap_peers
        reads_snapshot = record is not None and record.peer_snapshot_file
        boot = tuple(AccessPoint(p["address"], int(p["port"])) for p in data.get("bootstrapPeers") or ())
        snapshot = data.get("peerSnapshotFile") if reads_snapshot else None
        return replace(
            base,
            bootstrap_peers=boot if reads_bootstrap else (),
            use_ledger_after_slot=int(data["useLedgerAfterSlot"]),
            peer_snapshot_file=snapshot if isinstance(snapshot, str) and snapshot else None,
            values_from=f"{version}'s shipped {network_name} topology",
        )
    raise NoShippedTopology(version, network_name)
