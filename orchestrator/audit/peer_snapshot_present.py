"""Audit rule peer-snapshot-present: the peer snapshot a topology names is on the host, and a node
in Genesis mode (a relay or passive node) has one (TOP @11.0.1 L94-99: "It is recommended to specify
an up-to-date ledger peer snapshot file for relay operations in Genesis mode"; a named file that is
missing is fatal with ledger peers on from 10.7: RUN @11.0.1 L813-838)."""

from __future__ import annotations

from typing import Any

from orchestrator.audit.findings import Severity
from orchestrator.audit.peer_snapshot_common import pair_of
from orchestrator.audit.registry import Result, rule
from orchestrator.cardano.consensus_mode import ConsensusMode


@rule("peer-snapshot-present", "the peer snapshot the topology names is there; a Genesis-mode node has one",
      Severity.ERROR, category="genesis")  # fmt: skip
def check(c: Any) -> Result:
    pair = pair_of(c)
    if c.facts.topology_text is None:
        return False, f"{c.host.layout.topology_path} unreadable", ""
    if "peer_snapshot" in c.facts.probe_errors:
        return False, f"peer snapshot not read: {c.facts.probe_errors['peer_snapshot']}", ""
    if pair.named is None:
        if pair.mode is ConsensusMode.GENESIS and not c.host.is_producer:
            return False, "Genesis mode without a peerSnapshotFile: give it the release's peer snapshot " \
                          "(consensus_mode: genesis does)", ""  # fmt: skip
        return True, f"no peerSnapshotFile ({pair.mode.value})", ""
    snap = pair.snapshot
    if snap is None or snap.sha256 is None:
        where = snap.path if snap is not None else pair.named
        why = snap.error if snap is not None and snap.error else "not found"
        return False, f"peerSnapshotFile {where}: {why}", ""
    return True, f"{snap.path} ({snap.size} bytes)", ""


RULE = check
