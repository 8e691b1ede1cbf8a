"""Audit rule peer-snapshot-format: the peer snapshot is in a format the running release reads
(catalogue `peer_snapshot_formats`; boundaries doc §b) and for the host's network. An older format
is fatal from 10.7 with ledger peers on ("Unsupported legacy peer snapshot version.", RUN @11.0.1
L813-838); before, the node traces it and runs without (an Error trace in Genesis mode, RUN @10.6.4
L783-786). A NetworkMagic that is not the network's is fatal (RUN @11.0.1)."""

from __future__ import annotations

from typing import Any

from orchestrator.audit.findings import Severity
from orchestrator.audit.peer_snapshot_common import pair_of
from orchestrator.audit.registry import Result, rule
from orchestrator.cardano import releases
from orchestrator.cardano.networks import network


@rule("peer-snapshot-format", "the peer snapshot is in a format the running release reads, for its network",
      Severity.ERROR, category="genesis")  # fmt: skip
def check(c: Any) -> Result:
    pair = pair_of(c)
    snap = pair.snapshot
    if pair.named is None or snap is None or snap.sha256 is None:
        return True, "no peer snapshot to judge (peer-snapshot-present says whether one is needed)", ""
    if pair.version is None:
        return False, f"the running release ({c.facts.node_version or 'unknown'}) is not catalogued: format not judged", ""
    release = releases.lookup(pair.version)
    wanted = " or ".join(f.value for f in release.peer_snapshot_formats) or "none"
    if not release.peer_snapshot_file:
        return True, f"{pair.version} does not read peerSnapshotFile", ""
    if pair.fmt not in release.peer_snapshot_formats:
        shown = pair.fmt.value if pair.fmt is not None else "an unknown format"
        fatal = release.snapshot_older_than_use_ledger_fatal and pair.ledger_on
        effect = "the node stops at start" if fatal else "the node runs without it"
        return False, f"{snap.path} is {shown}; {pair.version} reads {wanted}: {effect}", ""
    magic = snap.header.get("NetworkMagic") if snap.header is not None else None
    expected = network(c.host.network).protocol_magic
    if isinstance(magic, int) and magic != expected:
        return False, f"{snap.path}: NetworkMagic {magic}, {c.host.network}'s is {expected}", ""
    return True, f"{snap.path} is {pair.fmt.value if pair.fmt else '?'} ({pair.version} reads {wanted})", ""


RULE = check
