"""Praos or Genesis: how a node syncs, and the topology and peer snapshot each mode needs.

Facts, from IntersectMBO/cardano-node at the tags (the boundaries doc's `POM`/`TOP`/`RUN`):
- config.json `ConsensusMode` is first read in 10.2 (POM @10.2.1 L355 `v .:? "ConsensusMode"`; no
  such key @10.1.4); absent = `PraosMode` (POM @11.0.1 L754 `defaultConsensusMode`). The values are
  the strings `"PraosMode"` and `"GenesisMode"`, as the shipped configs write them (mainnet
  `PraosMode`, preprod `GenesisMode` from 10.5.3: configuration/cardano/ at the tags). GenesisMode
  also reads `LowLevelGenesisOptions` (POM @10.5.3 L824-829), whose defaults the node supplies.
- In GenesisMode, `bootstrapPeers` are dropped with a trace ("Bootstrap peers (field
  'bootstrapPeers') are not compatible with Genesis syncing mode, reverting to
  'DontUseBootstrapPeers' …", TOP @11.0.1 L123-130): a Genesis node must not rely on them, so the
  topology says `"bootstrapPeers": null`.
- A relay in GenesisMode should use ledger peers and a peer snapshot (TOP @11.0.1 L89-99: "It is
  recommended to use ledger peers and peer snapshot file for relay operations in Genesis mode").
- A peer snapshot older than useLedgerAfterSlot stops a GenesisMode node from 10.6.2
  (`LedgerPeerSnapshotTooOld`, RUN @10.6.4 L797-799; Praos ignores it there; absent @10.6.1, and
  @10.5.3 L878-902 the snapshot is only traced as not loaded), and a node in either mode from 10.7
  (RUN @11.0.1 L839-848; catalogue `snapshot_older_than_use_ledger_fatal`). An unreadable snapshot
  is an Error trace in GenesisMode, a Warning in Praos (RUN @10.6.4 L783-786).
- A block producer keeps Praos and its local roots (docs/cardano-8.9.0-p2p.md §1 Roles; TOP
  @11.0.1 L65-73: ledger peers "not recommended for BP operation").
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from orchestrator.cardano import releases
from orchestrator.cardano.releases.consensus import GENESIS_MODE_SINCE, GENESIS_SNAPSHOT_AGE_FATAL_SINCE

CONFIG_KEY = "ConsensusMode"
PRODUCER_REFUSAL = (
    "consensus_mode genesis on a block producer: block producers stay on Praos with their local roots "
    "(they have no ledger or bootstrap peers to sync from; TOP @11.0.1 L65-73); set it on the relays' "
    "and passive nodes' groups only"
)


class ConsensusMode(enum.Enum):
    """The `consensus_mode` setting: `praos` or `genesis` (config.json's PraosMode / GenesisMode)."""

    PRAOS = "praos"
    GENESIS = "genesis"

    @property
    def config_value(self) -> str:
        return "GenesisMode" if self is ConsensusMode.GENESIS else "PraosMode"


def accepts_genesis(version: str) -> bool:
    """Whether cardano-node `version` reads ConsensusMode (and so can run GenesisMode)."""
    return releases.at_least(version, GENESIS_MODE_SINCE)


def snapshot_age_fatal(version: str, mode: ConsensusMode) -> bool:
    """Whether `version` in `mode` refuses to start on a peer snapshot older than useLedgerAfterSlot
    (with ledger peers on); otherwise it runs without the snapshot."""
    if releases.is_catalogued(version) and releases.lookup(version).snapshot_older_than_use_ledger_fatal:
        return True
    return mode is ConsensusMode.GENESIS and releases.at_least(version, GENESIS_SNAPSHOT_AGE_FATAL_SINCE)


def config_mode(config: Mapping[str, object], version: str | None = None) -> ConsensusMode:
    """The mode a node runs with `config`: GenesisMode only where the key says so and the release
    reads it; absent or unread = Praos (POM @11.0.1 L754)."""
    if version is not None and not accepts_genesis(version):
        return ConsensusMode.PRAOS
    return ConsensusMode.GENESIS if config.get(CONFIG_KEY) == "GenesisMode" else ConsensusMode.PRAOS
