"""What the three peer-snapshot rules read: the pair of topology and peer snapshot on one host.

The rules (peer_snapshot_present, peer_snapshot_format, peer_snapshot_age) judge the pair as the
running release reads it at start (cardano/node_rules.py check_peer_snapshot, cardano/consensus_mode.py):
the file the topology's peerSnapshotFile names (facts/peer_snapshot.py), its format and slot, and the
node's mode (config.json ConsensusMode).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orchestrator.cardano import node_rules, releases
from orchestrator.cardano.config import load_config_text
from orchestrator.cardano.consensus_mode import ConsensusMode, config_mode
from orchestrator.cardano.errors import FileFormatError
from orchestrator.cardano.releases import PeerSnapshotFormat
from orchestrator.facts.model import PeerSnapshotFact


@dataclass(frozen=True)
class Pair:
    """One host's topology + peer snapshot, as its running release reads them."""

    version: str | None  # the release whose rules apply (None: not catalogued)
    mode: ConsensusMode
    named: str | None  # the topology's peerSnapshotFile
    use_ledger_after_slot: int | None  # None: absent (ledger peers off)
    snapshot: PeerSnapshotFact | None
    fmt: PeerSnapshotFormat | None
    slot: int | None

    @property
    def ledger_on(self) -> bool:
        return self.use_ledger_after_slot is not None and self.use_ledger_after_slot >= 0


def pair_of(c: Any) -> Pair:
    """The pair on the host of the checks' context `c` (audit/checks.py Context)."""
    version = c.rules_version if releases.is_catalogued(c.rules_version) else None
    mode = ConsensusMode.PRAOS
    if c.facts.config_text is not None:
        try:
            cfg, _ = load_config_text(c.facts.config_text, c.host.layout.config_path)
            mode = config_mode(cfg, version)
        except FileFormatError:
            pass  # the config rules say why
    top = c.facts.topology if isinstance(c.facts.topology, dict) else {}
    named = top.get("peerSnapshotFile")
    slot_key = top.get("useLedgerAfterSlot")
    use = slot_key if isinstance(slot_key, int) and not isinstance(slot_key, bool) else None
    snap = c.facts.peer_snapshot
    fmt, slot = None, None
    if snap is not None and snap.header is not None:
        fmt, slot, _ = node_rules.peer_snapshot_format(dict(snap.header))
    return Pair(version, mode, named if isinstance(named, str) and named else None, use, snap, fmt, slot)
