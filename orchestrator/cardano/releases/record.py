"""The shape of one cardano-node release as this tool knows it: one frozen record per release, every
fact with its source (a tag, file and line of IntersectMBO/cardano-node unless stated; the boundary
table is /work/shared/docs/cardano-upgrade-boundaries.md, "the boundaries doc" below).

Stdlib only: the lab's simulated node bundles cardano/ modules (lab/releases.py walks its imports).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, fields


class Tracing(enum.Enum):
    """The tracing system a node runs when the config does not say (`UseTraceDispatcher` absent)."""

    LEGACY = "legacy"  # iohk-monitoring: TurnOnLogging, minSeverity, setupScribes...
    NEW = "new"  # trace-dispatcher: needs a top-level TraceOptions


class TopologyShape(enum.Enum):
    """The topology.json shapes the node has parsed over time."""

    NON_P2P = "non-P2P"  # {"Producers": [...]}: read when EnableP2P is false
    LEGACY_P2P = "legacy P2P"  # {"LocalRoots": {"groups": ...}, "PublicRoots": ...}: dropped in 10.0
    P2P = "P2P"  # {"localRoots": [...], "publicRoots": [...], "useLedgerAfterSlot": n}


class LedgerSnapshotFormat(enum.IntEnum):
    """The on-disk ledger snapshot generation (OC Storage/LedgerDB/Snapshots.hs; boundaries doc §d).

    Two releases of different generations cannot read each other's snapshots: crossing them replays
    the chain (hours) unless a converter of the newer release exists for that pair.
    """

    LEGACY_FILE = 1  # <=10.3: db/ledger/<slot> (a file; .checksum from 10.2)
    UTXOHD_10_4 = 2  # 10.4/10.5: directory <slot>/ with state, tables/, meta
    UTXOHD_10_6 = 3  # 10.6: same layout, LedgerState serialisation changed (replay only)
    UTXOHD_10_7 = 4  # 10.7+: tables is a file, meta needs tablesCodecVersion


class PeerSnapshotFormat(enum.Enum):
    """peer-snapshot.json formats (boundaries doc §b)."""

    V1 = '"version": 1'  # shipped with 10.5
    V2 = '"version": 2'  # shipped with 10.6
    V23 = '"NodeToClientVersion": 23'  # 10.7+: older files are fatal


@dataclass(frozen=True)
class NodeRelease:
    """One cardano-node release. `sources` maps each field name to where the fact comes from."""

    version: str
    git_rev: str
    cli_version: str | None  # the cardano-cli its tarball ships; None: not confirmed (build plan, golden file or notes)
    asset: str  # the linux x86_64 tarball on the GitHub release page
    binary_subdir: str  # where cardano-node sits in the unpacked tarball ("" = top level)
    share_networks: tuple[str, ...]  # share/<network>/ directories with config, topology, genesis
    sha256sums: bool  # cardano-node-<v>-sha256sums.txt published beside the tarball
    # --- config.json as the node reads it
    enable_p2p_read: bool  # True: absent EnableP2P = false (non-P2P); False: key ignored, always P2P
    peer_sharing_json: str  # "text" (PeerSharingEnabled/Disabled) or "bool"
    peer_sharing_absent_relay: bool  # PeerSharing when absent and no forging credentials are given
    peer_sharing_absent_producer: bool  # ... when a credential flag (KES, VRF, opcert) is given
    use_trace_dispatcher_read: bool  # False: key ignored (11.1: new tracing always)
    default_tracing: Tracing  # what runs when UseTraceDispatcher is absent
    ledgerdb_backends: tuple[str, ...]  # LedgerDB.Backend values accepted; () = no LedgerDB section
    ledgerdb_default_backend: str | None
    keys_added: tuple[str, ...]  # config keys first read by this release (since the previous record)
    keys_removed: tuple[str, ...]  # config keys no longer read (ignored: unknown keys are not errors)
    keys_renamed: Mapping[str, str]  # old name -> new name
    # --- topology.json
    topology_shapes: frozenset[TopologyShape]  # accepted; any other shape is fatal
    bootstrap_peers: bool  # `bootstrapPeers` read (and the trustable-peer rule applies)
    peer_snapshot_file: bool  # topology `peerSnapshotFile` read
    peer_snapshot_formats: tuple[PeerSnapshotFormat, ...]  # the peer-snapshot formats it starts with
    peer_snapshot_relative_to_topology: bool  # relative peerSnapshotFile resolved from topology's dir
    snapshot_older_than_use_ledger_fatal: bool  # snapshot slot < useLedgerAfterSlot kills startup
    diffusion_mode: bool  # topology `diffusionMode` read
    # --- storage and chain
    ledger_snapshot_format: LedgerSnapshotFormat
    converter: str | None  # the snapshot-converter it ships and its syntax family; None before 10.4.1
    min_node_version: str | None  # MinNodeVersion in the shipped mainnet config (never read by the node)
    protocol_version: str | None  # the protocol version it signals by default
    provisional: bool  # facts from a branch, not a tag: never a default target
    # --- what the new tracing system exports (cardano-runtime-signals-10x.md)
    replay_progress_two_decimals: bool  # LedgerReplay `progress`: "%.2f" (True) or Haskell `show` (5.0e-2)
    connected_peers_metric: bool  # `connectedPeers_int` exported (10.6.x; gone in 10.7.0)
    source_ref: str  # the tag (or branch) the facts were read at
    sources: Mapping[str, str]

    def __post_init__(self) -> None:
        missing = [f.name for f in fields(self) if f.name not in ("sources", "version") and f.name not in self.sources]
        if missing:
            raise ValueError(f"release {self.version}: no source for {', '.join(missing)}")

    def runs_p2p(self, config: Mapping[str, object]) -> bool:
        """The network stack this release runs with `config`: POM @10.5.3 L404 reads a missing
        EnableP2P as false (only JSON `true` is true); from 10.6.0 the key is not read, P2P always."""
        if not self.enable_p2p_read:
            return True
        return config.get("EnableP2P") is True

    def runs_new_tracing(self, config: Mapping[str, object]) -> bool:
        """Whether trace-dispatcher runs (and so TraceOptions is required, TD L43)."""
        if not self.use_trace_dispatcher_read:
            return True
        value = config.get("UseTraceDispatcher")
        return self.default_tracing is Tracing.NEW if value is None else value is True

    def peer_sharing(self, config: Mapping[str, object], producer: bool) -> bool:
        """PeerSharing as the node decides it: an explicit value wins, else the release's default."""
        value = config.get("PeerSharing")
        if isinstance(value, bool):
            return value
        if value in ("PeerSharingEnabled", "PeerSharingDisabled"):
            return value == "PeerSharingEnabled"
        return self.peer_sharing_absent_producer if producer else self.peer_sharing_absent_relay
